"""Admission control in front of the Bento's typed endpoints (``/bento/score``, ``/bento/explain``).

They are BentoML's routes, outside the mounted app, so they have their own ``Admission``
middleware sharing the mounted app's capacity and per-key budget (``serving.admission``). The
service runs as ``bentoml serve`` of this checkout on a free loopback port (real registry, lead
store and feature table of the sandbox), with one score slot, no queue and a per-key burst of
12 requests refilled at 1 a minute, set through the documented environment variables.
"""

from __future__ import annotations

import re
import threading

import httpx
import pandas as pd
import pytest

from serving.launch import running_service
from serving.sandbox import SCENARIO, cached

BURST = 12


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory):
    template = tmp_path_factory.getbasetemp() / "serving-sandbox-template"
    return cached(template, tmp_path_factory.mktemp("bento-admission") / "sbx")


@pytest.fixture(scope="module")
def server(sandbox, tmp_path_factory):
    folder = tmp_path_factory.mktemp("bento-admission-serve")
    env = {
        **sandbox.env(refresh_seconds=60.0),
        "BENTOML_HOME": str(folder / "bentoml"),
        "SERVING_CONCURRENCY_SCORE": "1",
        "SERVING_QUEUE_SCORE": "0",
        "SERVING_QUEUE_TIMEOUT_SECONDS": "0",
        "SERVING_RATE_PER_MINUTE": "1",
        "SERVING_RATE_BURST": str(BURST),
    }
    with running_service(env, folder / "serve.log") as base:
        yield base


def key(sandbox, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {sandbox.keys[who]}"}


def refusals(base: str, status: str) -> float:
    """``supervision_refusals_total`` of the score class with ``status`` in ``/metrics``."""
    text = httpx.get(f"{base}/metrics", timeout=30).text
    pattern = (
        rf'^supervision_refusals_total\{{(?=[^}}]*route_class="score")'
        rf'(?=[^}}]*status="{status}")[^}}]*\}} (\S+)$'
    )
    return sum(float(m.group(1)) for m in re.finditer(pattern, text, re.MULTILINE))


def test_bento_requests_beyond_the_score_slot_are_refused_at_once(server, sandbox) -> None:
    table = pd.read_parquet(sandbox.features_dir / f"{SCENARIO}.parquet")
    body = {
        "scenario": SCENARIO,
        "entity_ids": table["entity_id"].head(500).tolist(),
        "max_reasons": 3,
    }
    before = refusals(server, "503")
    start = threading.Barrier(8)
    answers: list[httpx.Response] = []

    def explain() -> None:
        with httpx.Client(timeout=120) as client:
            client.get(f"{server}/livez")  # connected before the barrier
            start.wait()
            answers.append(
                client.post(f"{server}/bento/explain", json=body, headers=key(sandbox, "system"))
            )

    threads = [threading.Thread(target=explain) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    codes = sorted(a.status_code for a in answers)
    assert codes.count(200) >= 1 and codes.count(503) >= 1, codes
    assert set(codes) <= {200, 503}, codes
    for refused in (a for a in answers if a.status_code == 503):
        assert int(refused.headers["retry-after"]) >= 1
        assert "capacity for score" in refused.json()["error"]
        assert refused.json()["status"] == 503
    assert refusals(server, "503") - before == codes.count(503)  # seen in /metrics, once


def test_metrics_show_every_sample_once(server) -> None:
    """A series repeated in one scrape makes Prometheus refuse the whole scrape."""
    text = httpx.get(f"{server}/metrics", timeout=30).text
    series = [
        line.rsplit(" ", 1)[0] for line in text.splitlines() if line and not line.startswith("#")
    ]
    repeated = sorted({s for s in series if series.count(s) > 1})
    assert not repeated, repeated[:5]
    assert any(s.startswith("supervision_refusals_total") for s in series)
    assert any(s.startswith("supervision_served_version") for s in series)


def test_bento_and_v1_share_one_request_budget_per_key(server, sandbox) -> None:
    admin = key(sandbox, "admin")
    score = {"scenario": SCENARIO, "all_entities": True}
    with httpx.Client(base_url=server, headers=admin, timeout=60) as client:
        codes = [client.post("/bento/score", json=score).status_code for _ in range(BURST - 1)]
        codes.append(client.post("/v1/score", json=score).status_code)  # the burst's last
        over_bento = client.post("/bento/score", json=score)
        over_v1 = client.post("/v1/score", json=score)
    assert codes == [200] * BURST, codes
    for over in (over_bento, over_v1):
        assert over.status_code == 429 and "per minute per key" in over.json()["error"]
        assert int(over.headers["retry-after"]) >= 1
    other = httpx.post(
        f"{server}/bento/score", json=score, headers=key(sandbox, "data_scientist"), timeout=60
    )
    assert other.status_code == 200  # another key's budget is its own
