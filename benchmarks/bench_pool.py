"""Benchmark: time and peak memory to build the simulated pool at SCALE 1 and 10.

Each build runs in a fresh child process (so imports, caches and the allocator start clean and
the peak resident set is that build's alone): the child runs ``pool.build`` and reports its own
``ru_maxrss``. Rows written come from the build's manifest. ``seconds`` is the whole child process
(interpreter start and imports included), ``build_seconds`` the build alone, ``cpu_seconds``
the child's user + system CPU time (what the build costs on a machine shared with other work); ``mib_per_scale_unit``
is (peak - resident set after imports) / scale. Target: SCALE 1 in under 30 s on
two cores, memory growing linearly with scale (compare "MiB per scale unit" across rows).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FULL_SCALES = (1.0, 10.0)
QUICK_SCALES = (0.05, 0.2)
SEED = 42


def _child(argv: list[str]) -> int:
    """Run the build in this process; print peak memory (KiB on Linux) and timings as JSON.

    The baseline is the resident set once the libraries are imported, so that
    ``(peak - baseline) / scale`` shows how memory grows with the data alone.
    """
    started = time.perf_counter()
    from pool.build import main as build_main  # deferred: its import time is measured here

    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    imported = time.perf_counter()
    code = build_main(argv)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    report = {
        "exit": code,
        "peak_kib": usage.ru_maxrss,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "baseline_kib": baseline,
        "import_s": imported - started,
        "build_s": time.perf_counter() - imported,
    }
    print(json.dumps(report))
    return code


def measure(scale: float, root: Path) -> dict:
    """Build the whole pool at ``scale`` under ``root`` in a child process; one result row."""
    cmd = [
        sys.executable,
        "-m",
        "benchmarks.bench_pool",
        "--child",
        "--scale",
        str(scale),
        "--seed",
        str(SEED),
        "--data",
        str(root),
    ]
    env = dict(os.environ, PYTHONHASHSEED="0")
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"pool build at scale {scale} failed:\n{done.stderr[-2000:]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    manifest = json.loads((root / "pool" / "manifest.json").read_text())
    rows = sum(meta["rows"] for meta in manifest["files"].values())
    peak_mib, baseline_mib = report["peak_kib"] / 1024, report["baseline_kib"] / 1024
    return {
        "scale": scale,
        "scenarios": ",".join(manifest["scenarios"]),
        "seconds": round(seconds, 1),
        "build_seconds": round(report["build_s"], 1),
        "import_seconds": round(report["import_s"], 1),
        "cpu_seconds": round(report["cpu_s"], 1),
        "peak_mib": round(peak_mib, 1),
        "baseline_mib": round(baseline_mib, 1),
        "rows_written": rows,
        "rows_per_s": round(rows / report["build_s"]),
        "mib_per_scale_unit": round((peak_mib - baseline_mib) / scale, 1),
    }


def run(quick: bool) -> list[dict]:
    """One row per scale: time, peak memory and throughput of a full pool build."""
    rows = []
    for scale in QUICK_SCALES if quick else FULL_SCALES:
        with tempfile.TemporaryDirectory(prefix="bench-pool-") as tmp:
            rows.append(measure(scale, Path(tmp)))
    return rows


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        sys.exit(_child(sys.argv[2:]))
    for row in run(quick="--quick" in sys.argv):
        print(row)
