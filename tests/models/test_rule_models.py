"""Rule models in the same ledger: an office's collision rules beside its learnt model.

An office folder in a temp directory holds the example learnt model (``social_insurance``) and
two rule models of the same supervision point, each in its own file, declared over the learnt
model's features through ``SupervisionModel.of(model_at(...), point=..., rules=...)``: the rule
model and its twin (the same rules under another name). One setting (``SUPERVISION_MODELS``)
names the folder; the train entry point trains all three (the rules: nothing to fit), gates and
certifies them, the overlap check flags the twin, the service's model hub serves the rule model
with the rules fired, its leads carry the rules' reasons, their outcomes become labels of the
point, and conversion retires it. Bad declarations are refused naming the rule and the field.
"""

from __future__ import annotations

import runpy
import shutil
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.model import SupervisionModel
from features.rules import Rule, RuleSet
from pool import discovery

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "social_insurance"
POINT = "social_insurance"

RULES_FILE = """
from pathlib import Path

from features.model import Policy, SupervisionModel
from features.rules import Rule, RuleSet
from pool.discovery import model_at

POINT = model_at(Path(__file__).with_name("model.py"))

MODEL = SupervisionModel.of(
    POINT, name="{name}", point=POINT.name, title="social insurance: the bureau's rules",
    rules=RuleSet(rules=(
        Rule("few_insured", "insured_to_paid", "<", 0.6,
             "insures {{value:.0%}} of the people it pays (rule: under {{threshold:.0%}}); "
             "district median {{peer:.0%}}", weight=2.0),
        Rule("months_uninsured", "months_uninsured", ">=", 3,
             "{{value:.0f}} months with wages but no contribution"),
    ), combine="weighted_sum", tie_break="base_to_wages"),
    policy=Policy(k=20, metric="average_precision", floor=0.05, capacity=5, holdout_months=4,
                  min_verified=5, bar=0.5, max_overlap=0.8),
)
"""


def office(folder: Path) -> Path:
    make = runpy.run_path(str(EXAMPLE / "make_exports.py"))
    make["write"](folder, make["exports"](300, 11))
    shutil.copy(EXAMPLE / "model.py", folder / "model.py")
    for name in ("si_rules", "si_rules_twin"):
        (folder / f"{name}.py").write_text(RULES_FILE.format(name=name), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    base = tmp_path_factory.mktemp("rules")
    folder = office(base / "office")
    patch = pytest.MonkeyPatch()
    patch.setenv(discovery.ENV_MODELS, str(folder))
    patch.delenv("SUPERVISION_DATA", raising=False)
    patch.delenv("LEADS_DB_URL", raising=False)
    discovery.reset()
    from training.train import main

    code = main(
        [
            "--scenarios",
            POINT,
            "si_rules",
            "si_rules_twin",
            "--data",
            str(base / "data"),
            "--root",
            str(base),
        ]
    )
    yield base, code
    patch.undo()
    discovery.reset()


def _client(base: Path):
    from training.mlflow_setup import open_client, resolve

    return open_client(resolve(root=base))


def _store(base: Path):
    from leads.db import default_url
    from leads.store import LeadStore

    return LeadStore.open(default_url(str(base / "data")))


def test_rule_model_is_trained_certified_and_served_like_any_version(trained) -> None:
    from features import registry
    from features.build import build_features
    from features.points import latest_as_of
    from serving.champions import ModelHub
    from serving.feature_cache import table_hash
    from training import model_registry as reg

    base, code = trained
    assert code == 0
    client = _client(base)
    version = reg.alias_version(client, "si_rules", reg.CHAMPION)
    assert version is not None
    tags = reg.get_version(client, "si_rules", version).tags
    assert tags["kind"] == "rules" and tags["point"] == POINT
    assert tags["approval.business.by"] and tags["approval.data.by"]
    # no detector baseline for a rule model: its only versions are the rules
    assert {v.tags["kind"] for v in reg.list_versions(client, "si_rules")} == {"rules"}
    # same backtest as the learnt model of the point: same number of judged rows
    learnt = reg.get_version(client, POINT, reg.alias_version(client, POINT, reg.CHAMPION)).tags
    assert tags["gate.n"] == learnt["gate.n"]

    def table(scenario: str) -> pd.DataFrame:
        return build_features(
            scenario, latest_as_of(str(base / "data"), scenario), str(base / "data")
        ).frame

    frame = table("si_rules")
    # as the service loads it: only when the version's feature_set_hash is the served table's
    # (a rule model trains on its point's table, yet must carry its own declarations' hash)
    hub = ModelHub(
        client,
        refresh_seconds=0,
        feature_hash=lambda s: table_hash(frame if s == "si_rules" else table(s), s),
    )
    hub.refresh()
    served = hub.get("si_rules")
    assert tags["feature_set_hash"] == table_hash(frame, "si_rules")
    assert hub.get(POINT).version == str(reg.alias_version(client, POINT, reg.CHAMPION))
    out = served.predict(frame)
    few = frame["insured_to_paid"].to_numpy() < 0.6
    many = frame["months_uninsured"].to_numpy() >= 3
    fired = out["rules"].to_numpy(dtype=object)
    assert all(("few_insured" in f.split(",")) == bool(a) for f, a in zip(fired, few, strict=True))
    assert all(
        ("months_uninsured" in f.split(",")) == bool(b) for f, b in zip(fired, many, strict=True)
    )
    # weighted sum ranks first: both rules (3) > few insured (2) > months uninsured (1) > none
    expected = 2.0 * few + 1.0 * many
    assert np.array_equal(np.floor(out["score"].to_numpy()), expected)
    assert registry.get("si_rules").rules.combine == "weighted_sum"


def test_rule_leads_carry_the_rules_reasons_with_value_and_peer(trained) -> None:
    base, _ = trained
    store = _store(base)
    try:
        leads = store.list_leads(scenario="si_rules")
    finally:
        store.close()
    assert leads
    for lead in leads:
        assert lead.reasons, lead
        for reason in lead.reasons:
            assert reason["rule"] in ("few_insured", "months_uninsured")
            if reason["rule"] == "few_insured":
                assert "(rule: under 60%); district median" in reason["text"]
                assert reason["value"] < 0.6 and reason["contribution"] == 2.0
    per_district = pd.Series([lead.district for lead in leads]).value_counts()
    assert per_district.max() <= 5


def test_the_twin_rule_model_is_flagged_by_the_overlap_check(trained, capsys) -> None:
    from training import model_registry as reg
    from training.ledger_points import overlap_tables, point_rows

    base, _ = trained
    client = _client(base)
    twin = reg.get_version(
        client, "si_rules_twin", reg.alias_version(client, "si_rules_twin", reg.CHAMPION)
    ).tags
    assert "overlap.warning" in twin
    assert "100% of its backtest top-k are also in the top-k of si_rules" in twin["overlap.warning"]
    assert twin["overlap.si_rules"].startswith("1.000")
    store = _store(base)
    try:
        rows = point_rows(client, store, base / "data")
        tables = overlap_tables(client, store, rows)
    finally:
        store.close()
    assert {r.model for r in rows} == {POINT, "si_rules", "si_rules_twin"}
    assert {r.point for r in rows} == {POINT}
    table = tables[POINT]
    assert table.loc["si_rules_twin", "si_rules"] == 1.0
    assert table.loc[POINT, "si_rules"] < 1.0
    # the learnt model's own leads were certified without a warning against the rules
    learnt = reg.get_version(client, POINT, reg.alias_version(client, POINT, reg.CHAMPION)).tags
    assert "overlap.warning" not in learnt


def test_rule_lead_outcomes_are_labels_of_the_point_and_retire_the_rules(trained) -> None:
    from training import model_registry as reg
    from training.ledger_retire import review_conversion
    from training.loop import recent_counts
    from training.mlflow_setup import resolve
    from training.train_data import store_outcomes
    from training.train_policy import policy_for

    base, _ = trained
    client, store = _client(base), _store(base)
    try:
        leads = store.list_leads(scenario="si_rules")
        for lead in leads:
            store.dispatch(
                lead.id,
                unit="civil",
                assignee="clerk",
                deadline=date.today() + timedelta(days=30),
                actor="chief",
            )
            store.start_verification(lead.id, actor="clerk")
            store.record_outcome(lead.id, outcome="no_case", actor="clerk")
        labels = store_outcomes(store, POINT)
        counts = recent_counts(store, "si_rules", date(2000, 1, 1))
    finally:
        store.close()
    # outcomes of the rule model's leads are labels for the learnt model of the point
    assert set(labels["entity_id"]) >= {lead.entity_id for lead in leads}
    version = reg.alias_version(client, "si_rules", reg.CHAMPION)
    decisions = review_conversion(
        client, "si_rules", resolve(root=base), counts, policy_for("si_rules"), step=1
    )
    assert decisions[0].lifecycle == reg.RETIRED and decisions[0].version == version
    assert reg.get_version(client, "si_rules", version).lifecycle == reg.RETIRED
    assert reg.alias_version(client, "si_rules", reg.CHAMPION) is None


def _base() -> SupervisionModel:
    model = discovery.model_at(EXAMPLE / "model.py")
    assert isinstance(model, SupervisionModel)
    return model


def test_a_predicate_on_an_unknown_feature_is_refused_naming_rule_and_field() -> None:
    rules = RuleSet((Rule("low_staff", "staff_count", "<", 3, "{value:.0f} staff"),))
    with pytest.raises(
        ValueError, match="rule 'low_staff': feature 'staff_count' is not a declared feature"
    ):
        SupervisionModel.of(_base(), name="bad_rules", rules=rules)


def test_a_weight_that_is_not_a_number_is_refused() -> None:
    with pytest.raises(
        ValueError, match="rule 'few_insured': weight must be a number, got 'heavy'"
    ):
        Rule("few_insured", "insured_to_paid", "<", 0.6, "{value:.0%}", weight="heavy")
    with pytest.raises(ValueError, match="rule 'few_insured': weight must be a number"):
        Rule("few_insured", "insured_to_paid", "<", 0.6, "{value:.0%}", weight=float("nan"))


def test_a_reason_template_with_an_unknown_field_is_refused() -> None:
    with pytest.raises(
        ValueError,
        match="rule 'few_insured': reason template field 'median' is "
        "unknown; a reason may use value, peer, threshold",
    ):
        Rule("few_insured", "insured_to_paid", "<", 0.6, "{value:.0%} vs {median:.0%}")


def test_other_bad_rule_declarations_are_refused() -> None:
    with pytest.raises(ValueError, match="rule 'x': op must be one of"):
        Rule("x", "insured_to_paid", "=<", 0.6, "{value}")
    with pytest.raises(ValueError, match="rules: combine must be one of"):
        RuleSet((Rule("x", "insured_to_paid", "<", 0.6, "{value}"),), combine="max")
    with pytest.raises(ValueError, match=r"rules: rule name\(s\) \['x'\] declared twice"):
        RuleSet(
            (
                Rule("x", "insured_to_paid", "<", 0.6, "{value}"),
                Rule("x", "base_to_wages", "<", 0.6, "{value}"),
            )
        )
    rules = RuleSet((Rule("x", "insured_to_paid", "<", 0.6, "{value}"),), tie_break="nope")
    with pytest.raises(ValueError, match="tie_break feature 'nope' is not a declared feature"):
        SupervisionModel.of(_base(), name="bad_rules", rules=rules)


def test_a_lead_shows_the_rules_fired_or_the_rules_that_would_have_fired(trained) -> None:
    from serving.feature_cache import FeatureSource, pool_loader
    from serving.lead_rules import lead_rules

    base, _ = trained
    source = FeatureSource(pool_loader(base / "data"))
    store = _store(base)
    try:
        rule_lead = store.list_leads(scenario="si_rules")[0]
        learnt_leads = store.list_leads(scenario=POINT)
        assert learnt_leads
    finally:
        store.close()
    shown = lead_rules(source, "si_rules", rule_lead.entity_id)
    assert shown["kind"] == "rules"
    assert [r["rule"] for r in shown["fired"]] == [r["rule"] for r in rule_lead.reasons]
    assert {r["model"] for r in shown["fired"]} == {"si_rules"}
    table = source.table(POINT)
    for lead in learnt_leads[:10]:
        would = lead_rules(source, POINT, lead.entity_id)
        assert would["kind"] == "scorer"
        row = table.loc[lead.entity_id]
        expected = {"few_insured"} if row["insured_to_paid"] < 0.6 else set()
        expected |= {"months_uninsured"} if row["months_uninsured"] >= 3 else set()
        # both rule models of the point are checked: the rules and their twin
        assert {(r["model"], r["rule"]) for r in would["fired"]} == {
            (m, rule) for m in ("si_rules", "si_rules_twin") for rule in expected
        }
        assert all(
            "district median" in r["text"] or r["rule"] == "months_uninsured"
            for r in would["fired"]
        )
