"""The train job end to end on a small simulated pool, against a real MLflow sqlite store and a
real SQLite lead store: registration, gate, demo certification, leads out, determinism, and a
pool that fails validation registering nothing."""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import replace
from pathlib import Path

import mlflow
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from training import model_registry as reg
from training.mlflow_setup import open_client, resolve
from training.train_policy import policy_for

pytestmark = (
    pytest.mark.slow
)  # minutes, not seconds (trains, serves or benchmarks): make test-fast skips it

SCENARIO = "fuel_tax"
# The small pool has ~10 backtest rows: the floor is lowered so the chain past the gate runs;
# the real floors are exercised by `make train` at SCALE 1.
LENIENT = {SCENARIO: replace(policy_for(SCENARIO), floor=0.0, capacity=3)}


@pytest.fixture(scope="module")
def pool_dir(tmp_path_factory) -> Path:
    """A small fuel_tax pool (scale 0.25), built once for the module."""
    from pool.build import build
    from pool.spec import SimConfig

    root = tmp_path_factory.mktemp("pool") / "data"
    build(SimConfig(seed=42, scale=0.25), root, [SCENARIO])
    return root


@pytest.fixture(scope="module")
def trained_twice(pool_dir, tmp_path_factory):
    """Two train runs with the same seed on the same pool and stores."""
    from training.train import run

    root = tmp_path_factory.mktemp("project")
    url = f"sqlite:///{root / 'leads.db'}"
    first, _ = run(
        [SCENARIO],
        str(pool_dir),
        seed=7,
        root=root,
        leads_url=url,
        policies=LENIENT,
        require_real=False,
    )
    second, job = run(
        [SCENARIO],
        str(pool_dir),
        seed=7,
        root=root,
        leads_url=url,
        policies=LENIENT,
        require_real=False,
    )
    return root, url, first[0], second[0], job


def test_first_run_registers_a_certified_champion_with_evidence(trained_twice):
    root, _, first, _, _ = trained_twice
    client = open_client(resolve(root=root))
    assert first.lifecycle == "champion" and first.champion == first.version
    tags = reg.get_version(client, SCENARIO, first.version).tags
    assert tags["approval_kind"] == "demo" and tags["approval.data.by"] == "demo-auto"
    for key in (
        "data_hash",
        "feature_set_hash",
        "code_version",
        "gate.metric",
        "gate.interval",
        "gate.n",
        "gate.decided_at",
    ):
        assert tags.get(key), key
    run = client.get_run(
        client.get_model_version(reg.model_name(SCENARIO), str(first.version)).run_id
    )
    for metric in (
        "precision_at_k",
        "precision_at_k_low",
        "precision_at_k_high",
        "average_precision",
        "n_holdout",
    ):
        assert metric in run.data.metrics
    assert run.data.metrics["precision_at_k_low"] <= run.data.metrics["precision_at_k"]
    files = {a.path for a in client.list_artifacts(run.info.run_id)}
    nested = {
        a.path
        for d in ("plots", "shap", "leads")
        for a in client.list_artifacts(run.info.run_id, d)
    }
    assert {"plots", "shap", "leads"} <= files
    assert {
        "plots/precision_at_k.png",
        "plots/pr_curve.png",
        "shap/shap_summary.png",
        "leads/ranked_leads_sample.csv",
    } <= nested


def test_served_pyfunc_scores_and_leads_reach_the_store(trained_twice, pool_dir):
    from features.build import build_features
    from leads.store import LeadStore

    root, url, first, _, _ = trained_twice
    open_client(resolve(root=root))
    model = mlflow.pyfunc.load_model(f"models:/{reg.model_name(SCENARIO)}@champion")
    frame = build_features(SCENARIO, "2025-06-30", str(pool_dir)).frame
    out = model.predict(frame.head(20))
    assert list(out.columns) == ["score", "probability"] and out["score"].nunique() > 2
    store = LeadStore.open(url)
    try:
        leads = store.list_leads(scenario=SCENARIO)
    finally:
        store.close()
    per_district = {}
    at_stake = frame.set_index("entity_id")["amount_at_stake"]
    for lead in leads:
        per_district[lead.district] = per_district.get(lead.district, 0) + 1
        assert lead.reasons and lead.reasons[0]["text"]
        # the declared estimate, written at lead creation, with its unit
        assert lead.amount_unit == "yuan"
        assert lead.amount == pytest.approx(at_stake[lead.entity_id])
        if lead.probability is not None:
            assert lead.probability_low <= lead.probability <= lead.probability_high
    assert any(lead.probability_low is not None for lead in leads)
    assert first.leads == len(leads) > 0
    assert max(per_district.values()) <= LENIENT[SCENARIO].capacity


def test_same_seed_same_metrics_and_the_rerun_is_not_better(trained_twice):
    _, _, first, second, job = trained_twice
    assert second.version > first.version  # the detector baseline was registered in between
    assert second.metrics == first.metrics
    assert second.lifecycle == "dropped" and "not better than champion" in second.changed
    changed = second.changed.split(";")[0]  # "code" may differ while others commit meanwhile
    assert "data" not in changed and "features" not in changed
    assert second.champion == first.version
    assert set(job.timings[SCENARIO]) >= {"features", "backtest", "fit", "mlflow"}
    # the gate's backtest took the point comparison's fit at the same cutoff (same rows)
    assert job.fits.hits == 1


def test_verified_leads_become_labels_of_the_next_run(pool_dir, tmp_path):
    """The loop closed on `make train`: leads written by one run, verified by the (simulated)
    units, are labels of the next run, even though they were verified after the pool's last
    day (they are about that day's data)."""
    from leads.simulate import open_simulated, simulate
    from training.train import run

    url = f"sqlite:///{tmp_path / 'leads.db'}"
    (first,), _ = run(
        [SCENARIO],
        str(pool_dir),
        seed=7,
        root=tmp_path,
        leads_url=url,
        policies=LENIENT,
        require_real=False,
    )
    store = open_simulated(url)
    try:
        simulate(store, pool_dir, days=90, seed=7)
        verified = {
            v.entity_id
            for status in ("case_filed", "no_case")
            for v in store.list_leads(scenario=SCENARIO, status=status)
        }
    finally:
        store.close()
    assert len(verified) >= 5
    (second,), _ = run(
        [SCENARIO],
        str(pool_dir),
        seed=7,
        root=tmp_path,
        leads_url=url,
        policies=LENIENT,
        require_real=False,
    )
    client = open_client(resolve(root=tmp_path))
    params = [
        client.get_run(reg.get_version(client, SCENARIO, o.version).run_id).data.params
        for o in (first, second)
    ]
    gained = int(params[1]["n_labelled"]) - int(params[0]["n_labelled"])
    assert 0 < gained <= len(verified)
    assert second.metrics != first.metrics


def test_a_candidate_below_the_floor_is_dropped_and_the_detector_serves(pool_dir, tmp_path):
    from training.train import run

    strict = {SCENARIO: replace(policy_for(SCENARIO), floor=1.0, capacity=2)}  # AP ~0.7
    outcomes, _ = run(
        [SCENARIO],
        str(pool_dir),
        seed=7,
        root=tmp_path,
        policies=strict,
        leads_url=f"sqlite:///{tmp_path / 'leads.db'}",
        require_real=False,
    )
    client = open_client(resolve(root=tmp_path))
    assert outcomes[0].lifecycle == "dropped"
    champion = reg.alias_version(client, SCENARIO, reg.CHAMPION)
    info = reg.get_version(client, SCENARIO, champion)
    assert (
        info.tags["kind"] == "detector"
        and "detector baseline serves" in info.tags["champion.reason"]
    )
    assert outcomes[0].leads > 0


def test_a_pool_failing_validation_registers_nothing(pool_dir, tmp_path, capsys):
    from training.train import main

    bad = tmp_path / "data"
    shutil.copytree(pool_dir, bad)
    path = bad / "pool" / SCENARIO / "company_registry.parquet"
    table = pq.read_table(path)
    district = table.column("district").to_pylist()
    district[0] = "Atlantis"
    index = table.schema.get_field_index("district")
    table = table.set_column(
        index,
        table.schema.field(index),
        pc.cast(pa.array(district), table.schema.field(index).type),
    )
    pq.write_table(table, path)
    # first net: the file no longer matches the build's manifest (exit 2: the input is refused)
    assert main(["--scenarios", SCENARIO, "--data", str(bad), "--root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "company_registry.parquet: sha256 differs" in err and "changed after the build" in err
    # second net: even with the manifest re-stamped, the schema names the column
    manifest = bad / "pool" / "manifest.json"
    doc = json.loads(manifest.read_text())
    doc["files"][f"pool/{SCENARIO}/company_registry.parquet"]["sha256"] = hashlib.sha256(
        path.read_bytes()
    ).hexdigest()
    manifest.write_text(json.dumps(doc))
    assert main(["--scenarios", SCENARIO, "--data", str(bad), "--root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "failed validation" in err and "district" in err
    db = tmp_path / "mlruns" / "mlflow.db"
    if db.exists():
        assert reg.list_scenarios(open_client(resolve(root=tmp_path))) == []
