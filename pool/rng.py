"""Random streams that stay put when unrelated parts of a simulation change.

Two needs: (1) each component of a scenario (stations, deliveries, defects...) draws from its
own generator, so adding a draw in one component does not shift every number after it; and
(2) some draws must depend only on a record's identity, not on how many records came before it
(the drift option must leave every record before the drift month byte-identical, even though it
changes how many records come after). ``component_rng`` serves the first, ``keyed_uniform`` the
second.
"""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd

_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def component_rng(seed: int, scenario: str, component: str) -> np.random.Generator:
    """An independent generator for one component of one scenario."""
    return np.random.default_rng([seed, zlib.crc32(f"{scenario}/{component}".encode())])


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser: a cheap, well-mixed bijection on 64-bit integers."""
    with np.errstate(over="ignore"):
        x = (x + np.uint64(0x9E3779B97F4A7C15)) & _MASK64
        x = ((x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)) & _MASK64
        x = ((x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)) & _MASK64
        return x ^ (x >> np.uint64(31))


def keyed_uniform(keys: pd.DataFrame, seed: int, salt: str) -> np.ndarray:
    """A uniform [0, 1) number per row that depends only on the row's key values, seed and salt.

    Rows with equal keys get equal numbers, whatever other rows exist; use different ``salt`` for
    independent draws about the same record.
    """
    as_text = keys.astype(str).astype(object)
    hashed = pd.util.hash_pandas_object(as_text, index=False).to_numpy(np.uint64)
    mix = np.uint64(zlib.crc32(salt.encode()) | ((seed & 0xFFFFFFFF) << 32))
    bits = _splitmix64(_splitmix64(hashed ^ mix))
    return (bits >> np.uint64(11)).astype(np.float64) * 2.0**-53
