"""Innocent-oddity labels for the ground truth: several boolean flags as one readable string."""

from __future__ import annotations

import numpy as np


def join_flags(flags: dict[str, np.ndarray]) -> np.ndarray:
    """Per row, the names of the flags that are set, "+"-joined in the given order ("none" if none).

    Flags are packed into one integer per row and each distinct combination is spelled once, so
    this stays fast however many rows there are.
    """
    names = list(flags)
    if not names:
        raise ValueError("join_flags needs at least one flag")
    bits = np.zeros(len(next(iter(flags.values()))), dtype="int64")
    for i, name in enumerate(names):
        bits |= np.asarray(flags[name], dtype=bool).astype("int64") << i
    combos, inverse = np.unique(bits, return_inverse=True)
    spelled = np.array(
        ["+".join(n for i, n in enumerate(names) if c >> i & 1) or "none" for c in combos],
        dtype=object,
    )
    return spelled[inverse]
