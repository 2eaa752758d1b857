"""Build the simulated data pool: ``python -m pool.build --scale 1 --seed 42``.

Simulates every scenario, writes each agency table as Parquet with its declared types, the
verification history beside them and the ground truth apart (``truth/``), then validates what
was written by loading it back through ``pool.load``. Everything is written into a temporary
folder under the data root and moved into place only when the whole build succeeded, so a failed
build never leaves a half pool. Same configuration, same bytes: no timestamps or host details
are written anywhere, and ``manifest.json`` records the configuration and the sha256 of every file.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from console import exits
from console.progress import track
from pool import discovery
from pool.arrow import PoolTypeError, arrow_schema, to_arrow_table
from pool.catalog import build_catalog
from pool.cli_args import build_parser
from pool.load import (
    PoolError,
    check_pool,
    data_root,
    sha256_of,
    source_path,
    truth_path,
)
from pool.schemas import history_source
from pool.spec import ScenarioPool, SimConfig, SourceSpec

MANIFEST_VERSION = 1
#: row groups of 256k rows: validation and the feature engines read a file group by group, so
#: memory per table stays bounded at any scale
PARQUET_OPTIONS = {
    "compression": "zstd",
    "use_dictionary": True,
    "write_statistics": True,
    "row_group_size": 262_144,
}


@dataclass(frozen=True)
class WrittenFile:
    """One file of the build, for the manifest and the summary table."""

    scenario: str
    table: str
    path: str
    rows: int
    bytes: int
    sha256: str


def _write(table: pa.Table, path: Path, root: Path, scenario: str, name: str) -> WrittenFile:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, **PARQUET_OPTIONS)
    rel = path.relative_to(root).as_posix()
    return WrittenFile(scenario, name, rel, table.num_rows, path.stat().st_size, sha256_of(path))


def write_source(
    df: pd.DataFrame, spec: SourceSpec, path: Path, options: dict | None = None
) -> int:
    """Write a declared table one row group at a time; returns the rows written.

    Each slice of ``row_group_size`` rows is converted to Arrow and written as one row group, so
    the Arrow copy in memory is one group, not the whole table, at any scale. The bytes are those
    of ``pq.write_table(to_arrow_table(df, spec), path, **options)``: the same schema, the same
    row groups, each encoded on its own either way (``tests/pool/test_pool_streamed.py``).
    """
    opts = dict(PARQUET_OPTIONS if options is None else options)
    step = int(opts.pop("row_group_size"))
    path.parent.mkdir(parents=True, exist_ok=True)
    starts = range(0, len(df), step) or range(1)  # an empty table is still written, with no rows
    with pq.ParquetWriter(path, arrow_schema(spec), **opts) as writer:
        for start in starts:
            chunk = to_arrow_table(df.iloc[start : start + step], spec)
            writer.write_table(chunk, row_group_size=step)
            del chunk
    return len(df)


def _write_declared(
    df: pd.DataFrame, spec: SourceSpec, path: Path, root: Path, scenario: str
) -> WrittenFile:
    rows = write_source(df, spec, path)
    rel = path.relative_to(root).as_posix()
    return WrittenFile(scenario, spec.table, rel, rows, path.stat().st_size, sha256_of(path))


def _plain_table(df: pd.DataFrame) -> pa.Table:
    """Arrow table of a frame without pandas metadata (truth has no declared column list)."""
    table = pa.Table.from_pandas(df, preserve_index=False)
    return table.replace_schema_metadata(None)


def write_scenario(pool: ScenarioPool, root: Path) -> list[WrittenFile]:
    """Write one simulated scenario under ``root`` (tables, history, truth)."""
    specs = {s.table: s for s in discovery.pool_sources(pool.scenario)}
    undeclared = sorted(set(pool.tables) - set(specs))
    missing = sorted(set(specs) - set(pool.tables))
    if undeclared or missing:
        raise PoolTypeError(
            f"{pool.scenario}: simulated tables do not match SOURCES "
            f"(undeclared: {undeclared}, missing: {missing})"
        )
    written = []
    for name, spec in specs.items():
        frame = pool.tables.pop(name)  # released once written
        path = source_path(root, pool.scenario, name)
        written.append(_write_declared(frame, spec, path, root, pool.scenario))
        del frame
    hist = history_source(pool.scenario)
    path = source_path(root, pool.scenario, hist.table)
    written.append(_write_declared(pool.history, hist, path, root, pool.scenario))
    written.append(
        _write(
            _plain_table(pool.truth), truth_path(root, pool.scenario), root, pool.scenario, "truth"
        )
    )
    for extra, frame in sorted(getattr(pool, "truth_tables", {}).items()):
        path = truth_path(root, f"{pool.scenario}_{extra}")
        written.append(_write(_plain_table(frame), path, root, pool.scenario, f"truth_{extra}"))
    return written


def _manifest(config: SimConfig, scenarios: list[str], files: list[WrittenFile]) -> dict:
    cfg = asdict(config)
    cfg["start"] = config.start.isoformat()
    return {
        "manifest_version": MANIFEST_VERSION,
        "config": cfg,
        "scenarios": scenarios,
        "files": {f.path: {"sha256": f.sha256, "bytes": f.bytes, "rows": f.rows} for f in files},
    }


def _dump_json(doc: dict, path: Path) -> None:
    path.write_text(
        json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=False) + "\n", encoding="utf-8"
    )


def _swap_into_place(staging: Path, root: Path) -> None:
    """Replace ``root/pool`` and ``root/truth`` by the staged ones, old ones removed after."""
    for sub in ("pool", "truth"):
        target, old = root / sub, root / f".{sub}.old-{os.getpid()}"
        if target.exists():
            target.rename(old)
        (staging / sub).rename(target)
        if sub == "pool" and old.exists():
            _keep_imported(old, target)
        shutil.rmtree(old, ignore_errors=True)


def _keep_imported(old: Path, new: Path) -> None:
    """Imported models' folders (``import.json`` inside) are not the simulator's: carry them
    over into the new pool."""
    for folder in old.iterdir():
        if (folder / "import.json").is_file() and not (new / folder.name).exists():
            folder.rename(new / folder.name)


def simulator(name: str) -> Callable[[SimConfig], ScenarioPool]:
    """The declared simulator of model ``name`` (refused, naming it, when it has none)."""
    simulate = getattr(discovery.get(name), "simulate", None)
    if simulate is None:
        raise discovery.DiscoveryError(
            f"model {name!r} declares no simulator; its rows come from its sources' origins "
            "(python -m pool.importer)"
        )
    if not callable(simulate):
        raise discovery.DiscoveryError(f"model {name!r}: simulate must be a function of SimConfig")
    return simulate


def build(
    config: SimConfig, root: str | os.PathLike | None, scenarios: list[str]
) -> list[WrittenFile]:
    """Simulate, write, validate and publish the pool; returns every file written.

    Scenarios are simulated one at a time and released table by table as they are written, then
    validated back from the files by chunk (``pool.load.check_pool``), so peak memory is that of
    the largest scenario's simulation, not of the sum, nor of simulation plus validation.
    """
    root = data_root(root)
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f".build-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        files: list[WrittenFile] = []
        entities: dict[str, str] = {}
        for name in track(scenarios, "building pool"):
            pool = simulator(name)(config)
            entities[name] = pool.entity
            files.extend(write_scenario(pool, staging))
            del pool
            check_pool(staging, name, truth=True)  # streamed: one chunk per table in memory
        catalog_path = staging / "pool" / "catalog.json"
        _dump_json(build_catalog(scenarios, entities), catalog_path)
        files.append(
            WrittenFile(
                "*",
                "catalog",
                "pool/catalog.json",
                0,
                catalog_path.stat().st_size,
                sha256_of(catalog_path),
            )
        )
        _dump_json(_manifest(config, scenarios, files), staging / "pool" / "manifest.json")
        _swap_into_place(staging, root)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return files


def summary(files: list[WrittenFile]) -> pd.DataFrame:
    """Scenario, table, rows and size of every written table (the catalog left out)."""
    rows = [
        {"scenario": f.scenario, "table": f.table, "rows": f.rows, "KiB": round(f.bytes / 1024, 1)}
        for f in files
        if f.scenario != "*"
    ]
    return pd.DataFrame(rows)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = build_parser()
    return parser.parse_args(argv)


def config_from_args(args: argparse.Namespace) -> SimConfig:
    """A validated ``SimConfig`` from parsed arguments; bad values exit with a clear message."""
    if args.scale <= 0:
        raise SystemExit("--scale must be positive")
    if not 1 <= args.months <= 120:
        raise SystemExit("--months must be between 1 and 120")
    if args.start.day != 1:
        raise SystemExit("--start must be the first day of a month")
    if args.drift_month is not None and not 0 < args.drift_month < args.months:
        raise SystemExit(f"--drift-month must be between 1 and {args.months - 1}")
    return SimConfig(
        seed=args.seed,
        scale=args.scale,
        start=args.start,
        months=args.months,
        drift_month=args.drift_month,
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    config = config_from_args(args)
    scenarios = args.scenarios or discovery.simulated()
    unknown = sorted(set(scenarios) - set(discovery.simulated()))
    if unknown:
        print(
            f"error: no simulator for {unknown}; models with one: {discovery.simulated()}",
            file=sys.stderr,
        )
        return 2
    try:
        files = build(config, args.data, scenarios)
    except (PoolError, PoolTypeError) as exc:
        print(f"pool build failed, nothing written:\n{exc}", file=sys.stderr)
        return 1
    table = summary(files)
    print(table.to_string(index=False))
    print(
        f"\nwrote {len(files)} files under {data_root(args.data)} "
        f"(scale {config.scale}, seed {config.seed}, {config.months} months, "
        f"drift {config.drift_month})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(exits.run(main))
