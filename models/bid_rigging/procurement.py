"""The real procurement data (García Rodríguez et al. 2022) as one harmonised bids table.

Five country files with different columns become one table, one row per bid: a stable bid id
(``<country>:<tender>:<n-th bid in file order>``), the tender, the bidder where the file has one,
the bid value, whether it won, the tender date where the file has a calendar date, an ordering
time (for "strictly before" history even where only a year or a day count exists) and the
label. What each file lacks is recorded, not invented:

| country | bidder ids | tender time | calendar date |
| --- | --- | --- | --- |
| america (Ohio milk) | yes | year | 31 Dec of the year (latest it can be known) |
| brazil | yes | unix seconds | yes (16 bids with a broken date: none) |
| italy | yes | none | none |
| ch_gr (GR and See-Gaster) | none | day count, unknown epoch | none |
| ch_ticino | none | unix seconds | yes |
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from pool.origins import FileOrigin
from pool.spec import ColumnSpec, SourceSpec

#: The declared country files: adding a country is one line here (its file, in the authors'
#: layout, in ``FOLDER``). Read by the importer like any office's export.
FILES: dict[str, str] = {
    "america": "DB_Collusion_America_processed.csv",
    "brazil": "DB_Collusion_Brazil_processed.csv",
    "italy": "DB_Collusion_Italy_processed.csv",
    "ch_gr": "DB_Collusion_Switzerland_GR_and_See-Gaster_processed.csv",
    "ch_ticino": "DB_Collusion_Switzerland_Ticino_processed.csv",
}
#: Where the files are, relative to this folder: the shared reference data beside the project.
FOLDER = "../../../shared/data/procurement"
SCREENS: tuple[str, ...] = ("CV", "SPD", "DIFFP", "RD", "KURT", "SKEW", "KSTEST")
_REQUIRED = ("Tender", "Bid_value", "Winner", "Collusive_competitor", *SCREENS)


def country_of(path: Path, files: Mapping[str, str] | None = None) -> str:
    """The declared country of one file (refused, naming it, when it is not declared)."""
    by_file = {name: country for country, name in (files or FILES).items()}
    if path.name not in by_file:
        raise ValueError(
            f"file {path.name} is not a declared country file; declared: {sorted(by_file)}"
        )
    return by_file[path.name]


def harmonise_file(raw: pd.DataFrame, path: Path) -> pd.DataFrame:
    """The importer's transform: one country file (all cells as text) -> declared bids rows.
    A file without the authors' layout is refused, naming the file and the columns."""
    missing = [c for c in _REQUIRED if c not in raw.columns]
    if missing:
        raise ValueError(
            f"{path.name} lacks column(s) {missing} of the authors' layout; "
            f"present: {list(raw.columns)}"
        )
    numeric = raw.replace("", np.nan)
    for column in ("Tender", "Bid_value", "Winner", "Collusive_competitor", "Date", "Competitors"):
        if column in numeric.columns:
            values = pd.to_numeric(numeric[column], errors="coerce")
            bad = values.isna() & numeric[column].notna()
            if bad.any():
                row = int(np.flatnonzero(bad.to_numpy())[0]) + 2
                raise ValueError(
                    f"{path.name} column {column!r} row {row}: "
                    f"{numeric[column][bad].iloc[0]!r} is not a number"
                )
            numeric[column] = values
    return harmonise(numeric, country_of(path))


BIDS = SourceSpec(
    scenario="bid_rigging",
    agency="competition authorities (García Rodríguez et al. 2022)",
    table="bids",
    description="One row per bid in a public tender, with the authority's collusion finding.",
    keys=("bid_id",),
    date_column="tender_date",
    origin=FileOrigin(
        paths=tuple(f"{FOLDER}/{name}" for name in FILES.values()),
        transform=harmonise_file,
        ignore=(),
    ),
    columns=(
        ColumnSpec("bid_id", "string", "bid id: country:tender:n-th bid of the tender"),
        ColumnSpec("country", "string", "which country file the bid comes from"),
        ColumnSpec("tender_id", "string", "tender id: country:tender"),
        ColumnSpec("bidder_id", "string", "bidder id: country:company", nullable=True),
        ColumnSpec("bid_value", "float64", "bid amount", unit="local currency"),
        ColumnSpec("is_winner", "float64", "1 if the bid won the tender"),
        ColumnSpec("tender_date", "date", "tender date (calendar)", nullable=True),
        ColumnSpec("tender_time", "float64", "ordering time within the country", nullable=True),
        ColumnSpec("collusive", "float64", "Collusive_competitor: 1 if found collusive"),
    ),
)


class ProcurementDataError(FileNotFoundError):
    """The declared procurement files are missing or lack a column the features need."""


def procurement_dir(data_root: str | os.PathLike | None = None) -> Path:
    """The declared folder of the country files (``FOLDER``, read from this folder)."""
    folder = (Path(__file__).resolve().parent / FOLDER).resolve()
    if not folder.is_dir():
        raise ProcurementDataError(f"source bid_rigging.bids: declared folder {folder} is missing")
    return folder


def read_country(folder: Path, country: str) -> pd.DataFrame:
    """One declared country file, checked for the columns the features need."""
    if country not in FILES:
        raise ProcurementDataError(
            f"source bid_rigging.bids: no declared country {country!r}; declared: {sorted(FILES)}"
        )
    path = folder / FILES[country]
    if not path.is_file():
        raise ProcurementDataError(f"source bid_rigging.bids: file {path} is missing")
    raw = pd.read_csv(path)
    missing = [c for c in _REQUIRED if c not in raw.columns]
    if missing:
        raise ProcurementDataError(
            f"source bid_rigging.bids: {path.name} lacks column(s) {missing}"
        )
    return raw


def _times(raw: pd.DataFrame, country: str) -> tuple[pd.Series, pd.Series]:
    """(ordering time, calendar date) of each bid's tender; NaN/NaT where the file has none."""
    none_t = pd.Series(np.nan, index=raw.index)
    none_d = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[s]")
    if "Date" not in raw.columns or country in ("italy",):
        return none_t, none_d
    stamp = raw["Date"].astype("float64")
    if country == "america":
        dates = pd.to_datetime(stamp.astype("int64").astype(str) + "-12-31")
        return stamp, dates
    if country == "ch_gr":
        return stamp, none_d
    stamp = stamp.where(stamp > 0)
    return stamp, pd.to_datetime(stamp, unit="s")


def harmonise(raw: pd.DataFrame, country: str) -> pd.DataFrame:
    """One country's rows in the common bids shape."""
    tender = raw["Tender"].astype("int64").astype(str)
    nth = raw.groupby("Tender", sort=False).cumcount().astype(str)
    if "Competitors" in raw.columns:
        bidder = country + ":" + raw["Competitors"].astype("int64").astype(str)
    else:
        bidder = pd.Series(None, index=raw.index, dtype="string")
    time, dates = _times(raw, country)
    return pd.DataFrame(
        {
            "bid_id": country + ":" + tender + ":" + nth,
            "country": country,
            "tender_id": country + ":" + tender,
            "bidder_id": bidder.astype("string"),
            "bid_value": raw["Bid_value"].astype("float64"),
            "is_winner": raw["Winner"].astype("float64"),
            "tender_date": dates.dt.date,
            "tender_time": time.astype("float64"),
            "collusive": (raw["Collusive_competitor"].astype("float64") > 0).astype("float64"),
        }
    )


def load_bids(
    data_root: str | os.PathLike | None = None, countries: Sequence[str] | None = None
) -> pd.DataFrame:
    """All countries' bids in one frame (the ``bids`` source)."""
    folder = procurement_dir(data_root)
    parts = [harmonise(read_country(folder, c), c) for c in (countries or list(FILES))]
    return pd.concat(parts, ignore_index=True)


def authors_screens(data_root: str | os.PathLike | None = None) -> pd.DataFrame:
    """The authors' per-tender screens, one row per tender (for checking ours)."""
    folder = procurement_dir(data_root)
    rows = []
    for country in FILES:
        raw = read_country(folder, country)
        per = raw.groupby("Tender", sort=False)[list(SCREENS)].first().reset_index()
        per.insert(0, "tender_id", country + ":" + per["Tender"].astype("int64").astype(str))
        per.insert(1, "country", country)
        rows.append(per.drop(columns="Tender"))
    return pd.concat(rows, ignore_index=True)


def screen_match_rates(
    features: pd.DataFrame, authors: pd.DataFrame, *, rtol: float = 1e-3, atol: float = 1e-3
) -> pd.DataFrame:
    """Share of tenders where our screen equals the authors' (to their 4-decimal rounding).

    Compared on tenders where our value is defined (the authors store 0 where a screen is
    undefined, e.g. CV of a one-bid tender; we store NaN). One row per country, one column per
    screen, plus the number of tenders.
    """
    ours = features.assign(tender_id=features["entity_id"].str.rsplit(":", n=1).str[0])
    ours = ours.groupby("tender_id", sort=False).first().reset_index()
    both = ours.merge(authors, on="tender_id", how="inner", validate="one_to_one")
    rows = []
    for country, part in both.groupby("country", sort=True):
        row: dict[str, object] = {"country": country, "tenders": len(part)}
        for screen in SCREENS:
            mine = part[screen.lower()].to_numpy(float)
            theirs = part[screen].to_numpy(float)
            defined = ~np.isnan(mine)
            close = np.isclose(mine[defined], theirs[defined], rtol=rtol, atol=atol)
            row[screen] = float(close.mean()) if defined.any() else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)


def procurement_truth(data_root: str) -> pd.DataFrame:
    """Evaluation-only truth: the competition authorities' findings, one row per bid id as
    the features name it (the simulated verifying staff read it; training never does)."""
    bids = load_bids()
    collusive = bids["collusive"].to_numpy(float) > 0
    return pd.DataFrame(
        {
            "entity_id": bids["bid_id"].astype(str),
            "district": bids["country"],
            "is_fraud": collusive,
            "pattern": np.where(collusive, "collusion", "none"),
        }
    )
