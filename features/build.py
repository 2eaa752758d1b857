"""Build one scenario's feature table as of a date: the entry point for training and the CLI.

``build_features`` wires the stages in one place: read the declared sources (checked), cut
each one to what was known on the as-of date, normalise keys and count the joins, run the
scenario's feature expression on the chosen engine, attach labels known by that date, and stamp
the result with the feature set's hash. I/O stays at the edges (``write_features``, ``main``).

CLI: ``python -m features.build --scenario fuel_tax --as-of 2025-06-30 --engine duckdb
--data data [--out DIR] [--module my_model.py]``
"""

from __future__ import annotations

import hashlib
import inspect
import json
import sys
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from ibis.backends import BaseBackend

from console import exits
from console.progress import progress
from features import registry
from features.amount import AmountError, estimate_amounts, with_amounts
from features.cli_args import build_parser
from features.engines import connect
from features.keys import format_report, join_report, normalise_sources
from features.labels import history_labels
from features.sources import SourceError, as_of, data_root, read_parquet_source, register_frames
from features.spec import ID_COLUMNS, BuildContext, ScenarioFeatures

HASH_LENGTH = 16


@dataclass
class FeatureTable:
    """A built feature table: one row per entity, the feature set's hash and the join report.

    ``frame`` columns: ``entity_id``, ``district``, ``label`` (1 case filed, 0 no case, NaN
    never verified or invalid, as known on ``as_of``), the declared features in order,
    ``amount_at_stake`` (the declared estimate, ``features.amount``; NaN when not declared) and
    ``feature_set_hash``.
    """

    scenario: str
    as_of: date | None
    engine: str
    frame: pd.DataFrame
    hash: str
    join_report: pd.DataFrame

    @property
    def feature_names(self) -> list[str]:
        """The feature columns, in declaration order."""
        return registry.get(self.scenario).feature_names

    def X(self) -> pd.DataFrame:  # noqa: N802 - the usual name for a feature matrix
        """Only the feature columns (what a detector or scorer is fitted on)."""
        return self.frame[self.feature_names]


def feature_set_hash(scenario: ScenarioFeatures) -> str:
    """Hash of the declarations and the code that computes them.

    Changes when a feature, a source column, a join or the scenario module's source changes,
    so a model trained on one feature set never silently scores another.
    """
    declaration = {
        "name": scenario.name,
        "entity": scenario.entity,
        "key": scenario.key_column,
        "features": [asdict(f) for f in scenario.features],
        "sources": [
            {
                "table": s.table,
                "columns": [(c.name, c.dtype) for c in s.columns],
                "date": s.date_column,
                "filed": s.filed_column,
            }
            for s in scenario.sources
        ],
        "joins": [asdict(j) for j in scenario.joins],
    }
    digest = hashlib.sha256(json.dumps(declaration, sort_keys=True, default=str).encode())
    for fn in (scenario.build, scenario.load, scenario.labels):
        if fn is not None:
            digest.update(_source_text(fn).encode())
    return digest.hexdigest()[:HASH_LENGTH]


def _source_text(fn: object) -> str:
    try:
        return inspect.getsource(inspect.getmodule(fn))  # type: ignore[arg-type]
    except (OSError, TypeError):
        return getattr(fn, "__qualname__", repr(fn))


def load_tables(
    scenario: ScenarioFeatures,
    con: BaseBackend,
    root: str | Path | None,
    ctx: BuildContext,
    validate: bool = False,
) -> dict[str, ir.Table]:
    """Every declared source registered with the engine (checked; not yet cut by date)."""
    specs = {s.table: s for s in scenario.sources}
    if scenario.load is not None:
        return register_frames(scenario.load(str(data_root(root)), ctx), specs)
    return {
        name: read_parquet_source(con, root, spec, validate=validate)
        for name, spec in specs.items()
    }


class LeakageError(ValueError):
    """A feature expression reached for what it must not know: the model's labels."""


class LabelGuard(Mapping[str, ir.Table]):
    """The sources a feature expression may read: every declared source except the label
    sources, which raise ``LeakageError`` naming the model and the source (a feature computed
    from outcomes would score perfectly in every backtest and mean nothing)."""

    def __init__(self, tables: Mapping[str, ir.Table], hidden: set[str], model: str) -> None:
        self._tables, self._hidden, self._model = tables, hidden, model

    def __getitem__(self, name: str) -> ir.Table:
        if name in self._hidden:
            raise LeakageError(
                f"model {self._model!r}: the feature expression reads the label source "
                f"{name!r}; features may not read outcomes (labels are attached after the "
                "features, as known on the as-of date)"
            )
        return self._tables[name]

    def __iter__(self) -> Iterator[str]:
        return (name for name in self._tables if name not in self._hidden)

    def __len__(self) -> int:
        return len(self._tables) - len(self._hidden)


def feature_expression(
    scenario: ScenarioFeatures, tables: dict[str, ir.Table], ctx: BuildContext
) -> ir.Table:
    """The scenario's features joined with the labels, columns in contract order."""
    hidden = set(getattr(scenario, "label_sources", ())) & set(tables)
    feats = scenario.build(LabelGuard(tables, hidden, scenario.name), ctx)
    missing = [c for c in (*ID_COLUMNS, *scenario.feature_names) if c not in feats.columns]
    if missing:
        raise ValueError(f"scenario {scenario.name!r}: build() did not return column(s) {missing}")
    labels = (scenario.labels or history_labels)(tables, ctx)
    labels = labels.select(l_entity="entity_id", label="label")
    joined = feats.left_join(labels, feats.entity_id == labels.l_entity)
    columns = {name: joined[name].cast("float64") for name in scenario.feature_names}
    return joined.select(
        entity_id=joined.entity_id.cast("string"),
        district=joined.district.cast("string"),
        label=joined.label.cast("float64"),
        **columns,
    )


def build_features(
    scenario: str,
    as_of: date | str | None,
    data_root: str | Path | None = None,
    engine: str = "duckdb",
    *,
    validate: bool = False,
    con: BaseBackend | None = None,
) -> FeatureTable:
    """One feature table for ``scenario`` as known on ``as_of`` (None: everything)."""
    spec = registry.get(scenario)
    when = _as_date(as_of)
    ctx = BuildContext(as_of=when, engine=engine)
    con = con if con is not None else connect(engine)
    raw = load_tables(spec, con, data_root, ctx, validate)
    known = {name: _cut(t, spec, name, when) for name, t in raw.items()}
    tables = normalise_sources(known, spec.joins, con)
    report = join_report(con, known, spec.joins)
    frame = con.execute(feature_expression(spec, tables, ctx))
    frame = _tidy(frame, spec)
    hidden = set(getattr(spec, "label_sources", ())) & set(tables)
    amounts = estimate_amounts(spec, con, LabelGuard(tables, hidden, spec.name), ctx)
    frame = with_amounts(frame, amounts)
    digest = feature_set_hash(spec)
    frame["feature_set_hash"] = digest
    frame.attrs.update(scenario=scenario, as_of=str(when), feature_set_hash=digest)
    return FeatureTable(scenario, when, engine, frame, digest, report)


def _cut(table: ir.Table, spec: ScenarioFeatures, name: str, when: date | None) -> ir.Table:
    return as_of(table, spec.source(name), when)


def _tidy(frame: pd.DataFrame, spec: ScenarioFeatures) -> pd.DataFrame:
    """Stable row order, float64 features, NaN (not None) for missing values."""
    frame = frame.sort_values("entity_id", kind="stable").reset_index(drop=True)
    for name in ["label", *spec.feature_names]:
        frame[name] = pd.to_numeric(frame[name], errors="coerce").astype("float64")
    frame[list(ID_COLUMNS)] = frame[list(ID_COLUMNS)].astype("string")
    dupes = frame["entity_id"].duplicated()
    if dupes.any():
        raise ValueError(
            f"scenario {spec.name!r}: {int(dupes.sum())} duplicate entity_id rows, e.g. "
            f"{frame.loc[dupes, 'entity_id'].head(3).tolist()}"
        )
    return frame


def _as_date(value: date | str | None) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"as-of date {value!r} is not YYYY-MM-DD") from None


def output_path(out_root: str | Path, scenario: str, when: date | None) -> Path:
    """``<out_root>/<scenario>/<as_of>.parquet`` (``all`` when there is no as-of date)."""
    return Path(out_root) / scenario / f"{when.isoformat() if when else 'all'}.parquet"


def write_features(table: FeatureTable, out_root: str | Path) -> Path:
    """Write the table (hash in the Parquet metadata) and its join report as a CSV sidecar."""
    path = output_path(out_root, table.scenario, table.as_of)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrow = pa.Table.from_pandas(table.frame, preserve_index=False)
    meta = dict(arrow.schema.metadata or {})
    meta.update(
        {
            b"feature_set_hash": table.hash.encode(),
            b"scenario": table.scenario.encode(),
            b"as_of": str(table.as_of).encode(),
            b"engine": table.engine.encode(),
            b"features": json.dumps(registry.get(table.scenario).feature_names).encode(),
        }
    )
    pq.write_table(arrow.replace_schema_metadata(meta), path)
    table.join_report.to_csv(path.with_suffix(".join_report.csv"), index=False)
    return path


def read_features(path: str | Path) -> FeatureTable:
    """Read a written feature table back, with its hash and join report."""
    path = Path(path)
    arrow = pq.read_table(path)
    meta = {k.decode(): v.decode() for k, v in (arrow.schema.metadata or {}).items()}
    report_path = path.with_suffix(".join_report.csv")
    report = pd.read_csv(report_path) if report_path.is_file() else pd.DataFrame()
    when = None if meta.get("as_of") in (None, "None") else date.fromisoformat(meta["as_of"])
    return FeatureTable(
        meta.get("scenario", ""),
        when,
        meta.get("engine", ""),
        arrow.to_pandas(),
        meta.get("feature_set_hash", ""),
        report,
    )


def summary(table: FeatureTable) -> str:
    """A short console summary: rows, labels, feature coverage."""
    f = table.frame
    labels = f["label"].value_counts(dropna=False).rename(lambda v: "NaN" if pd.isna(v) else v)
    cover = f[table.feature_names].notna().mean().map("{:.0%}".format)
    return (
        f"{table.scenario} as of {table.as_of} on {table.engine}: {len(f)} entities, "
        f"hash {table.hash}\nlabels: {labels.to_dict()}\nfeature coverage (non-null):\n"
        + cover.to_string()
    )


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.module:
            registry.load_module(args.module)
        with progress(f"features {args.scenario} on {args.engine}"):
            table = build_features(
                args.scenario, args.as_of, args.data, args.engine, validate=args.validate
            )
    except (
        SourceError,
        registry.UnknownScenarioError,
        FileNotFoundError,
        ValueError,
        LeakageError,
        AmountError,
    ) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = args.out or data_root(args.data) / "features"
    path = write_features(table, out)
    print(summary(table))
    print("\njoin report:\n" + format_report(table.join_report))
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(exits.run(main))
