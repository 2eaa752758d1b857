"""The shapes every model's sources share: declared sources, simulator configuration and output.

A supervision model (``models/<name>/``, or an office's own, see ``pool.discovery``) declares
its ``SourceSpec``s; their rows come from the model's simulator (``simulate(config: SimConfig) ->
ScenarioPool``) or from each source's ``origin`` (files or a database table, ``pool.origins``).
The declarations drive the catalog file, the validation schemas, the importer and the
documentation, so a column exists in exactly one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from pool.origins import DatabaseOrigin, FileOrigin

#: The 16 districts of Beijing, in the order of the official list (a district procuratorate
#: sees the leads of its own district).
DISTRICTS: tuple[str, ...] = (
    "Dongcheng",
    "Xicheng",
    "Chaoyang",
    "Fengtai",
    "Shijingshan",
    "Haidian",
    "Mentougou",
    "Fangshan",
    "Tongzhou",
    "Shunyi",
    "Changping",
    "Daxing",
    "Huairou",
    "Pinggu",
    "Miyun",
    "Yanqing",
)
#: Allowed ``ColumnSpec.dtype`` values and what they become on disk (Parquet) and in pandas:
#: "string" (utf8, str), "int64", "float64", "bool", "date" (date32 on disk, datetime64[us] in
#: pandas after ``pool.load``), "datetime" (timestamp[us]).
DTYPES: tuple[str, ...] = ("string", "int64", "float64", "bool", "date", "datetime")
#: Kinds of personal data a column may be declared to hold (``ColumnSpec.personal``).
PERSONAL_KINDS: tuple[str, ...] = ("id", "name", "phone", "address")


@dataclass(frozen=True)
class SimConfig:
    """How to simulate a pool. Same config, same bytes.

    ``scale`` 1 is Beijing-sized; ``drift_month`` is the 0-based month index from which
    fraudsters adapt (None: no drift).
    """

    seed: int = 42
    scale: float = 1.0
    start: date = date(2023, 1, 1)
    months: int = 30
    drift_month: int | None = None


@dataclass(frozen=True)
class ColumnSpec:
    """One declared column of an agency table.

    ``dtype`` is one of: "string", "int64", "float64", "bool", "date", "datetime".
    ``checks`` are simple declarative rules the validator enforces, e.g.
    {"min": 0}, {"max": 100}, {"isin": [...]}, {"regex": "..."}, {"unique": True}.
    ``personal`` says the column holds personal data and of which kind (one of
    ``PERSONAL_KINDS``: "id" resident ID number, "name" a person's name, "phone", "address"), so
    every consumer that shows records (the service above all) masks it by declaration instead of
    guessing from the value's shape (对案不对人).
    """

    name: str
    dtype: str
    meaning: str
    unit: str = ""
    nullable: bool = False
    checks: dict = field(default_factory=dict)
    personal: str | None = None

    def __post_init__(self) -> None:
        if self.personal is not None and self.personal not in PERSONAL_KINDS:
            raise ValueError(
                f"column {self.name!r}: personal={self.personal!r} is not one of "
                f"{', '.join(PERSONAL_KINDS)}"
            )


@dataclass(frozen=True)
class SourceSpec:
    """One agency table in the shared data pool."""

    scenario: str
    agency: str
    table: str
    description: str
    keys: tuple[str, ...]
    columns: tuple[ColumnSpec, ...]
    date_column: str | None = None  # the business date of a record (point-in-time features)
    filed_column: str | None = None  # when the record reached the pool (late filings)
    #: where the rows come from (``pool.origins``: files or a database table); None: the
    #: model's simulator writes them
    origin: FileOrigin | DatabaseOrigin | None = field(default=None, compare=False)


@dataclass
class ScenarioPool:
    """What a scenario simulation returns.

    ``tables`` are the agency tables (written to ``data/pool/<scenario>/<table>.parquet``),
    ``history`` the verification history of past leads (also in the pool: it is the
    procuratorate's own case data), ``truth`` the true state of every entity (written to
    ``data/truth/<scenario>.parquet``, never read by training). ``truth_tables`` are optional
    extra truth tables (e.g. per month), written to ``data/truth/<scenario>_<name>.parquet``.
    """

    scenario: str
    entity: str
    tables: dict[str, pd.DataFrame]
    history: pd.DataFrame
    truth: pd.DataFrame
    truth_tables: dict[str, pd.DataFrame] = field(default_factory=dict)
