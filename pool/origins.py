"""Where a declared source's rows come from: an office's file exports or a database table.

A ``SourceSpec`` with an ``origin`` is read by the importer (``python -m pool.importer``), which
validates the rows against the declaration and writes the validated pool. The simulator is the
other producer of sources; a source needs one or the other.

- ``FileOrigin``: CSV, Excel or Parquet files, a path or a glob (relative paths are read from
  the folder of the model's declaration), the encoding offices use (GB18030/GBK included), and a
  mapping from the agency's column names (Chinese headers included) to the declared columns.
- ``DatabaseOrigin``: one table (or view) in a database reached by URL
  (``postgresql://user@host:port/db``, ``duckdb:///file.duckdb``), read through Ibis.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pandas as pd

FileFormat = Literal["csv", "excel", "parquet"]
FORMATS: tuple[str, ...] = ("csv", "excel", "parquet")
_SUFFIXES = {
    ".csv": "csv",
    ".txt": "csv",
    ".xlsx": "excel",
    ".xlsm": "excel",
    ".parquet": "parquet",
}

#: A per-file transform: the rows of one file (columns already renamed) and its path -> rows in
#: the declared columns. For exports whose layout needs more than a rename (one file per
#: country, ids built from several columns).
Transform = Callable[[pd.DataFrame, Path], pd.DataFrame]


@dataclass(frozen=True)
class FileOrigin:
    """Rows from files.

    ``path``: one file, a glob (``exports/加油站_*.csv``) or several (``paths``); every file
    must exist and at least one must match. ``columns``: agency header -> declared column; a
    header neither mapped nor declared is refused unless listed in ``ignore``. ``refuse_rows``:
    rows breaking a declared rule are refused and listed in the import report instead of
    stopping the import (type errors always stop it).
    """

    path: str = ""
    paths: tuple[str, ...] = ()
    format: FileFormat | None = None
    encoding: str = "utf-8"
    delimiter: str = ","
    sheet: str | int = 0
    columns: Mapping[str, str] = field(default_factory=dict)
    ignore: tuple[str, ...] = ()
    refuse_rows: bool = False
    transform: Transform | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if bool(self.path) == bool(self.paths):
            raise ValueError("FileOrigin: give exactly one of path (a file or glob) or paths")
        if self.format is not None and self.format not in FORMATS:
            raise ValueError(f"FileOrigin: format must be one of {FORMATS}, got {self.format!r}")
        try:
            "".encode(self.encoding)
        except LookupError:
            raise ValueError(f"FileOrigin: unknown encoding {self.encoding!r}") from None

    def patterns(self) -> tuple[str, ...]:
        return self.paths or (self.path,)

    def format_of(self, path: Path) -> str:
        """The declared format, else the one the file's suffix says."""
        if self.format is not None:
            return self.format
        kind = _SUFFIXES.get(path.suffix.lower())
        if kind is None:
            raise ValueError(
                f"file {path}: cannot tell its format from the suffix; declare "
                f"format= one of {FORMATS}"
            )
        return kind


@dataclass(frozen=True)
class DatabaseOrigin:
    """Rows from one table of a database reached by URL (PostgreSQL, DuckDB...), read through
    Ibis. ``columns`` maps the table's column names to the declared ones, as for files."""

    url: str
    table: str
    schema: str | None = None
    columns: Mapping[str, str] = field(default_factory=dict)
    ignore: tuple[str, ...] = ()
    refuse_rows: bool = False

    def __post_init__(self) -> None:
        if "://" not in self.url:
            raise ValueError(f"DatabaseOrigin: url {self.url!r} is not a database URL")
        if not self.table:
            raise ValueError("DatabaseOrigin: table is required")

    @property
    def safe_url(self) -> str:
        """The URL with any password blanked (for reports and errors)."""
        head, sep, tail = self.url.partition("://")
        if "@" in tail and ":" in tail.split("@", 1)[0]:
            user = tail.split("@", 1)[0].split(":", 1)[0]
            tail = f"{user}:***@{tail.split('@', 1)[1]}"
        return head + sep + tail


Origin = FileOrigin | DatabaseOrigin
