"""The closed loop on a small drifted pool: leads issued monthly by the champion, verified by the
simulated staff, conversion logged to MLflow over time, retirement when the interval falls below
the bar, the champion alias moving, and a retrained version taking over.

The bar is set above what this small pool's champion converts, so retirement is certain to happen
within the few simulated months a test can afford; the mechanism is the same at any bar."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from training import registry as reg
from training.mlflow_setup import open_client, resolve
from training.train_policy import policy_for

SCENARIO = "fuel_tax"


@pytest.fixture(scope="module")
def loop_run(tmp_path_factory):
    from pool.build import build
    from pool.spec import SimConfig
    from training.loop import run_loop

    base = tmp_path_factory.mktemp("loop")
    data = base / "data"
    build(SimConfig(seed=42, scale=0.25, drift_month=24), data, [SCENARIO])
    policy = replace(policy_for(SCENARIO), floor=0.0, capacity=3, min_verified=10, bar=0.9)
    steps = run_loop(SCENARIO, str(data), base, f"sqlite:///{base / 'leads.db'}",
                     date(2024, 12, 31), months=3, seed=42, policy=policy)
    return base, steps


def test_conversion_is_logged_every_month(loop_run):
    base, steps = loop_run
    client = open_client(resolve(root=base))
    assert len(steps) == 3
    assert steps[0].verified > 0 and steps[0].issued >= steps[0].verified
    run_id = reg.model_tags(client, SCENARIO)["monitoring_run_id"]
    first = steps[0].champion
    history = client.get_metric_history(run_id, f"verified_v{first}")
    assert [m.step for m in history][0] == 0 and len(history) >= 1
    assert all(0 <= s.low <= s.high <= 1 for s in steps)


def test_the_champion_is_retired_and_a_retrained_version_takes_over(loop_run):
    base, steps = loop_run
    client = open_client(resolve(root=base))
    retired_steps = [s for s in steps if s.event.startswith("retired")]
    assert retired_steps, [s.event for s in steps]
    first = steps[0].champion
    tags = reg.get_version(client, SCENARIO, first).tags
    assert tags["lifecycle"] == "retired" and tags["retire.metric"] == "conversion"
    assert int(tags["retire.n_verified"]) >= 10
    assert float(tags["retire.interval"].strip("[]").split(",")[1]) < 0.9
    assert "retrained" in retired_steps[0].event
    versions = reg.list_versions(client, SCENARIO)
    retrained = [v for v in versions if v.version > first and v.tags.get("kind") == "scorer"]
    assert retrained, "a new scorer version was trained after the retirement"
    assert retrained[0].tags["as_of"] > tags["as_of"]
    champion = reg.alias_version(client, SCENARIO, reg.CHAMPION)
    assert champion is not None and champion != first
