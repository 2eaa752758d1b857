"""Import an office's own data: read each declared source's origin, validate, write the pool.

``python -m pool.importer [--models NAME ...] [--data data]``

For every source of a model that declares an ``origin`` (``pool.origins``) the importer reads the
rows (CSV in the declared encoding, Excel, Parquet, or a database table through Ibis), renames
the agency's columns to the declared ones, coerces every cell to its declared type, validates the
table against the declaration (``pool.load.validate``: types, nullability, ranges, allowed values,
patterns, uniqueness) and writes ``<data>/pool/<model>/<table>.parquet`` exactly as the simulated
pool is written, with ``import.json`` (sha256, rows and latest business date of every file, and
the fingerprints of the inputs) and an **import report** (``import_report.json``, also printed):
rows read, rows refused per rule with row numbers and examples, coercions applied, encoding used,
join rates per key.

Nothing is silently dropped, replaced or defaulted. A missing file, a wrong encoding, an unmapped
or unexpected column, a cell that is not of its declared type stop the import with an
``ImportFailure`` naming the source, the file, the column and the row; rows breaking a declared
rule stop it too, unless the origin says ``refuse_rows=True`` (then they are refused and listed).
Everything is written to a staging folder first and moved into place only when every source of
the model passed, so a failed import leaves the previous pool untouched.
"""

from __future__ import annotations

import glob as globlib
import io
import json
import os
import re
import shutil
import sys
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from console import exits
from console.progress import track
from pool import discovery
from pool.arrow import PoolTypeError, to_arrow_table, to_pandas
from pool.cli_args import importer_parser
from pool.keys import normalise_code
from pool.load import PoolValidationError, data_root, sha256_of, source_path, validate
from pool.origins import DatabaseOrigin, FileOrigin
from pool.spec import ColumnSpec, SourceSpec

IMPORT_MANIFEST = "import.json"
IMPORT_REPORT = "import_report.json"
EXAMPLES = 5
_TRUE = {"1", "true", "t", "yes", "y", "是", "真", "对"}
_FALSE = {"0", "false", "f", "no", "n", "否", "假", "错"}
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d", "%Y年%m月%d日")


class ImportFailure(ValueError):
    """An import refused: names the source, and where known the file, column and row."""

    def __init__(self, source: str, problem: str) -> None:
        self.source = source
        self.problem = problem
        super().__init__(f"import of {source} refused: {problem}")


@dataclass
class SourceReport:
    """What the import did with one source."""

    source: str
    origin: str
    files: list[str] = field(default_factory=list)
    encoding: str = ""
    rows_read: int = 0
    rows_written: int = 0
    refused: list[dict[str, Any]] = field(default_factory=list)
    coercions: list[str] = field(default_factory=list)
    latest_date: str | None = None


@dataclass
class ImportReport:
    """The import of one model: every source's report and the join rate of every key."""

    model: str
    sources: list[SourceReport]
    joins: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "sources": [vars(s) for s in self.sources],
            "joins": self.joins,
        }

    def format(self) -> str:
        lines = [f"import of model {self.model!r}"]
        for s in self.sources:
            lines.append(
                f"  {s.source}: {s.rows_read} rows read, {s.rows_written} written, "
                f"{sum(r['n_rows'] for r in s.refused)} refused; from {s.origin}"
                + (f" ({s.encoding})" if s.encoding else "")
            )
            for r in s.refused:
                lines.append(
                    f"    refused {r['n_rows']} rows: column {r['column']!r} rule "
                    f"{r['rule']} (rows {r['rows']}, e.g. {r['examples']})"
                )
            for c in s.coercions:
                lines.append(f"    coerced: {c}")
        for j in self.joins:
            lines.append(
                f"  join {j['source']}.{j['column']} -> {j['target']}: "
                f"{j['joined']}/{j['rows']} rows joined ({j['rate']:.1%})"
            )
        return "\n".join(lines)


@dataclass(frozen=True)
class ImportManifest:
    """What the last import of a model wrote (read back to check and to hash the data)."""

    files: dict[str, dict[str, Any]]
    fingerprints: dict[str, Any]
    latest_date: date | None


# ---------------------------------------------------------------- which models, and are they fresh


def has_origins(model: Any) -> bool:
    """Whether any declared source of the model reads from an origin."""
    return any(getattr(s, "origin", None) is not None for s in model.sources)


def import_dir(root: Path, model: Any) -> Path:
    return root / "pool" / model.name


def import_manifest(root: Path, model: Any) -> ImportManifest:
    """The manifest of the model's last import (``FileNotFoundError`` naming the command)."""
    path = import_dir(root, model) / IMPORT_MANIFEST
    if not path.is_file():
        raise FileNotFoundError(
            f"model {model.name!r} has not been imported into {root}: run "
            f"`python -m pool.importer --models {model.name}`"
        )
    doc = json.loads(path.read_text(encoding="utf-8"))
    latest = doc.get("latest_date")
    return ImportManifest(
        doc["files"], doc["fingerprints"], date.fromisoformat(latest) if latest else None
    )


def import_is_stale(root: Path, model: Any) -> bool:
    """True when the model was never imported, or an input changed since (a database table is
    always read again: nothing tells whether it changed)."""
    if any(isinstance(s.origin, DatabaseOrigin) for s in model.sources):
        return True
    try:
        manifest = import_manifest(root, model)
    except FileNotFoundError:
        return True
    return manifest.fingerprints != fingerprints(model)


def ensure_imported(name: str, root: str | os.PathLike | None = None) -> bool:
    """Import model ``name`` when it never was or its inputs changed; True if it ran now."""
    model = discovery.get(name)
    base = data_root(root)
    if not import_is_stale(base, model):
        return False
    import_model(model, base)
    return True


def verify_import(root: Path, model: Any) -> None:
    """Check every imported file against the sha256 its import recorded (a file edited since
    is refused, naming it)."""
    manifest = import_manifest(root, model)
    for table, entry in manifest.files.items():
        path = source_path(root, model.name, table)
        if not path.is_file() or sha256_of(path) != entry["sha256"]:
            raise ImportFailure(
                f"{model.name}.{table}", f"file {path} changed since it was imported; import again"
            )


def fingerprints(model: Any) -> dict[str, Any]:
    """Path, size and modification time of every input file; a database table's URL and table
    (recorded only: a database table is always read again)."""
    out: dict[str, Any] = {}
    for spec in model.sources:
        origin = spec.origin
        if isinstance(origin, FileOrigin):
            try:
                files = resolve_files(model, spec, origin)
            except ImportFailure:
                files = []
            out[spec.table] = [[str(p), p.stat().st_size, p.stat().st_mtime_ns] for p in files]
        elif isinstance(origin, DatabaseOrigin):
            out[spec.table] = f"{origin.safe_url} {origin.table}"
    return out


# ---------------------------------------------------------------- reading


def base_folder(model: Any) -> Path | None:
    """The folder relative origin paths are read from: that of the model's declaration (a file,
    a folder or a module); None for a model declared in-process, which has no folder."""
    try:
        where = Path(discovery.where(model.name))
    except discovery.UnknownModelError:
        return None
    if where.is_dir():
        return where
    if where.suffix == ".py":
        return where.parent
    module = sys.modules.get(str(where))
    file = getattr(module, "__file__", None)
    return Path(file).parent if file else None


def resolve_files(model: Any, spec: SourceSpec, origin: FileOrigin) -> list[Path]:
    """Every file the origin names, sorted; a pattern matching nothing is refused."""
    base = base_folder(model)
    files: list[Path] = []
    for pattern in origin.patterns():
        if os.path.isabs(pattern):
            full = pattern
        elif base is None:
            raise ImportFailure(
                f"{model.name}.{spec.table}",
                f"relative path {pattern!r}, but the model was declared "
                "in-process and has no folder to read it from; give an "
                "absolute path or list the model in $SUPERVISION_MODELS",
            )
        else:
            full = str(base / pattern)
        matched = sorted(Path(p).resolve() for p in globlib.glob(full))
        if not matched:
            raise ImportFailure(
                f"{model.name}.{spec.table}", f"no file matches {full!r} (declared {pattern!r})"
            )
        files.extend(matched)
    return files


def _decode(path: Path, encoding: str, source: str) -> str:
    raw = path.read_bytes()
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ImportFailure(
            source,
            f"file {path} is not valid {encoding}: byte "
            f"{exc.start} (row {line}) cannot be decoded; declare the "
            "file's encoding (e.g. encoding='gb18030')",
        ) from None


def read_file(path: Path, origin: FileOrigin, source: str) -> pd.DataFrame:
    """One file's rows, every cell as text (or as Excel stored it): nothing inferred yet."""
    kind = origin.format_of(path)
    try:
        if kind == "csv":
            text = _decode(path, origin.encoding, source).lstrip("\ufeff")
            return pd.read_csv(
                io.StringIO(text), dtype=str, keep_default_na=False, sep=origin.delimiter
            )
        if kind == "excel":
            return pd.read_excel(path, sheet_name=origin.sheet, dtype=object, engine="openpyxl")
        return pd.read_parquet(path)
    except ImportFailure:
        raise
    except (ValueError, OSError, KeyError, pd.errors.ParserError) as exc:
        raise ImportFailure(source, f"file {path} cannot be read as {kind}: {exc}") from None


def read_database(origin: DatabaseOrigin, source: str) -> pd.DataFrame:
    """All rows of one database table, through Ibis."""
    import ibis

    url = re.sub(r"^postgres(?:ql)?(?:\+\w+)?://", "postgres://", origin.url)
    try:
        con = ibis.connect(url)
    except Exception as exc:  # noqa: BLE001 - every driver raises its own; all mean "cannot connect"
        raise ImportFailure(
            source, f"cannot connect to {origin.safe_url}: {type(exc).__name__}: {exc}"
        ) from None
    try:
        names = con.list_tables(database=origin.schema) if origin.schema else con.list_tables()
        if origin.table not in names:
            raise ImportFailure(
                source,
                f"table {origin.table!r} not found in {origin.safe_url}; tables: {sorted(names)}",
            )
        table = (
            con.table(origin.table, database=origin.schema)
            if origin.schema
            else con.table(origin.table)
        )
        return table.to_pandas()
    finally:
        con.disconnect()


# ---------------------------------------------------------------- columns and types


def rename_columns(
    frame: pd.DataFrame,
    spec: SourceSpec,
    mapping: dict[str, str],
    ignore: tuple[str, ...],
    source: str,
    where: str,
) -> pd.DataFrame:
    """Agency headers -> declared columns; unexpected or missing columns are refused."""
    frame = frame.rename(columns=lambda c: str(c).strip())
    declared = [c.name for c in spec.columns]
    bad_targets = sorted(set(mapping.values()) - set(declared))
    if bad_targets:
        raise ImportFailure(
            source,
            f"the column mapping names undeclared column(s) {bad_targets}; declared: {declared}",
        )
    frame = frame.rename(columns=mapping)
    unexpected = [c for c in frame.columns if c not in declared and c not in ignore]
    if unexpected:
        raise ImportFailure(
            source,
            f"{where}: unexpected column(s) {unexpected} (neither "
            f"declared nor mapped; map them in columns= or list them "
            f"in ignore=)",
        )
    missing = [c for c in declared if c not in frame.columns]
    if missing:
        raise ImportFailure(
            source,
            f"{where}: declared column(s) {missing} are missing; present: {list(frame.columns)}",
        )
    dupes = sorted({c for c in frame.columns if list(frame.columns).count(c) > 1})
    if dupes:
        raise ImportFailure(source, f"{where}: column(s) {dupes} appear twice after mapping")
    return frame[declared]


def _blank(values: pd.Series) -> np.ndarray:
    text = values.astype("string").str.strip()
    return (values.isna() | text.isna() | (text == "")).to_numpy()


def coerce_column(
    values: pd.Series, col: ColumnSpec, rows: np.ndarray, source: str, notes: list[str]
) -> pd.Series:
    """Cells -> the declared type; any cell that is not of it stops the import, naming the
    column, the row (as numbered in the input: header = row 1) and the value."""
    blank = _blank(values)
    out: pd.Series
    if col.dtype == "string":
        out = values.astype("string").str.strip()
        out = out.mask(blank, pd.NA)
        if values.map(lambda v: isinstance(v, float | int) and not isinstance(v, bool)).any():
            notes.append(f"{col.name}: numbers written as text")
        return out
    if col.dtype in ("int64", "float64"):
        text = values.astype("string").str.strip()
        cleaned = text.str.replace(r"(?<=\d),(?=\d{3}\b)", "", regex=True)
        if (cleaned != text).fillna(False).any():
            notes.append(
                f"{col.name}: thousands separators removed "
                f"({int((cleaned != text).fillna(False).sum())} cells)"
            )
        out = pd.to_numeric(cleaned.mask(blank, None), errors="coerce")
        bad = ~blank & out.isna().to_numpy()
        if col.dtype == "int64":
            frac = ~blank & ~bad & (out.fillna(0) % 1 != 0).to_numpy()
            bad = bad | frac
        _refuse_cells(bad, values, col, rows, source)
        return out.astype("Int64") if col.dtype == "int64" else out.astype("float64")
    if col.dtype == "bool":
        text = values.astype("string").str.strip().str.lower()
        out = pd.Series(pd.NA, index=values.index, dtype="boolean")
        out[text.isin(_TRUE).fillna(False).to_numpy()] = True
        out[text.isin(_FALSE).fillna(False).to_numpy()] = False
        _refuse_cells(~blank & out.isna().to_numpy(), values, col, rows, source)
        return out
    parsed = _parse_dates(values, blank)
    _refuse_cells(~blank & parsed.isna().to_numpy(), values, col, rows, source)
    return parsed.dt.normalize() if col.dtype == "date" else parsed


def _parse_dates(values: pd.Series, blank: np.ndarray) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        return pd.to_datetime(values)
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    stamps = values.map(lambda v: isinstance(v, pd.Timestamp | date))
    if stamps.any():
        out[stamps.to_numpy()] = pd.to_datetime(values[stamps])
    text = values.astype("string").str.strip()
    todo = ~blank & ~stamps.to_numpy()
    for fmt in _DATE_FORMATS:
        left = todo & out.isna().to_numpy()
        if not left.any():
            break
        out[left] = pd.to_datetime(text[left], format=fmt, errors="coerce")
    left = todo & out.isna().to_numpy()
    if left.any():  # ISO timestamps such as 2025-06-01T08:30:00
        out[left] = pd.to_datetime(text[left], format="ISO8601", errors="coerce")
    return out


def _refuse_cells(
    bad: np.ndarray, values: pd.Series, col: ColumnSpec, rows: np.ndarray, source: str
) -> None:
    if not bad.any():
        return
    where = np.flatnonzero(bad)
    examples = ", ".join(f"row {rows[i]}: {values.iloc[i]!r}" for i in where[:EXAMPLES])
    raise ImportFailure(
        source,
        f"column {col.name!r} (declared {col.dtype}): {len(where)} "
        f"cell(s) are not {col.dtype}: {examples}",
    )


# ---------------------------------------------------------------- one source, one model


def read_source(model: Any, spec: SourceSpec) -> tuple[pd.DataFrame, SourceReport]:
    """The declared, typed rows of one source and what was done to get them."""
    source = f"{model.name}.{spec.table}"
    origin = spec.origin
    report = SourceReport(source, "")
    parts: list[pd.DataFrame] = []
    if isinstance(origin, FileOrigin):
        files = resolve_files(model, spec, origin)
        report.files = [str(p) for p in files]
        report.origin = ", ".join(report.files)
        report.encoding = (
            origin.encoding if any(origin.format_of(p) == "csv" for p in files) else ""
        )
        for path in files:
            raw = read_file(path, origin, source)
            report.rows_read += len(raw)
            if origin.transform is not None:
                raw = _transformed(
                    raw.rename(columns=lambda c: str(c).strip()), origin, path, source
                )
            frame = rename_columns(
                raw, spec, dict(origin.columns), origin.ignore, source, f"file {path}"
            )
            parts.append(frame.assign(_row=np.arange(len(frame)) + 2, _file=str(path)))
    elif isinstance(origin, DatabaseOrigin):
        raw = read_database(origin, source)
        report.origin = f"{origin.safe_url} table {origin.table}"
        report.rows_read = len(raw)
        frame = rename_columns(
            raw, spec, dict(origin.columns), origin.ignore, source, f"table {origin.table}"
        )
        parts.append(frame.assign(_row=np.arange(len(frame)) + 1, _file=origin.table))
    else:
        raise ImportFailure(source, "declares no origin (and the model has no simulator)")
    frame = pd.concat(parts, ignore_index=True)
    rows = np.array(
        [
            f"{Path(f).name}:{r}" if len(parts) > 1 else str(r)
            for f, r in zip(frame["_file"], frame["_row"], strict=True)
        ]
    )
    typed = pd.DataFrame(
        {
            c.name: coerce_column(frame[c.name], c, rows, source, report.coercions)
            for c in spec.columns
        }
    )
    typed, report.refused = _apply_rules(typed, spec, rows, origin, source)
    report.rows_written = len(typed)
    if spec.date_column and typed[spec.date_column].notna().any():
        report.latest_date = str(pd.Timestamp(typed[spec.date_column].max()).date())
    return typed, report


def _transformed(raw: pd.DataFrame, origin: FileOrigin, path: Path, source: str) -> pd.DataFrame:
    assert origin.transform is not None
    try:
        return origin.transform(raw, path)
    except ImportFailure:
        raise
    except (KeyError, ValueError, TypeError) as exc:
        raise ImportFailure(source, f"file {path}: {type(exc).__name__}: {exc}") from None


def _apply_rules(
    typed: pd.DataFrame, spec: SourceSpec, rows: np.ndarray, origin: Any, source: str
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Check the declared rules row by row; refuse breaking rows if the origin allows it, else
    stop naming the column, rule and rows. The pool's own schema validation runs after, on
    the table exactly as it will be stored (a second net)."""
    bad_rows = _breaking_rows(typed, spec)
    refused = [
        {
            "column": column,
            "rule": rule,
            "n_rows": len(idx),
            "rows": [str(rows[i]) for i in idx[:EXAMPLES]],
            "examples": [_plain(typed[column].iloc[i]) for i in idx[:EXAMPLES]],
        }
        for (column, rule), idx in bad_rows.items()
    ]
    if refused and not origin.refuse_rows:
        raise ImportFailure(
            source,
            "; ".join(
                f"column {r['column']!r} rule {r['rule']}: {r['n_rows']} row(s) break it "
                f"(rows {r['rows']}, values {r['examples']})"
                for r in refused
            ),
        )
    drop = sorted({i for idx in bad_rows.values() for i in idx})
    kept = typed.drop(index=typed.index[drop]).reset_index(drop=True)
    try:
        stored = to_pandas(to_arrow_table(kept, spec), spec)
        validate(stored, spec)
    except (PoolTypeError, PoolValidationError) as exc:
        raise ImportFailure(source, str(exc)) from None
    return stored, refused


def _breaking_rows(frame: pd.DataFrame, spec: SourceSpec) -> dict[tuple[str, str], list[int]]:
    """Row positions breaking each declared rule (nullability, min, max, isin, regex, unique)."""
    out: dict[tuple[str, str], list[int]] = {}
    for col in spec.columns:
        values = frame[col.name]
        checks: list[tuple[str, np.ndarray]] = []
        if not col.nullable:
            checks.append(("not_nullable", values.isna().to_numpy()))
        present = values.notna().to_numpy()
        rules = col.checks or {}
        if "min" in rules:
            checks.append(
                (
                    f"min {rules['min']}",
                    present & (values < rules["min"]).fillna(False).to_numpy(dtype=bool),
                )
            )
        if "max" in rules:
            checks.append(
                (
                    f"max {rules['max']}",
                    present & (values > rules["max"]).fillna(False).to_numpy(dtype=bool),
                )
            )
        if "isin" in rules:
            checks.append(("isin", present & ~values.isin(rules["isin"]).to_numpy()))
        if "regex" in rules:
            ok = values.astype("string").str.fullmatch(rules["regex"]).fillna(False)
            checks.append(("regex", present & ~ok.to_numpy(dtype=bool)))
        if rules.get("unique"):
            checks.append(("unique", present & values.duplicated(keep=False).to_numpy()))
        for rule, mask in checks:
            if mask.any():
                out[(col.name, rule)] = np.flatnonzero(mask).tolist()
    return out


def _plain(value: Any) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return str(value.date())
    return value.item() if hasattr(value, "item") else value


def join_rates(model: Any, frames: dict[str, pd.DataFrame]) -> list[dict[str, Any]]:
    """For each declared key join with a target: share of the source's rows whose normalised
    key is found in the target column."""
    out = []
    for join in getattr(model, "joins", ()):
        target = getattr(join, "target", None)
        if target is None or join.source not in frames or target[0] not in frames:
            continue
        norm = (
            (lambda v: v if v is None else str(v).strip())
            if join.kind in ("text", "name")
            else normalise_code
        )
        keys = frames[join.source][join.column].map(norm)
        known = set(frames[target[0]][target[1]].map(norm).dropna())
        joined = int(keys.isin(known).sum())
        rows = len(keys)
        out.append(
            {
                "source": join.source,
                "column": join.column,
                "target": f"{target[0]}.{target[1]}",
                "rows": rows,
                "joined": joined,
                "rate": joined / rows if rows else 0.0,
            }
        )
    return out


def import_model(model: Any, root: str | os.PathLike | None = None) -> ImportReport:
    """Read, validate and write every source of one model with origins (all or nothing)."""
    root = data_root(root)
    sources = [s for s in model.sources if s.origin is not None]
    if not sources:
        raise ImportFailure(model.name, "no declared source has an origin")
    undeclared = [
        s.table
        for s in model.sources
        if s.origin is None and getattr(model, "simulate", None) is None
    ]
    if undeclared:
        raise ImportFailure(
            model.name,
            f"source(s) {undeclared} declare no origin and the "
            "model has no simulator: say where their rows come from",
        )
    frames: dict[str, pd.DataFrame] = {}
    reports = []
    for spec in sources:
        frames[spec.table], source_report = read_source(model, spec)
        reports.append(source_report)
    report = ImportReport(model.name, reports, join_rates(model, frames))
    _publish(root, model, sources, frames, report)
    return report


def _publish(
    root: Path,
    model: Any,
    sources: list[SourceSpec],
    frames: dict[str, pd.DataFrame],
    report: ImportReport,
) -> None:
    staging = root / f".import-{model.name}-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        files: dict[str, dict[str, Any]] = {}
        for spec in sources:
            path = source_path(staging, model.name, spec.table)
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                pq.write_table(to_arrow_table(frames[spec.table], spec), path, compression="zstd")
            except PoolTypeError as exc:
                raise ImportFailure(f"{model.name}.{spec.table}", str(exc)) from None
            files[spec.table] = {"sha256": sha256_of(path), "rows": len(frames[spec.table])}
        dates = [r.latest_date for r in report.sources if r.latest_date]
        folder = staging / "pool" / model.name
        (folder / IMPORT_MANIFEST).write_text(
            json.dumps(
                {
                    "model": model.name,
                    "files": files,
                    "fingerprints": fingerprints(model),
                    "latest_date": max(dates) if dates else None,
                },
                indent=2,
                ensure_ascii=False,
            ),
            encoding="utf-8",
        )
        (folder / IMPORT_REPORT).write_text(
            json.dumps(report.as_dict(), indent=2, ensure_ascii=False, default=str),
            encoding="utf-8",
        )
        target = import_dir(root, model)
        target.parent.mkdir(parents=True, exist_ok=True)
        old = target.parent / f".{model.name}.old-{os.getpid()}"
        if target.exists():
            target.rename(old)
        folder.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = importer_parser()
    args = parser.parse_args(argv)
    try:
        names = args.models or [n for n in discovery.names() if has_origins(discovery.get(n))]
        for name in track(names, "importing"):
            model = discovery.get(name)
            print(import_model(model, args.data).format())
    except (ImportFailure, discovery.DiscoveryError, discovery.UnknownModelError) as exc:
        print(
            f"error: {exc}\n(nothing was written; the previous pool is untouched)", file=sys.stderr
        )
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(exits.run(main))
