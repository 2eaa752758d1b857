"""The model ledger on a real MLflow sqlite store: gate, dual certification, promotion,
retirement by conversion, and the scoring pyfunc."""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from training import model_registry as reg
from training.ledger_retire import VersionCounts, review_conversion
from training.lifecycle import GateInput, approve, certify_demo, gate_candidate, mark_baseline
from training.mlflow_setup import experiment_id, open_client, resolve
from training.pyfunc import load_columns, load_estimator, log_scoring_model
from training.train_policy import Policy

SCENARIO = "toy"
POLICY = Policy(k=40, floor=0.3, bar=0.2, min_verified=30, n_boot=300)


@pytest.fixture(scope="module")
def toy_data() -> tuple[pd.DataFrame, np.ndarray]:
    """A tiny labelled frame: the label depends on feature ``a``."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(300, 3)), columns=["a", "b", "c"])
    y = (X["a"] + 0.3 * rng.normal(size=300) > 0.8).astype(int).to_numpy()
    return X, y


@pytest.fixture()
def store(tmp_path, monkeypatch, toy_data):
    """A fresh sqlite store with one logged pyfunc whose URI every test may register."""
    monkeypatch.delenv("SUPERVISION_REQUIRE_REAL_APPROVALS", raising=False)
    settings = resolve(root=tmp_path)
    client = open_client(settings)
    X, y = toy_data
    model = LogisticRegression().fit(X, y)
    exp = experiment_id(client, reg.model_name(SCENARIO), settings)
    with mlflow.start_run(experiment_id=exp):
        ref = log_scoring_model(model, list(X.columns), X)
    return client, settings, ref


def _register(store, kind: str = "scorer") -> int:
    client, _, ref = store
    return reg.register_version(client, SCENARIO, ref.model_uri, ref.run_id, {"kind": kind})


def _good_gate(y: np.ndarray, strength: float, seed: int = 1) -> np.ndarray:
    """Scores that rank cases first with some noise; higher strength = better."""
    rng = np.random.default_rng(seed)
    return strength * y + rng.normal(size=len(y))


def test_store_lives_under_the_root(tmp_path, store):
    client, settings, _ = store
    assert settings.tracking_uri == f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"
    assert (tmp_path / "mlruns" / "mlflow.db").exists()
    assert str(settings.artifact_root).startswith(str(tmp_path / "mlruns"))


def test_plain_folder_store_is_refused(tmp_path):
    with pytest.raises(ValueError, match="plain-folder"):
        resolve(root=tmp_path, tracking_uri=f"file://{tmp_path}")


def test_pyfunc_returns_scores_and_probabilities_not_labels(store, toy_data):
    client, _, ref = store
    X, _ = toy_data
    version = _register(store)
    loaded = mlflow.pyfunc.load_model(f"models:/{reg.model_name(SCENARIO)}/{version}")
    out = loaded.predict(X.head(50))
    assert list(out.columns) == ["score", "probability"]
    assert not set(np.unique(out["score"])) <= {0, 1}, "scores must not be class labels"
    assert out["probability"].between(0, 1).all()
    native = load_estimator(ref.model_uri)
    np.testing.assert_allclose(out["score"], native.decision_function(X.head(50)))
    assert load_columns(ref.model_uri) == ["a", "b", "c"]
    assert loaded.metadata.get_input_schema() is not None
    with pytest.raises(Exception, match="c"):
        loaded.predict(X[["a", "b"]].head(5))


def test_gate_drops_a_candidate_below_the_floor(store, toy_data):
    client, _, _ = store
    _, y = toy_data
    version = _register(store)
    noise = np.random.default_rng(5).normal(size=len(y)) - 3 * y  # ranks cases last
    decision = gate_candidate(client, SCENARIO, version, GateInput(y, noise), POLICY)
    assert decision.lifecycle == reg.DROPPED
    tags = reg.get_version(client, SCENARIO, version).tags
    assert tags["lifecycle"] == "dropped"
    assert tags["gate.metric"] == "precision_at_40"
    assert float(tags["gate.value"]) < POLICY.floor
    assert tags["gate.threshold"] == str(POLICY.floor)
    assert tags["gate.n"] == str(len(y)) and tags["gate.method"] == "floor"
    assert tags["gate.interval"].startswith("[") and tags["gate.decided_by"]
    assert tags["gate.decided_at"] and "below the floor" in tags["gate.reason"]
    assert reg.alias_version(client, SCENARIO, reg.CHALLENGER) is None


def test_first_good_candidate_becomes_champion_after_demo_certification(store, toy_data):
    client, _, _ = store
    _, y = toy_data
    version = _register(store)
    decision = gate_candidate(client, SCENARIO, version, GateInput(y, _good_gate(y, 4)), POLICY)
    assert decision.lifecycle == reg.CHALLENGER
    assert reg.alias_version(client, SCENARIO, reg.CHALLENGER) == version
    assert reg.alias_version(client, SCENARIO, reg.CHAMPION) is None
    certify_demo(client, SCENARIO, version)
    tags = reg.get_version(client, SCENARIO, version).tags
    assert tags["lifecycle"] == "champion" and tags["approval_kind"] == "demo"
    for line in ("business", "data"):
        assert tags[f"approval.{line}.by"] == "demo-auto"
        assert tags[f"approval.{line}.kind"] == "demo" and tags[f"approval.{line}.at"]
    assert reg.alias_version(client, SCENARIO, reg.CHAMPION) == version
    assert reg.alias_version(client, SCENARIO, reg.CHALLENGER) is None


def _champion(store, y: np.ndarray, strength: float = 2.0) -> tuple[int, np.ndarray]:
    client, _, _ = store
    scores = _good_gate(y, strength)
    version = _register(store)
    gate_candidate(client, SCENARIO, version, GateInput(y, scores), POLICY)
    certify_demo(client, SCENARIO, version)
    return version, scores


def test_gate_drops_a_candidate_not_better_than_the_champion(store, toy_data):
    client, _, _ = store
    _, y = toy_data
    champ, champ_scores = _champion(store, y)
    version = _register(store)
    same = champ_scores + 1e-9  # same ranking: meets the floor, but no better
    decision = gate_candidate(client, SCENARIO, version, GateInput(y, same, champ_scores), POLICY)
    assert decision.lifecycle == reg.DROPPED
    tags = reg.get_version(client, SCENARIO, version).tags
    assert float(tags["gate.value"]) >= POLICY.floor
    assert tags["gate.method"] == "paired_bootstrap" and tags["gate.champion_version"] == str(champ)
    assert "not better than champion" in tags["gate.reason"]
    assert reg.alias_version(client, SCENARIO, reg.CHAMPION) == champ


def test_average_precision_gate_separates_what_a_saturated_top_k_cannot(store):
    """Where most backtest rows are cases (real procurement data), every model's top k is right,
    so precision@k calls a clearly better candidate "not better"; average precision does not."""
    from dataclasses import replace

    from training.gate_metrics import compare_to_champion

    client, _, _ = store
    rng = np.random.default_rng(3)
    y = (rng.random(2000) < 0.55).astype(int)
    weak, strong = 2.0 * y + rng.normal(size=2000), 3.0 * y + rng.normal(size=2000)
    at_k = compare_to_champion(y, strong, weak, k=40, n_boot=200)
    assert at_k.diff_low <= 0  # both top-40s are (nearly) all cases: no difference beyond noise
    policy = replace(POLICY, metric="average_precision", floor=0.6)
    champ = _register(store)
    gate_candidate(client, SCENARIO, champ, GateInput(y, weak), policy)
    certify_demo(client, SCENARIO, champ)
    version = _register(store)
    decision = gate_candidate(client, SCENARIO, version, GateInput(y, strong, weak), policy)
    tags = reg.get_version(client, SCENARIO, version).tags
    assert decision.lifecycle == reg.CHALLENGER, tags["gate.reason"]
    assert tags["gate.metric"] == "average_precision" and "gate.k" not in tags
    low, high = map(float, tags["gate.interval"].strip("[]").split(","))
    assert low < float(tags["gate.value"]) < high
    assert float(tags["gate.diff_interval"].strip("[]").split(",")[0]) > 0
    # the same candidate judged against itself is not better
    again = _register(store)
    same = gate_candidate(client, SCENARIO, again, GateInput(y, weak + 1e-9, weak), policy)
    assert same.lifecycle == reg.DROPPED


def test_an_unknown_gate_metric_is_refused(store, toy_data):
    from dataclasses import replace

    client, _, _ = store
    _, y = toy_data
    with pytest.raises(ValueError, match="metric must be one of .* got 'recall'"):
        gate_candidate(
            client,
            SCENARIO,
            _register(store),
            GateInput(y, _good_gate(y, 2.0)),
            replace(POLICY, metric="recall"),
        )


def test_interval_overlap_when_the_champion_cannot_score_the_rows(store, toy_data):
    client, _, _ = store
    _, y = toy_data
    _champion(store, y, strength=2.0)
    version = _register(store)
    decision = gate_candidate(
        client, SCENARIO, version, GateInput(y, _good_gate(y, 2.2, 9)), POLICY
    )
    assert decision.lifecycle == reg.DROPPED
    assert reg.get_version(client, SCENARIO, version).tags["gate.method"] == "interval_overlap"


def test_certification_needs_both_lines_and_supersedes_the_champion(store, toy_data):
    client, _, _ = store
    _, y = toy_data
    champ, champ_scores = _champion(store, y, strength=0.8)
    version = _register(store)
    better = _good_gate(y, 6, seed=3)
    decision = gate_candidate(client, SCENARIO, version, GateInput(y, better, champ_scores), POLICY)
    assert decision.lifecycle == reg.CHALLENGER, decision.reason
    first = approve(client, SCENARIO, version, "business", "Li Wei", note="leads look sound")
    assert first.lifecycle == reg.CHALLENGER and "awaiting data" in first.reason
    assert reg.alias_version(client, SCENARIO, reg.CHAMPION) == champ
    approve(client, SCENARIO, version, "data", "Zhang Min")
    tags = reg.get_version(client, SCENARIO, version).tags
    assert tags["lifecycle"] == "champion" and tags["approval_kind"] == "real"
    assert tags["approval.business.by"] == "Li Wei"
    assert tags["approval.business.note"] == "leads look sound"
    assert reg.alias_version(client, SCENARIO, reg.CHAMPION) == version
    old = reg.get_version(client, SCENARIO, champ).tags
    assert old["lifecycle"] == "challenger" and old["superseded_by"] == str(version)


def test_mandatory_real_approvals_refuse_demo(store, toy_data, monkeypatch):
    client, _, _ = store
    _, y = toy_data
    version = _register(store)
    gate_candidate(client, SCENARIO, version, GateInput(y, _good_gate(y, 4)), POLICY)
    monkeypatch.setenv("SUPERVISION_REQUIRE_REAL_APPROVALS", "1")
    with pytest.raises(PermissionError, match="mandatory"):
        certify_demo(client, SCENARIO, version)
    tags = reg.get_version(client, SCENARIO, version).tags
    assert "approval.business.by" not in tags and tags["lifecycle"] == "challenger"
    approve(client, SCENARIO, version, "business", "Li Wei")
    approve(client, SCENARIO, version, "data", "Zhang Min")
    assert reg.alias_version(client, SCENARIO, reg.CHAMPION) == version


def test_illegal_transitions_and_bad_approvals_are_refused(store, toy_data):
    client, _, _ = store
    _, y = toy_data
    version = _register(store)
    with pytest.raises(reg.LifecycleError, match="only a challenger"):
        approve(client, SCENARIO, version, "business", "Li Wei")
    gate_candidate(client, SCENARIO, version, GateInput(y, -_good_gate(y, 4)), POLICY)
    with pytest.raises(reg.LifecycleError, match="dropped -> champion"):
        reg.set_lifecycle(client, SCENARIO, version, reg.CHAMPION, {})
    with pytest.raises(ValueError, match="approval line"):
        approve(client, SCENARIO, version, "finance", "Li Wei")
    with pytest.raises(ValueError, match="approver"):
        approve(client, SCENARIO, version, "data", "  ")
    with pytest.raises(reg.LifecycleError, match="no version 99"):
        reg.get_version(client, SCENARIO, 99)


def test_retirement_moves_champion_back_then_to_the_detector(store, toy_data):
    client, settings, _ = store
    _, y = toy_data
    v1, s1 = _champion(store, y, strength=0.8)
    v2 = _register(store)
    gate_candidate(client, SCENARIO, v2, GateInput(y, _good_gate(y, 6, 3), s1), POLICY)
    certify_demo(client, SCENARIO, v2)
    assert reg.alias_version(client, SCENARIO, reg.CHAMPION) == v2

    # Too few verified leads: a bad rate alone does not retire.
    few = [VersionCounts(v2, issued=40, verified=10, cases=0)]
    assert review_conversion(client, SCENARIO, settings, few, POLICY, step=0) == []
    bad = [
        VersionCounts(v2, issued=120, verified=80, cases=4),
        VersionCounts(v1, issued=50, verified=40, cases=14),
    ]
    decisions = review_conversion(client, SCENARIO, settings, bad, POLICY, step=1)
    assert [d.lifecycle for d in decisions] == ["retired", "champion"]
    tags = reg.get_version(client, SCENARIO, v2).tags
    assert tags["lifecycle"] == "retired" and tags["retire.metric"] == "conversion"
    assert tags["retire.n_verified"] == "80" and tags["retire.threshold"] == str(POLICY.bar)
    assert float(tags["retire.interval"].strip("[]").split(",")[1]) < POLICY.bar
    assert reg.alias_version(client, SCENARIO, reg.CHAMPION) == v1

    detector = _register(store, kind="detector")
    mark_baseline(client, SCENARIO, detector)
    worse = [VersionCounts(v1, issued=150, verified=120, cases=6)]
    decisions = review_conversion(client, SCENARIO, settings, worse, POLICY, step=2)
    assert reg.alias_version(client, SCENARIO, reg.CHAMPION) == detector
    assert "no certified version left" in decisions[-1].reason
    assert reg.get_version(client, SCENARIO, detector).tags["champion.reason"].startswith("v1")

    run_id = reg.model_tags(client, SCENARIO)["monitoring_run_id"]
    history = client.get_metric_history(run_id, f"conversion_v{v1}")
    assert [m.step for m in history] == [1, 2]
    assert history[-1].value == pytest.approx(6 / 120)


def test_retirement_with_nothing_left_uses_the_fallback(store, toy_data):
    client, settings, _ = store
    _, y = toy_data
    v1, _ = _champion(store, y)

    def fallback() -> int:
        version = _register(store, kind="detector")
        mark_baseline(client, SCENARIO, version)
        return version

    counts = [VersionCounts(v1, issued=100, verified=60, cases=1)]
    review_conversion(client, SCENARIO, settings, counts, POLICY, step=0, fallback=fallback)
    champion = reg.alias_version(client, SCENARIO, reg.CHAMPION)
    assert champion is not None and champion != v1
    assert reg.get_version(client, SCENARIO, champion).tags["kind"] == "detector"


def test_approve_cli_records_both_lines_and_refuses_bad_input(store, toy_data, tmp_path, capsys):
    from training.approve import main as approve_main

    client, _, _ = store
    _, y = toy_data
    version = _register(store)
    gate_candidate(client, SCENARIO, version, GateInput(y, _good_gate(y, 4)), POLICY)
    base = ["--root", str(tmp_path), "--scenario", SCENARIO, "--version", str(version)]
    assert approve_main([*base, "--line", "business", "--approver", "Li Wei"]) == 0
    assert "awaiting data" in capsys.readouterr().out
    assert (
        approve_main(
            [*base, "--line", "data", "--approver", "Zhang Min", "--note", "sources checked"]
        )
        == 0
    )
    assert reg.alias_version(client, SCENARIO, reg.CHAMPION) == version
    assert approve_main([*base, "--line", "data", "--approver", "Zhang Min"]) == 2
    assert "only a challenger" in capsys.readouterr().err
    assert (
        approve_main(
            [
                "--root",
                str(tmp_path),
                "--scenario",
                "nope",
                "--version",
                "1",
                "--line",
                "data",
                "--approver",
                "X",
            ]
        )
        == 2
    )


def test_ledger_joins_registry_and_lead_store(store, toy_data, tmp_path, capsys):
    from datetime import date

    from leads.runs import LeadRun
    from leads.store import LeadStore
    from training.ledger import ledger_rows
    from training.ledger import main as ledger_main

    client, settings, _ = store
    _, y = toy_data
    dropped = _register(store)
    gate_candidate(client, SCENARIO, dropped, GateInput(y, -_good_gate(y, 4)), POLICY)
    champ, _ = _champion(store, y, strength=4)
    leads = pd.DataFrame(
        {
            "entity_id": [f"e{i}" for i in range(7)],
            "district": "Haidian",
            "score": np.linspace(1, 0, 7),
            "rank": range(1, 8),
        }
    )
    lead_store = LeadStore.open(f"sqlite:///{tmp_path / 'leads.db'}")
    try:
        lead_store.upsert_leads(
            LeadRun.from_frame(
                leads,
                run_id="r1",
                scenario=SCENARIO,
                model_name=reg.model_name(SCENARIO),
                model_version=str(champ),
                as_of=date(2025, 6, 30),
            )
        )
        rows = {r.version: r for r in ledger_rows(client, lead_store)}
    finally:
        lead_store.close()
    assert rows[champ].issued == 7 and rows[champ].verified == 0 and rows[champ].conversion is None
    assert rows[champ].lifecycle == "champion" and rows[champ].aliases == "champion"
    assert rows[champ].business_approval.startswith("demo-auto (")
    assert rows[dropped].lifecycle == "dropped" and "below the floor" in rows[dropped].reason
    assert rows[dropped].metric == "precision_at_40" and rows[dropped].backtest_n == len(y)

    review_conversion(
        client,
        SCENARIO,
        settings,
        [VersionCounts(champ, issued=50, verified=40, cases=18)],
        POLICY,
        step=0,
    )
    out = tmp_path / "ledger.json"
    assert ledger_main(["--root", str(tmp_path), "--no-store", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "champion" in printed and "dropped" in printed and "0.45 [" in printed
    import json

    doc = {r["version"]: r for r in json.loads(out.read_text())}
    assert doc[champ]["cases"] == 18 and doc[champ]["conversion"] == pytest.approx(0.45)
    assert doc[champ]["conversion_low"] < 0.45 < doc[champ]["conversion_high"]
