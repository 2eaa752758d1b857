"""Blank (None) cells in simulated object columns: a spouse, an agent or a domain not on record.

``np.where(keep, values, None)`` does this at run time but has no typed overload for a bare
``None``; :data:`BLANK` is the same None as a 0-d object array, so the results are identical.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

#: None as a 0-d object array (``np.where``/``np.select`` broadcast it like a bare None).
BLANK: np.ndarray = np.array(None, dtype=object)


def or_blank(keep: ArrayLike, values: ArrayLike) -> np.ndarray:
    """``values`` where ``keep`` holds, else None (an object array)."""
    return np.where(keep, values, BLANK)


def blank_where(blank: ArrayLike, values: ArrayLike) -> np.ndarray:
    """None where ``blank`` holds, else ``values`` (an object array)."""
    return np.where(blank, BLANK, values)
