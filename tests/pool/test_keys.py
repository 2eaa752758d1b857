"""Check characters of credit codes and ID numbers, against published examples."""

import numpy as np
import pytest

from pool.keys import (
    USCC_ALPHABET,
    id_check_char,
    id_check_chars,
    is_valid_id,
    is_valid_uscc,
    normalise_code,
    uscc_check_char,
    uscc_check_chars,
)


def test_uscc_known_code() -> None:
    # A credit code printed on a public business licence (checked by hand against GB 32100-2015).
    assert uscc_check_char("91350100M000100Y4") == "3"
    assert is_valid_uscc("91350100M000100Y43")
    assert not is_valid_uscc("91350100M000100Y44")


def test_id_known_number() -> None:
    # The standard's worked example: 11010519491231002X.
    assert id_check_char("11010519491231002") == "X"
    assert is_valid_id("11010519491231002x")
    assert not is_valid_id("110105194912310021")


@pytest.mark.parametrize(
    "raw, expected",
    [(" 9135 0100-M000100Y43 ", "91350100M000100Y43"), ("", None), (None, None), ("o1", "01")],
)
def test_normalise(raw: object, expected: str | None) -> None:
    assert normalise_code(raw) == expected


def test_bad_body_is_refused() -> None:
    with pytest.raises(ValueError, match="17"):
        uscc_check_char("123")
    with pytest.raises(ValueError, match="alphabet"):
        uscc_check_char("9135010OM000100Y4")


def test_vectorised_check_chars_agree_with_scalar() -> None:
    rng = np.random.default_rng(0)
    ids = ["".join(map(str, rng.integers(0, 10, 17))) for _ in range(200)] + ["11010519491231002"]
    assert list(id_check_chars(np.array(ids))) == [id_check_char(b) for b in ids]
    codes = ["".join(rng.choice(list(USCC_ALPHABET), 17)) for _ in range(200)]
    codes.append("91350100M000100Y4")
    assert list(uscc_check_chars(np.array(codes))) == [uscc_check_char(c) for c in codes]
