"""The closed loop on a drifted pool, with the scenario's own policy (bar, floor, minimum
verified): leads issued monthly by the champion, verified by the simulated staff against the
per-month truth, conversion logged to MLflow over time, the champion's conversion decaying, its
retirement when the interval falls below the bar, the champion alias moving, and a version
retrained on what is known by then recovering.

Nothing is tuned to force the outcome: the loop starts two months before the pool's drift month
(18, 2024-07) and decay is judged against the champion's own measured conversion before it (the
intervals must not overlap). What decays, measured: once the stations the champion's signals can
see have cases filed (they are not flagged again), its remaining picks rarely convert; the same
run on a pool without drift decays the same way (see README), so the drift is not the cause."""

from __future__ import annotations

from datetime import date

import pytest

from training import registry as reg
from training.mlflow_setup import open_client, resolve
from training.train_policy import policy_for

SCENARIO = "fuel_tax"
DRIFT = date(2024, 7, 1)  # month 18 of a pool starting 2023-01
WINDOW = 3  # months of leads each conversion is measured on (run_loop's default)


@pytest.fixture(scope="module")
def loop_run(tmp_path_factory):
    from pool.build import build
    from pool.spec import SimConfig
    from training.loop import run_loop

    base = tmp_path_factory.mktemp("loop")
    data = base / "data"
    build(SimConfig(seed=42, scale=0.5, drift_month=18), data, [SCENARIO])
    steps = run_loop(SCENARIO, str(data), base, f"sqlite:///{base / 'leads.db'}",
                     date(2024, 5, 31), months=6, seed=42, policy=policy_for(SCENARIO),
                     window=WINDOW)
    return base, steps


def _pre_drift(steps):
    """The last step whose window holds only leads issued before the drift month."""
    return [s for s in steps if date.fromisoformat(s.month) < DRIFT][-1]


def _retirement(steps):
    retired = [s for s in steps if s.event.startswith("retired")]
    assert retired, [(s.month, s.conversion, s.event) for s in steps]
    return retired[0]


def test_conversion_is_logged_every_month(loop_run):
    base, steps = loop_run
    client = open_client(resolve(root=base))
    assert len(steps) == 6
    assert steps[0].verified > 0 and steps[0].issued >= steps[0].verified
    run_id = reg.model_tags(client, SCENARIO)["monitoring_run_id"]
    history = client.get_metric_history(run_id, f"verified_v{steps[0].champion}")
    assert [m.step for m in history][0] == 0 and len(history) >= 1
    assert all(0 <= s.low <= s.high <= 1 for s in steps)


def test_the_champion_decays_below_its_own_early_conversion(loop_run):
    _, steps = loop_run
    before, retired = _pre_drift(steps), _retirement(steps)
    assert before.champion == retired.champion and before.verified >= 30
    assert date.fromisoformat(retired.month) >= DRIFT
    # decay measured, not assumed: the post-drift interval lies wholly below the pre-drift one
    assert retired.high < before.low, (before, retired)


def test_the_champion_is_retired_at_the_scenarios_bar(loop_run):
    base, steps = loop_run
    client = open_client(resolve(root=base))
    policy = policy_for(SCENARIO)
    first = steps[0].champion
    tags = reg.get_version(client, SCENARIO, first).tags
    assert tags["lifecycle"] == "retired" and tags["retire.metric"] == "conversion"
    assert int(tags["retire.n_verified"]) >= policy.min_verified
    assert float(tags["retire.interval"].strip("[]").split(",")[1]) < policy.bar


def test_a_retrained_version_takes_over_and_recovers(loop_run):
    base, steps = loop_run
    client = open_client(resolve(root=base))
    retired = _retirement(steps)
    assert "retrained" in retired.event
    first = steps[0].champion
    versions = reg.list_versions(client, SCENARIO)
    retrained = [v for v in versions if v.version > first and v.tags.get("kind") == "scorer"]
    assert retrained, "a new scorer version was trained after the retirement"
    assert retrained[-1].tags["as_of"] > reg.get_version(client, SCENARIO, first).tags["as_of"]
    after = [s for s in steps if s.month > retired.month]
    assert after and after[0].champion == retrained[-1].version
    # recovery: its leads convert above what the retired champion's did at retirement, and
    # its interval does not lie below the bar
    assert after[0].verified > 0 and after[0].conversion > retired.high
    assert after[0].high >= policy_for(SCENARIO).bar


def test_a_verification_proves_only_evasion_in_the_period_the_lead_is_about(tmp_path):
    """With a per-month truth, a station that evaded long ago but is honest now is judged
    honest; one that evades in the recent months is judged an evader."""
    import pandas as pd

    from leads.simulate import evaded_in_period, load_monthly_truth

    periods = pd.date_range("2024-01-01", periods=12, freq="MS")
    monthly = pd.DataFrame({"entity_id": ["OLD"] * 12 + ["NOW"] * 12,
                            "period": list(periods) * 2,
                            "evading": [m < 3 for m in range(12)] + [m >= 9 for m in range(12)]})
    (tmp_path / "truth").mkdir()
    monthly.to_parquet(tmp_path / "truth" / f"{SCENARIO}_monthly.parquet")
    months = load_monthly_truth(tmp_path, SCENARIO)
    as_of = date(2024, 12, 31)
    assert evaded_in_period(months, "OLD", as_of, 6) is False
    assert evaded_in_period(months, "NOW", as_of, 6) is True
    assert evaded_in_period(months, "OLD", date(2024, 3, 31), 6) is True
    assert evaded_in_period(months, "NEVER", as_of, 6) is False
    assert evaded_in_period(None, "OLD", as_of, 6) is None
    monthly.drop(columns="evading").to_parquet(tmp_path / "truth" / f"{SCENARIO}_monthly.parquet")
    with pytest.raises(ValueError, match="evading"):
        load_monthly_truth(tmp_path, SCENARIO)
