"""Serving benchmark: the BentoML service over loopback against plain in-process LightGBM.

Measurements on one started server (``bentoml serve`` on 127.0.0.1, one worker), backed by a
sandbox deployment (MLflow sqlite registry with a registered LightGBM pyfunc, lead store, feature
table of N entities):

1. single-entity explained score: one entity id, reasons with SHAP, sequential requests; p50/p99;
2. score-all: every entity scored, reasons for the top 1,000, end to end (request, scoring, SHAP,
   serialisation, parse on the client), as JSON (``layout=columns``) and as an Arrow stream
   (``layout=arrow``), against ``booster.predict`` of the same model on the same rows in this
   process on the service's thread count (``pool.resources.threads``: ``SUPERVISION_THREADS``,
   default every available core; the service splits that budget over its chunks, never
   multiplies it), and on one thread; interleaved with them, medians of 7 repeats; goal: at
   least half the same-thread-count throughput. The server's own split (score, explain,
   serialise, from its ``Server-Timing`` header) is reported beside it;
3. fixed-rate load: single-entity explained scores sent on a fixed schedule (open loop: latency
   counted from the scheduled send time, so a stall is not hidden), zero errors expected; p99;
4. the mixed staff workload (score one entity with reasons, list leads, open a lead, in turn),
   open loop: the sustained rate (the highest step of a bounded ramp answered with no error and
   p99 <= 200 ms), then 5x that rate for 20 s (quick: 5 s): every request must be answered
   (200, or refused with 429/503) within 1 s, none may time out (10 s client timeout); then the
   sustained rate again, and the seconds until a one-second window is all 200 at p99 <= 200 ms
   (recovery).

The staff mix is then measured again on a server with two worker processes (``workers`` column).

Full: 100,000 entities, 60 s load. Quick: 10,000 entities, 5 s load.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import lightgbm as lgb
import numpy as np
import pandas as pd
import pyarrow as pa

from benchmarks import loadgen
from pool.resources import threads
from serving.launch import running_service
from serving.sandbox import FEATURES, SCENARIO, Sandbox, build

EXPLAIN_TOP = 1_000


def quantile_ms(samples: list[float], q: float) -> float:
    """The q-quantile of durations in seconds, in milliseconds."""
    return round(float(np.quantile(np.asarray(samples), q)) * 1000, 2)


def served_booster(sandbox: Sandbox) -> lgb.Booster:
    """The LightGBM booster of the served version, loaded natively from the registry."""
    from mlflow.tracking import MlflowClient

    from training.pyfunc import load_estimator

    client = MlflowClient(sandbox.tracking_uri)
    uri = client.get_model_version_download_uri(f"supervision-{SCENARIO}", "1")
    return load_estimator(uri).booster_


def plain_lightgbm(booster: lgb.Booster, X: np.ndarray, threads: int | None = None) -> float:
    """Seconds for ``booster.predict`` on every row, with the model's own thread setting
    (None) or ``threads`` threads."""
    started = time.perf_counter()
    booster.predict(X) if threads is None else booster.predict(X, num_threads=threads)
    return time.perf_counter() - started


def single_latencies(client: httpx.Client, ids: list[str], n: int) -> list[float]:
    """Seconds per sequential single-entity explained score."""
    out = []
    for i in range(n):
        body = {"scenario": SCENARIO, "entity_ids": [ids[i % len(ids)]], "explain_top": 1}
        started = time.perf_counter()
        got = client.post("/v1/score", json=body)
        got.raise_for_status()
        assert got.json()["results"][0]["reasons"], "reasons missing"
        out.append(time.perf_counter() - started)
    return out


def server_timing(header: str | None) -> dict[str, float]:
    """Seconds per phase of a ``Server-Timing`` header (``score;dur=12.5, ...``, in ms)."""
    out = {}
    for part in (header or "").split(","):
        name, _, dur = part.strip().partition(";dur=")
        if name and dur:
            out[name] = float(dur) / 1000
    return out


def score_all_timed(
    client: httpx.Client, n: int, layout: str = "columns"
) -> tuple[float, dict[str, float]]:
    """Seconds to score every entity with reasons for the top 1,000, end to end (the answer
    is parsed (JSON) or read (an Arrow stream, ``layout="arrow"``) before the clock stops),
    and the server's seconds per phase."""
    body = {
        "scenario": SCENARIO,
        "all_entities": True,
        "explain_top": EXPLAIN_TOP,
        "layout": layout,
    }
    started = time.perf_counter()
    got = client.post("/v1/score", json=body, timeout=300)
    got.raise_for_status()
    if layout == "arrow":
        table = pa.ipc.open_stream(got.content).read_all()
        rows, explained = table.num_rows, table.num_rows - table.column("reasons").null_count
    else:
        data = got.json()
        rows, explained = data["count"], len(data["reasons"])
    elapsed = time.perf_counter() - started
    assert rows == n and explained == min(EXPLAIN_TOP, n)
    return elapsed, server_timing(got.headers.get("server-timing"))


def score_all(client: httpx.Client, n: int, layout: str = "columns") -> float:
    """Seconds of :func:`score_all_timed`."""
    return score_all_timed(client, n, layout)[0]


@dataclass
class ScoreAllRuns:
    """Seconds of each interleaved repeat: served score-all as JSON and as Arrow (end to end,
    with the server's phases), plain predict on the service's threads and on one thread."""

    threads: int
    served: list[float] = field(default_factory=list)
    arrow: list[float] = field(default_factory=list)
    plain: list[float] = field(default_factory=list)
    plain_one: list[float] = field(default_factory=list)
    phases: dict[str, list[dict[str, float]]] = field(default_factory=dict)

    def phase_ms(self, layout: str) -> dict[str, float]:
        """Median milliseconds per server phase of ``layout``'s repeats."""
        runs = self.phases.get(layout, [])
        names = sorted({k for run in runs for k in run})
        return {
            f"server_{k}_ms": round(statistics.median(r.get(k, 0.0) for r in runs) * 1000, 1)
            for k in names
        }


def interleaved(
    client: httpx.Client, sandbox: Sandbox, table: pd.DataFrame, repeats: int = 7
) -> ScoreAllRuns:
    """Score-all (JSON, Arrow) and plain ``booster.predict`` (the service's thread count,
    then one thread), measured in turn so that a busy moment on a shared machine hits all
    four alike."""
    runs = ScoreAllRuns(threads=threads())
    booster = served_booster(sandbox)
    X = table.loc[:, list(FEATURES)].to_numpy(dtype="float64")
    for _ in range(repeats):
        for layout, into in (("columns", runs.served), ("arrow", runs.arrow)):
            seconds, phases = score_all_timed(client, len(table), layout)
            into.append(seconds)
            runs.phases.setdefault(layout, []).append(phases)
        runs.plain.append(plain_lightgbm(booster, X, threads=runs.threads))
        runs.plain_one.append(plain_lightgbm(booster, X, threads=1))
    return runs


def fixed_rate(base: str, headers: dict, ids: list[str], rate: float, seconds: float) -> dict:
    """Open-loop load: request i is due at start + i/rate; latency counts from that time."""
    total = int(rate * seconds)
    clients = [httpx.Client(base_url=base, headers=headers, timeout=30) for _ in range(16)]
    start = time.perf_counter() + 0.5

    def one(i: int) -> tuple[float, bool]:
        due = start + i / rate
        time.sleep(max(0.0, due - time.perf_counter()))
        body = {"scenario": SCENARIO, "entity_ids": [ids[i % len(ids)]], "explain_top": 1}
        try:
            ok = clients[i % len(clients)].post("/v1/score", json=body).status_code == 200
        except httpx.HTTPError:
            ok = False
        return time.perf_counter() - due, ok

    with ThreadPoolExecutor(max_workers=len(clients)) as pool:
        results = list(pool.map(one, range(total)))
    elapsed = time.perf_counter() - start
    for client in clients:
        client.close()
    latencies = [r[0] for r in results]
    return {
        "requests": total,
        "errors": sum(not r[1] for r in results),
        "achieved_rps": round(total / elapsed, 1),
        "p50_ms": quantile_ms(latencies, 0.5),
        "p99_ms": quantile_ms(latencies, 0.99),
        "max_ms": round(max(latencies) * 1000, 1),
    }


STAFF_RAMP = (10.0, 20.0, 40.0, 70.0, 100.0, 140.0)
STAFF_P99_GOAL = 0.2
CLIENT_TIMEOUT = 10.0


def staff_requests(
    sandbox: Sandbox, base: str, ids: list[str]
) -> list[tuple[str, str, dict, dict | None]]:
    """The mixed staff workload, one cycle: (method, path, headers, json body); the leads
    opened are the Haidian staff key's own."""
    system = {"Authorization": f"Bearer {sandbox.keys['system']}"}
    staff = {"Authorization": f"Bearer {sandbox.keys['staff:Haidian']}"}
    own = httpx.get(
        f"{base}/v1/leads",
        params={"district": "Haidian", "page_size": 500},
        headers=staff,
        timeout=60,
    ).json()["items"]
    leads = [item["id"] for item in own]
    out = []
    for i, entity in enumerate(ids[:50]):
        lead = leads[i % len(leads)]
        out += [
            (
                "POST",
                "/v1/score",
                system,
                {"scenario": SCENARIO, "entity_ids": [entity], "explain_top": 1},
            ),
            ("GET", "/v1/leads?district=Haidian&page_size=20", staff, None),
            ("GET", f"/v1/leads/{lead}", staff, None),
        ]
    return out


async def open_loop(base: str, plan: list, rate: float, seconds: float) -> list[dict]:
    """Send ``plan`` (cycled) at ``rate`` per second for ``seconds`` with the lean load
    generator (``loadgen``); per request: when it was due, latency from then, status."""
    return await loadgen.open_loop(base, plan, rate, seconds, CLIENT_TIMEOUT)


def summary(results: list[dict]) -> dict:
    """Counts by status and latency quantiles of one phase."""
    latencies = [r["latency"] for r in results]
    codes: dict[str, int] = {}
    for r in results:
        codes[str(r["status"])] = codes.get(str(r["status"]), 0) + 1
    return {
        "n": len(results),
        "statuses": " ".join(f"{k}:{v}" for k, v in sorted(codes.items())),
        "ok": codes.get("200", 0),
        "timeouts": codes.get("timeout", 0),
        "p50_ms": quantile_ms(latencies, 0.5),
        "p99_ms": quantile_ms(latencies, 0.99),
        "max_ms": round(max(latencies) * 1000, 1),
    }


def recovery_seconds(results: list[dict]) -> float | None:
    """Seconds from the start of a phase until its first one-second window that is all 200
    with p99 within the goal (None: never)."""
    for second in range(int(max(r["due"] for r in results)) + 1):
        window = [r for r in results if second <= r["due"] < second + 1]
        if (
            window
            and all(r["status"] == 200 for r in window)
            and np.quantile([r["latency"] for r in window], 0.99) <= STAFF_P99_GOAL
        ):
            return float(second)
    return None


def staff_workload(sandbox: Sandbox, base: str, ids: list[str], quick: bool) -> list[dict]:
    """Sustained rate of the mixed staff workload, 5x overload, and recovery."""
    plan = staff_requests(sandbox, base, ids)
    step = 3.0 if quick else 5.0
    rows, sustained = [], None
    asyncio.run(open_loop(base, plan, 10.0, 2.0))  # warm-up: SHAP, evidence, connections
    for rate in STAFF_RAMP:
        got = summary(asyncio.run(open_loop(base, plan, rate, step)))
        rows.append({"case": f"staff mix ramp {rate:g}/s for {step:g} s", **got})
        if got["ok"] != got["n"] or got["p99_ms"] > STAFF_P99_GOAL * 1000:
            break
        sustained = rate
    if sustained is None:
        return rows
    over_s = 5.0 if quick else 20.0
    over = asyncio.run(open_loop(base, plan, 5 * sustained, over_s))
    got = summary(over)
    answered = sum(r["status"] in (200, 429, 503) and r["latency"] <= 1.0 for r in over)
    rows.append(
        {
            "case": f"staff mix 5x sustained ({5 * sustained:g}/s) for {over_s:g} s",
            **got,
            "answered_within_1s": answered,
        }
    )
    after = asyncio.run(open_loop(base, plan, sustained, 10.0))
    rows.append(
        {
            "case": f"staff mix back at {sustained:g}/s after the overload",
            **summary(after),
            "recovery_s": recovery_seconds(after),
        }
    )
    rows.append({"case": "staff mix sustained (p99 <= 200 ms, no error)", "rate_per_s": sustained})
    return rows


def staff_ids(sandbox: Sandbox) -> list[str]:
    """The entities the measurements score: 500 of the feature table, the same every run."""
    table = pd.read_parquet(sandbox.features_dir / f"{SCENARIO}.parquet")
    return table["entity_id"].sample(500, random_state=1).tolist()


def measure(sandbox: Sandbox, base: str, quick: bool) -> list[dict]:
    """The three measurements against a started server."""
    table = pd.read_parquet(sandbox.features_dir / f"{SCENARIO}.parquet")
    ids = staff_ids(sandbox)
    headers = {"Authorization": f"Bearer {sandbox.keys['system']}"}
    rows: list[dict[str, Any]] = []
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        single_latencies(client, ids, 10)  # warm-up: first SHAP, connection
        lat = single_latencies(client, ids, 60 if quick else 300)
        rows.append(
            {
                "case": "single entity, explained",
                "n": len(lat),
                "p50_ms": quantile_ms(lat, 0.5),
                "p99_ms": quantile_ms(lat, 0.99),
            }
        )
        score_all(client, len(table))  # warm-up
        score_all(client, len(table), "arrow")
        runs = interleaved(client, sandbox, table)
    med = statistics.median
    plain, plain_one = med(runs.plain), med(runs.plain_one)
    for label, layout, seconds in (
        ("JSON", "columns", med(runs.served)),
        ("Arrow stream", "arrow", med(runs.arrow)),
    ):
        rows.append(
            {
                "case": f"score all + reasons top {EXPLAIN_TOP} (HTTP, {label}, end to end)",
                "n": len(table),
                "seconds": round(seconds, 3),
                "rows_per_s": round(len(table) / seconds),
                "vs_plain_lightgbm": round(plain / seconds, 3),
                "vs_plain_1_thread": round(plain_one / seconds, 3),
                **runs.phase_ms(layout),
            }
        )
    for label, seconds in (
        (f"{runs.threads} threads, the service's", plain),
        ("1 thread", plain_one),
    ):
        rows.append(
            {
                "case": f"plain in-process LightGBM predict (same rows, {label})",
                "n": len(table),
                "seconds": round(seconds, 3),
                "rows_per_s": round(len(table) / seconds),
            }
        )
    # the fixed rate is a quarter of what one client achieves back to back (p50 latency), at
    # most 25/s, so the load tests steady service below saturation on a shared machine
    rate = round(min(25.0, 0.25 / (rows[0]["p50_ms"] / 1000)), 1)
    seconds = 5.0 if quick else 60.0
    load = fixed_rate(base, headers, ids, rate, seconds)
    rows.append(
        {
            "case": f"fixed rate {rate}/s for {seconds:.0f} s, explained single",
            "n": load.pop("requests"),
            **load,
        }
    )
    rows += staff_workload(sandbox, base, ids, quick)
    load_avg = round(os.getloadavg()[0], 1)  # the machine may be shared: say how busy it was
    return [{**row, "load_avg": load_avg} for row in rows]


def run(quick: bool) -> list[dict]:
    """Build a sandbox of 100,000 (quick: 10,000) entities, serve it, measure."""
    n = 10_000 if quick else 100_000
    with tempfile.TemporaryDirectory(prefix="bench-serving-") as tmp:
        sandbox = build(
            Path(tmp) / "sbx", entities=n, leads_per_district=2, staff_districts=("Haidian",)
        )
        env = {
            **sandbox.env(refresh_seconds=30.0),
            "BENTOML_HOME": str(Path(tmp) / "bentoml"),
            # one staff key stands in for a roomful of staff (each with a key of their own in
            # production), so the per-key rate is raised: what is measured is the service's
            # capacity and its admission control, not one key's limit (tests cover that 429)
            "SERVING_RATE_PER_MINUTE": "600000",
            "SERVING_RATE_BURST": "20000",
        }
        with running_service(env, Path(tmp) / "serve.log", workers=1) as base:
            rows = [{**row, "workers": 1} for row in measure(sandbox, base, quick)]
        # the staff mix again with two worker processes (one per core of the 2-core target)
        with running_service(env, Path(tmp) / "serve2.log", workers=2) as base:
            ids = staff_ids(sandbox)
            load_avg = round(os.getloadavg()[0], 1)
            rows += [
                {**row, "workers": 2, "load_avg": load_avg}
                for row in staff_workload(sandbox, base, ids, quick)
            ]
        return rows
