"""Declarations, registry, keys and an external supervision model plugged in from outside."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import unicodedata
from datetime import date

import ibis
import numpy as np
import pandas as pd
import pytest

from features import registry
from features.build import build_features, feature_set_hash
from features.docs import markdown
from features.keys import key_status, normalise
from features.spec import FeatureSpec
from features.testing import uscc, write_pool
from pool.defects import vary_codes, vary_names
from pool.keys import is_valid_id, is_valid_uscc, normalise_code
from pool.names import normalise_name

TOY = '''
"""A toy supervision model: building permits that outlive their company."""
from pool.schemas import history_source
from pool.spec import ColumnSpec, SourceSpec
from features.common import ratio
from features.model import SupervisionModel
from features.spec import FeatureSpec, KeyJoin

PERMITS = SourceSpec(
    scenario="toy_permits", agency="housing", table="permits",
    description="building permits", keys=("permit_id",), date_column="issued_on",
    columns=(
        ColumnSpec("permit_id", "string", "permit id"),
        ColumnSpec("company_code", "string", "holder credit code"),
        ColumnSpec("district", "string", "district"),
        ColumnSpec("issued_on", "date", "issue date"),
        ColumnSpec("expired", "bool", "permit expired"),
    ),
)


def build(sources, ctx):
    p = sources["permits"]
    per = p.group_by(["company_code", "district"]).aggregate(
        n=p.count(), n_expired=p.expired.cast("int64").sum())
    return per.select(entity_id=per.company_code, district=per.district,
                      permits=per.n.cast("float64"),
                      expired_share=ratio(per.n_expired, per.n))


MODEL = SupervisionModel(
    name="toy_permits", entity="company", key_column="company_code",
    sources=(PERMITS, history_source("toy_permits")),
    features=(
        FeatureSpec("permits", "permits held", "permits", "{value:.0f} permits", "high"),
        FeatureSpec("expired_share", "share of permits expired", "share",
                    "{value:.0%} of permits expired; district median {peer:.0%}", "high",
                    "district"),
    ),
    build=build,
    joins=(KeyJoin("permits", "company_code", "uscc"),),
)
'''


def test_external_model_registers_and_builds(tmp_path):
    module = tmp_path / "toy_permits.py"
    module.write_text(textwrap.dedent(TOY))
    scenario = registry.load_module(module)
    try:
        assert "toy_permits" in registry.names()
        a, b = uscc("91110105MA0000001"), uscc("91110105MA0000002")
        rows = [
            {
                "permit_id": f"P{i}",
                "company_code": code,
                "district": "Daxing",
                "issued_on": pd.Timestamp(day),
                "expired": exp,
            }
            for i, (code, day, exp) in enumerate(
                [
                    (a, "2024-01-01", True),
                    (a, "2024-02-01", False),
                    (a, "2024-03-01", True),
                    (b.lower(), "2024-01-05", False),
                    (a, "2024-09-01", True),
                ]
            )
        ]
        history = [
            {
                "lead_id": "L1",
                "entity_id": a,
                "district": "Daxing",
                "rule": "r",
                "flagged_on": pd.Timestamp("2024-03-01"),
                "verified_on": pd.Timestamp("2024-04-01"),
                "outcome": "case_filed",
                "amount_recovered": 0.0,
            }
        ]
        root = write_pool(
            tmp_path / "data", scenario.sources, {"permits": rows, "verification_history": history}
        )
        table = build_features("toy_permits", date(2024, 6, 30), root)
        f = table.frame.set_index("entity_id")
        assert f.loc[a, "permits"] == 3  # the September permit is after the as-of date
        assert f.loc[a, "expired_share"] == pytest.approx(2 / 3)
        assert f.loc[b, "permits"] == 1  # lower-cased code normalised before grouping
        assert f.loc[a, "label"] == 1.0 and np.isnan(f.loc[b, "label"])
        assert table.join_report.loc[0, "joined"] == 4
        assert "`toy_permits`" in markdown(["toy_permits"])
        # the hash follows the module's code: change it and the feature set is another one
        before = feature_set_hash(scenario)
        module.write_text(textwrap.dedent(TOY).replace("permits held", "permits held now"))
        assert feature_set_hash(registry.load_module(module)) != before
    finally:
        registry.unregister("toy_permits")


def test_registry_imports_nothing_until_asked():
    code = (
        "import sys, features.registry as r; before = any(m.startswith('models.') for m in "
        "sys.modules); names = r.names(); print(before, 'fuel_tax' in names)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]


def test_unknown_scenario_is_a_clear_error():
    with pytest.raises(registry.UnknownScenarioError, match="unknown supervision model 'nope'"):
        registry.get("nope")


def test_reason_templates_render():
    spec = registry.get("fuel_tax").feature("declared_to_delivered")
    assert spec.reason(0.58, 0.97, "en") == (
        "declared sales are 58% of litres delivered; district median 97%"
    )
    assert spec.reason(0.58, 0.97) == "申报销量仅为油罐车运单送达量的58%；本区中位数97%"
    assert spec.reason(float("nan"), None, "en") == (
        "no tanker waybills in the window to compare declared sales with"
    )
    for name in registry.names():
        for feature in registry.get(name).features:
            assert isinstance(feature, FeatureSpec)
            for lang in ("zh", "en"):  # every template formats with value and peer
                assert feature.reason(0.5, 0.5, lang)


def _run(values: list, fn) -> pd.DataFrame:
    t = ibis.memtable(pd.DataFrame({"raw": pd.Series(values, dtype="object")}))
    return ibis.duckdb.connect().execute(t.mutate(**fn(t.raw)))


def test_names_normalise_like_the_pool():
    rng = np.random.default_rng(7)
    names = np.array(
        ["北京宏远燃料有限公司", "北京安丰能源股份有限公司", "北京金鑫石化有限责任公司"]
    )
    varied, kinds = vary_names(np.repeat(names, 40), 1.0, rng)
    assert len(set(kinds)) >= 4
    out = _run(list(varied), lambda r: {"norm": normalise(r, "name")})
    expected = [normalise_name(v, drop_branch=True) for v in varied]
    assert out["norm"].tolist() == expected
    assert out["norm"].nunique() == 3


def test_codes_normalise_and_validate_like_the_pool():
    from features.testing import broken_check, resident_id

    good = [uscc(f"9111010{i}MA0{i:05d}X") for i in range(1, 9)]
    rng = np.random.default_rng(3)
    varied, _ = vary_codes(np.array(good * 3, dtype=object), 1.0, rng)
    broken = [broken_check(c) for c in good[:3]]
    values = list(varied) + broken + [None, "123", "ｘ" * 18]
    out = _run(values, lambda r: {"norm": normalise(r, "uscc")})
    out = out.assign(status=_run(list(out["norm"]), lambda r: {"s": key_status(r, "uscc")})["s"])
    for raw, norm, status in zip(values, out["norm"], out["status"], strict=True):
        # as the pool, plus full-width characters mapped to half-width first
        canonical = normalise_code(None if raw is None else unicodedata.normalize("NFKC", raw))
        assert (None if pd.isna(norm) else norm) == canonical
        if canonical is None:
            assert status == "missing"
        else:
            assert (status == "ok") == is_valid_uscc(canonical)
    assert (out["status"] == "invalid_check").sum() == 4  # 3 typos + "XXX...X" (18 letters)
    person = resident_id("11010519491231002")
    old = person[:6] + person[8:17]  # the 15-digit form of the same number
    ids = _run([old, person, broken_check(person)], lambda r: {"n": normalise(r, "id")})
    status = _run(list(ids["n"]), lambda r: {"s": key_status(r, "id")})["s"].tolist()
    assert ids["n"].tolist()[:2] == [person, person] and is_valid_id(person)
    assert status == ["ok", "ok", "invalid_check"]


def test_reasons_use_the_district_median():
    from features.reasons import reasons

    frame = pd.DataFrame(
        {
            "entity_id": ["a", "b", "c", "d"],
            "district": ["X", "X", "X", "Y"],
            "label": np.nan,
            **{n: 1.0 for n in registry.get("fuel_tax").feature_names},
        }
    )
    frame["declared_to_delivered"] = [0.58, 0.97, 0.99, 0.2]
    text = reasons(frame, "fuel_tax", "a", ["declared_to_delivered"], lang="en")
    assert text == {
        "declared_to_delivered": "declared sales are 58% of litres delivered; district median 97%"
    }
    assert reasons(frame, "fuel_tax", "a", ["declared_to_delivered"]) == {
        "declared_to_delivered": "申报销量仅为油罐车运单送达量的58%；本区中位数97%"
    }
