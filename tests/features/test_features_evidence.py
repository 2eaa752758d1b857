"""Declared evidence views: computed per entity from the pool's tables, bad views refused."""

from __future__ import annotations

from dataclasses import replace

import ibis
import pandas as pd
import pytest
from amount_world import PERMITS, A, B, _model

from features import registry
from features.evidence import EvidenceError, EvidenceView, Series
from features.evidence_build import evidence_frame
from features.model import AmountAtStake
from pool.load import load_pool


def _monthly(sources, ctx):
    p = sources["permits"]
    return p.select(
        entity_id=p.company_code,
        period=p.issued_on,
        series=ibis.literal("value"),
        value=p.value_yuan,
    )


VIEW = EvidenceView(
    build=_monthly,
    series=(Series("value", {"zh": "项目价款", "en": "value"}),),
    peers={"expired_share": {"zh": "过期比例", "en": "expired share"}},
)


def _frame(view: EvidenceView, root) -> pd.DataFrame:
    model = replace(_model(AmountAtStake()), evidence=view)
    registry.register(model, replace=True)
    return evidence_frame(model, load_pool(root, "toy_amounts"))


def test_the_view_gives_each_entity_its_dated_values(toy_root):
    frame = _frame(VIEW, toy_root)
    assert sorted(frame.loc[frame.entity_id == A, "value"]) == [1e6, 3e6]
    assert frame.loc[frame.entity_id == B, "value"].tolist() == [5e5]
    assert (frame["period"] == pd.Timestamp("2024-01-05")).all()


@pytest.mark.parametrize(
    ("build", "says"),
    [
        (
            lambda s, c: s["permits"].select(
                entity_id=s["permits"].company_code,
                period=s["permits"].issued_on,
                series=ibis.literal("other"),
                value=s["permits"].value_yuan,
            ),
            "undeclared series",
        ),
        (
            lambda s, c: s["permits"].select(
                entity_id=s["permits"].company_code,
                period=s["permits"].issued_on,
                series=ibis.literal("value"),
                value=s["permits"].district,
            ),
            "not a number",
        ),
        (lambda s, c: s["permits"].select(entity_id=s["permits"].nope), "do not have"),
    ],
)
def test_bad_views_are_refused_naming_the_model(toy_root, build, says):
    with pytest.raises(EvidenceError, match=f"toy_amounts.*{says}"):
        _frame(replace(VIEW, build=build), toy_root)


def test_views_that_cannot_work_are_refused_at_declaration():
    with pytest.raises(ValueError, match="toy_amounts.*undeclared feature"):
        replace(_model(AmountAtStake()), evidence=replace(VIEW, peers={"nope": {}}))
    with pytest.raises(ValueError, match="toy_amounts.*kind"):
        replace(_model(AmountAtStake()), evidence=replace(VIEW, kind="pie"))
    with pytest.raises(ValueError, match="each once"):
        replace(_model(AmountAtStake()), evidence=replace(VIEW, series=VIEW.series * 2))
    assert PERMITS.table == "permits"
