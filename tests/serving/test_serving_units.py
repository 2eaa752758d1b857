"""Serving: the pure parts (access matrix, masking, percentiles, ranks, shadow comparison)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pool.keys import id_check_char
from serving import access
from serving.error_handling import ApiError
from serving.masking import contains_id, mask_text, mask_value
from serving.scoring import percentiles, ranked, ranks, rows_to_explain
from serving.shadow import compare


def test_every_route_of_the_app_is_in_the_matrix() -> None:
    from fastapi.openapi.utils import get_openapi

    from serving.app import create_app

    app = create_app()
    paths = get_openapi(title="t", version="1", routes=app.routes)["paths"]
    declared = {(method.upper(), path) for path, item in paths.items() for method in item}
    public = {(m, p) for m, p in declared if p.startswith(access.PUBLIC_PATHS)}
    assert declared - public == set(access.ROUTES), "a /v1 route without an access decision"
    assert set(access.ROUTES.values()) <= set(access.MATRIX)


def test_matrix_invariants() -> None:
    assert access.reach("leads.read", "system") is None, "other systems never read leads"
    assert access.reach("score", "staff") is None
    assert access.reach("leads.write", "data_scientist") is None, "data scientists read only"
    assert access.reach("leads.read", "staff") is access.Reach.OWN_DISTRICT
    assert [r for r in access.ROLES if access.reach("keys.manage", r)] == ["admin"]
    assert access.allows_district("leads.read", "staff", "Haidian", "Haidian")
    assert not access.allows_district("leads.read", "staff", "Haidian", "Chaoyang")
    assert access.allows_district("leads.read", "data_scientist", None, "Chaoyang")
    with pytest.raises(KeyError):
        access.reach("no.such.action", "admin")
    assert "| `score` |" in access.as_markdown()


def test_id_numbers_masked_but_credit_codes_kept() -> None:
    body = "11010519850302001"
    person = body + id_check_char(body)
    text = f"holder {person}; employer 91110105MA01234567; typo {person[:-1]}Y"
    masked = mask_text(text)
    assert person not in masked
    assert f"{person[:6]}********{person[-4:]}" in masked
    assert "91110105MA01234567" in masked
    assert contains_id(text) and not contains_id(masked)
    nested = mask_value({"rows": [{"holder_id": person, "n": 3}], "why": [person]})
    assert nested == {
        "rows": [{"holder_id": masked.split()[1].rstrip(";"), "n": 3}],
        "why": [masked.split()[1].rstrip(";")],
    }


def test_percentiles_against_a_reference_and_the_batch() -> None:
    reference = np.sort(np.arange(100, dtype=float))
    got = percentiles(np.array([-1.0, 49.0, 99.0, 500.0]), reference)
    assert got.tolist() == [0.0, 50.0, 100.0, 100.0]
    alone = percentiles(np.array([3.0, 1.0, 2.0]), None)
    assert alone.tolist() == pytest.approx([100.0, 100 / 3, 200 / 3])


def test_ranks_and_rows_to_explain() -> None:
    scores = np.array([0.1, 0.9, 0.5, 0.9])
    assert ranks(scores).tolist() == [4, 1, 3, 2]
    assert rows_to_explain(scores, 2, False).tolist() == [1, 3]
    assert rows_to_explain(scores, 0, False).tolist() == []
    assert rows_to_explain(scores, 10, False).tolist() == [1, 3, 2, 0]
    with pytest.raises(ApiError) as err:
        rows_to_explain(np.zeros(5000), 0, True)
    assert err.value.status == 422


@pytest.mark.parametrize("with_reference", [True, False], ids=["reference", "this batch"])
def test_one_sort_gives_the_ranks_percentiles_and_top_rows_of_the_separate_ones(
    with_reference: bool,
) -> None:
    rng = np.random.default_rng(2)
    scores = rng.normal(size=5000)
    scores[::40] = scores[3]  # ties, ranked in input order
    reference = np.sort(rng.normal(size=3000)) if with_reference else None
    got = ranked(scores, reference)
    np.testing.assert_array_equal(got.rank, ranks(scores))
    np.testing.assert_array_equal(got.percentile, percentiles(scores, reference))
    for k in (0, 1, 37, 5000, 9000):
        np.testing.assert_array_equal(
            scores[got.to_explain(k, False)], scores[rows_to_explain(scores, k, False)]
        )
    assert got.to_explain(37, False).tolist() == np.argsort(got.rank)[:37].tolist()
    small = ranked(scores[:10], reference)
    assert small.to_explain(0, True).tolist() == rows_to_explain(scores[:10], 0, True).tolist()
    with pytest.raises(ApiError) as err:
        got.to_explain(0, True)
    assert err.value.status == 422 and "explain_all is limited" in err.value.message


def test_shadow_comparison() -> None:
    a = np.arange(100, dtype=float)
    corr, overlap = compare(a, a * 2 + 1)
    assert corr == pytest.approx(1.0) and overlap == 1.0
    corr, overlap = compare(a, -a)
    assert corr == pytest.approx(-1.0) and overlap == 0.0


def test_in_chunks_splits_the_thread_budget_instead_of_multiplying_it(monkeypatch) -> None:
    """Each chunk is told one thread's share, so a LightGBM prediction inside it runs on that
    share: chunks x threads per chunk stays within ``SUPERVISION_THREADS``."""
    from pool.resources import predict_threads, threads
    from serving.champions import PARALLEL_ROWS, in_chunks

    monkeypatch.setenv("SUPERVISION_THREADS", "2")
    seen: list[tuple[int, int, int]] = []

    def fn(part: np.ndarray) -> np.ndarray:
        seen.append((len(part), threads(), predict_threads(len(part))))
        return part * 2.0

    values = np.arange(2 * PARALLEL_ROWS * 3, dtype="float64").reshape(-1, 3)
    out = in_chunks(fn, values)
    np.testing.assert_array_equal(out, values * 2.0)
    assert sorted(seen) == [(PARALLEL_ROWS, 1, 1), (PARALLEL_ROWS, 1, 1)]
    seen.clear()
    frame = pd.DataFrame(values[:10])  # below the chunking size: one call on the whole budget
    pd.testing.assert_frame_equal(in_chunks(lambda f: f * 2.0, frame), frame * 2.0)
    assert in_chunks(fn, values[:10]).shape == (10, 3) and seen == [(10, 2, 1)]
