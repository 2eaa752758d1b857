"""The amount at stake: declared estimates by hand on small pools, and bad declarations refused."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from amount_world import A, B, _model, _value_at_stake
from fuel_world import AS_OF, S1, S2, S3, _world

from features import registry
from features.amount import AMOUNT_COLUMN, AmountError
from features.build import build_features
from features.model import AmountAtStake, Policy, SupervisionModel
from features.testing import write_pool

PRICE = 8.0  # yuan per litre excl. VAT, what every station's returns declare


def test_fuel_tax_amount_is_the_tax_on_undeclared_litres(tmp_path):
    world = _world()
    for f in world["tax_filings"]:
        f["fuel_revenue_yuan"] = PRICE * (
            f["declared_gasoline_litres"] + f["declared_diesel_litres"]
        )
    spec = registry.get("fuel_tax")
    root = write_pool(tmp_path, spec.sources, world)
    frame = build_features("fuel_tax", AS_OF, root).frame.set_index("entity_id")
    per_litre = 1.52 + 0.13 * PRICE
    # S1 declares 6,000 of the 10,000 litres delivered each month, 12 months
    assert frame.at[S1, AMOUNT_COLUMN] == pytest.approx(12 * 4000 * per_litre)
    # S2 declares all it receives but files no return for June 2023 (its amendment counts)
    assert frame.at[S2, AMOUNT_COLUMN] == pytest.approx(10000 * per_litre)
    # S3 declares every litre delivered and pays the tax on it
    assert frame.at[S3, AMOUNT_COLUMN] == pytest.approx(0.0)
    assert AMOUNT_COLUMN not in build_features("fuel_tax", AS_OF, root).X().columns


def test_fuel_tax_amount_adds_unpaid_consumption_tax(tmp_path):
    world = _world()
    for f in world["tax_filings"]:
        if f["taxpayer_code"] == S3:  # declares diesel litres but pays no consumption tax
            f["consumption_tax_yuan"] = 0.0
    root = write_pool(tmp_path, registry.get("fuel_tax").sources, world)
    frame = build_features("fuel_tax", AS_OF, root).frame.set_index("entity_id")
    assert frame.at[S3, AMOUNT_COLUMN] == pytest.approx(12 * 20000 * 1.20)


def _frame(model: SupervisionModel, root) -> pd.DataFrame:
    registry.register(model, replace=True)
    return build_features("toy_amounts", "2024-06-30", root).frame.set_index("entity_id")


def test_declared_estimate_lands_per_entity_with_its_rates(toy_root):
    model = _model(
        AmountAtStake(
            unit="yuan",
            estimate=_value_at_stake,
            rates={"share": 0.1},
            texts={"zh": "项目价款的10%"},
        )
    )
    frame = _frame(model, toy_root)
    assert frame.at[A, AMOUNT_COLUMN] == pytest.approx(4e5)
    assert frame.at[B, AMOUNT_COLUMN] == pytest.approx(5e4)
    assert model.amount.declared and model.amount.text("zh") == "项目价款的10%"
    assert model.amount.text("en") == model.amount.description


def test_a_model_without_an_estimate_has_none_not_zero(toy_root):
    frame = _frame(_model(AmountAtStake()), toy_root)
    assert frame[AMOUNT_COLUMN].isna().all()
    assert not AmountAtStake().declared


@pytest.mark.parametrize(
    ("estimate", "says"),
    [
        (
            lambda s, c, r: s["permits"].select(
                entity_id=s["permits"].company_code, amount=s["permits"].no_such_column
            ),
            "no_such_column",
        ),
        (
            lambda s, c, r: s["permits"].select(
                entity_id=s["permits"].company_code, amount=s["permits"].district
            ),
            "not a number",
        ),
        (lambda s, c, r: s["permits"].select(entity_id=s["permits"].company_code), "amount"),
        (
            lambda s, c, r: s["permits"].select(
                entity_id=s["permits"].company_code, amount=s["permits"].value_yuan
            ),
            "repeated entities",
        ),
        (lambda s, c, r: _value_at_stake(s, c, {"share": -1.0}), "negative"),
        (lambda s, c, r: s["verification_history"].select("entity_id", amount=1.0), "label source"),
    ],
)
def test_bad_estimates_are_refused_naming_the_model(toy_root, estimate, says):
    with pytest.raises(ValueError, match=says) as err:
        _frame(_model(AmountAtStake(estimate=estimate)), toy_root)
    assert "toy_amounts" in str(err.value)
    if says != "label source":
        assert isinstance(err.value, AmountError)


def test_bad_declarations_are_refused_when_declared():
    with pytest.raises(ValueError, match="rate 'share' must be a number >= 0"):
        AmountAtStake(estimate=_value_at_stake, rates={"share": -0.1})
    with pytest.raises(ValueError, match="estimate must be a function"):
        AmountAtStake(estimate="value * 0.1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unit must be a non-empty string"):
        AmountAtStake(unit="")
    with pytest.raises(TypeError, match="toy_amounts.*AmountAtStake"):
        replace(_model(AmountAtStake()), amount=1e5)


@pytest.mark.parametrize("name", ["fuel_tax", "mortgage_loans", "bid_rigging", "fake_certificates"])
def test_every_built_in_model_declares_an_estimate_in_both_languages(name):
    amount = registry.get(name).amount
    assert amount.declared and amount.text("zh") != amount.description
    assert amount.unit_text("zh") and all(np.isfinite(v) for v in amount.rates.values())


def test_picking_by_expected_value_needs_a_declared_estimate():
    with pytest.raises(ValueError, match="toy_amounts.*pick='expected_value' needs an amount"):
        replace(_model(AmountAtStake()), policy=Policy(pick="expected_value"))
    assert (
        replace(
            _model(AmountAtStake(estimate=_value_at_stake, rates={"share": 0.1})),
            policy=Policy(pick="expected_value"),
        ).policy.pick
        == "expected_value"
    )
