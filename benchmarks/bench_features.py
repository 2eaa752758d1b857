"""Benchmark: fuel_tax feature build on DuckDB (Ibis) against the same features in plain pandas.

For each SCALE (1 and 10; quick: 0.05 and 0.2) the fuel_tax pool is simulated once into a
cache folder (reused when present), then each engine builds the features as of the pool's last
month in a fresh subprocess, so peak memory (max RSS of that process) belongs to one build.
Reported: build seconds, source rows read per second, peak RSS, and how many pandas values
agree with DuckDB's (a check that the two do the same work).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from features import registry
from features.build import build_features
from settings import get_settings

SCENARIO = "fuel_tax"
AS_OF = date(2025, 6, 30)


def _cache() -> Path:
    """Where built pools are kept between runs (``BENCH_POOL_CACHE``)."""
    return get_settings().bench_pool_cache or Path(tempfile.gettempdir()) / "bench-pools"


def pool_root(scale: float) -> Path:
    """A fuel_tax pool at ``scale`` (built through pool.build's API on first use)."""
    root = _cache() / f"fuel_tax-scale{scale:g}"
    if not (root / "pool" / "manifest.json").is_file():
        # deferred: the measuring children load this module, and the simulator would add to
        # their peak memory
        from pool.build import build
        from pool.spec import SimConfig

        build(SimConfig(seed=42, scale=scale), root, [SCENARIO])
    return root


def source_rows(root: Path) -> int:
    """Rows in every fuel_tax source the features read."""
    import pyarrow.parquet as pq

    folder = root / "pool" / SCENARIO
    return sum(pq.ParquetFile(p).metadata.num_rows for p in folder.glob("*.parquet"))


# ---- the same features, written plainly in pandas -------------------------------------------

_BRANCH = r"(第一分公司|第二加油站|分公司|加油站|经营部)$"
_COMPANY = r"(股份有限公司|有限责任公司|有限公司)$"


def _codes(s: pd.Series) -> pd.Series:
    out = s.astype("string").str.normalize("NFKC").str.upper()
    out = out.str.replace(r"[\s\-_.\u3000]", "", regex=True)
    out = out.str.replace("O", "0").str.replace("I", "1")
    return out.where(out.str.len() > 0)


def _names(s: pd.Series) -> pd.Series:
    out = s.astype("string").str.normalize("NFKC").str.replace(r"[\s()（）]", "", regex=True)
    cut = out.str.replace(_BRANCH, "", regex=True)
    out = cut.where(cut.str.len() > 0, out).str.replace(_COMPANY, "", regex=True)
    return out.where(out.str.len() > 0)


def _month(s: pd.Series) -> pd.Series:
    s = pd.to_datetime(s)
    return s.dt.year * 12 + s.dt.month


def _known(df: pd.DataFrame, dated: str, filed: str | None, when: pd.Timestamp) -> pd.DataFrame:
    keep = pd.to_datetime(df[dated]) <= when
    if filed:
        keep &= pd.to_datetime(df[filed]) <= when
    return df[keep]


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    num, den = pd.Series(num, dtype="float64"), pd.Series(den, dtype="float64")
    return (num / den).where(den > 0)


def _resolve(
    df: pd.DataFrame,
    codes: set[str],
    by_name: dict[str, str],
    code_col: str | None = None,
    name_col: str | None = None,
) -> pd.Series:
    found = pd.Series(pd.NA, index=df.index, dtype="string")
    if code_col:
        c = _codes(df[code_col])
        found = c.where(c.isin(codes))
    if name_col:
        found = found.fillna(_names(df[name_col]).map(by_name))
    return found


def pandas_fuel_tax(root: Path, as_of: date) -> pd.DataFrame:
    """fuel_tax features as ``models.fuel_tax.features`` defines them, in plain pandas."""
    folder, when = root / "pool" / SCENARIO, pd.Timestamp(as_of)
    read = lambda t: pd.read_parquet(folder / f"{t}.parquet")  # noqa: E731
    reg = _known(read("company_registry"), "opened_on", None, when)
    st = reg[reg["nozzles"].notna()].copy()
    st["code"], st["nname"] = _codes(st["credit_code"]), _names(st["name"])
    counts = st.groupby("nname")["code"].nunique()
    by_name = st[st["nname"].isin(counts[counts == 1].index)].set_index("nname")["code"].to_dict()
    codes = set(st["code"])
    last = as_of.year * 12 + as_of.month - (1 if as_of.day >= 15 else 2)
    first = last - 11

    def windowed(df: pd.DataFrame, month_col: str) -> pd.DataFrame:
        df = df.assign(m=_month(df[month_col]))
        return df[(df["m"] >= first) & (df["m"] <= last) & df["station"].notna()]

    f = _known(read("tax_filings"), "period", "filed_on", when)
    f = f.assign(station=_resolve(f, codes, by_name, "taxpayer_code", "taxpayer_name"))
    f = windowed(f, "period")
    deadline = pd.to_datetime(f["period"]) + pd.DateOffset(months=1) + pd.Timedelta(days=14)
    f = f.assign(late=(pd.to_datetime(f["filed_on"]) > deadline).astype(int))
    g = f.groupby(["station", "m"])
    f = f.assign(last_filed=g["filed_on"].transform("max"), first_late=g["late"].transform("min"))
    f = f[f["filed_on"] == f["last_filed"]]
    fil = (
        f.groupby(["station", "m"])
        .agg(
            gas=("declared_gasoline_litres", "mean"),
            diesel=("declared_diesel_litres", "mean"),
            ctax=("consumption_tax_yuan", "mean"),
            late=("first_late", "max"),
        )
        .reset_index()
    )

    w = _known(read("tanker_waybills"), "shipped_at", None, when)
    w = windowed(
        w.assign(station=_resolve(w, codes, by_name, None, "consignee_name")), "shipped_at"
    )
    w = w.assign(gas=w["litres"].where(w["product"] == "汽油", 0.0))
    dlv = (
        w.groupby(["station", "m"])
        .agg(delivered=("litres", "sum"), delivered_gas=("gas", "sum"))
        .reset_index()
    )
    dlv["delivered_diesel"] = dlv["delivered"] - dlv["delivered_gas"]

    i = _known(read("purchase_invoices"), "issued_on", None, when)
    i = windowed(
        i.assign(station=_resolve(i, codes, by_name, "buyer_code", "buyer_name")), "issued_on"
    )
    oil = i["product_name"].str.startswith("*汽油*") | i["product_name"].str.startswith("*柴油*")
    i = i.assign(
        inv_oil=i["quantity_litres"].where(oil, 0.0),
        inv_other=i["quantity_litres"].where(~oil, 0.0),
    )
    inv = i.groupby(["station", "m"])[["inv_oil", "inv_other"]].sum().reset_index()

    c = _known(read("traffic_cameras"), "period", None, when)
    c = windowed(c.assign(station=_resolve(c, codes, by_name, None, "site_name")), "period")
    cam = c.groupby(["station", "m"])["vehicles_entered"].sum().rename("vehicles").reset_index()

    return _pandas_station_table(st, fil, dlv, inv, cam, w, first, last)


def _pandas_station_table(
    st: pd.DataFrame,
    fil: pd.DataFrame,
    dlv: pd.DataFrame,
    inv: pd.DataFrame,
    cam: pd.DataFrame,
    w: pd.DataFrame,
    first: int,
    last: int,
) -> pd.DataFrame:
    j = fil.merge(dlv, on=["station", "m"], how="left").merge(inv, on=["station", "m"], how="left")
    j = j.merge(cam, on=["station", "m"], how="left")
    j["declared"] = j["gas"] + j["diesel"]
    delivered = j["delivered"].fillna(0.0)
    j["under"] = (j["declared"] < 0.8 * delivered).astype(float).where(delivered > 0)
    j["declared_cam"] = j["declared"].where(j["vehicles"].notna(), 0.0)
    j = j.assign(
        delivered_f=delivered,
        dg=j["delivered_gas"].fillna(0.0),
        dd=j["delivered_diesel"].fillna(0.0),
        io=j["inv_oil"].fillna(0.0),
    )
    tot = j.groupby("station").agg(
        filed_months=("m", "nunique"),
        late_months=("late", "sum"),
        declared=("declared", "sum"),
        declared_gas=("gas", "sum"),
        declared_diesel=("diesel", "sum"),
        ctax=("ctax", "sum"),
        delivered_f=("delivered_f", "sum"),
        dg=("dg", "sum"),
        dd=("dd", "sum"),
        inv_oil_f=("io", "sum"),
        under_months=("under", "mean"),
        declared_cam=("declared_cam", "sum"),
        vehicles=("vehicles", lambda s: s.sum(min_count=1)),
    )
    allm = pd.concat(
        [
            dlv.groupby("station")["delivered"].sum().rename("delivered_all"),
            inv.groupby("station")[["inv_oil", "inv_other"]].sum(),
        ],
        axis=1,
    )
    t = st.set_index("code")[["district", "nozzles", "opened_on"]].join(tot).join(allm)
    months = t["filed_months"].fillna(0)
    invoiced = t["inv_oil"].fillna(0.0) + t["inv_other"].fillna(0.0)
    opened = _month(t["opened_on"])
    out = pd.DataFrame(index=t.index)
    out["district"], out["nozzles"] = t["district"], t["nozzles"].astype(float)
    out["declared_to_delivered"] = _ratio(t["declared"], t["delivered_f"])
    out["months_under_declared"] = t["under_months"]
    out["declared_to_invoiced"] = _ratio(t["declared"], t["inv_oil_f"])
    out["invoiced_to_delivered"] = _ratio(invoiced, t["delivered_all"])
    out["nonoil_invoice_share"] = _ratio(t["inv_other"].fillna(0.0), invoiced)
    out["consumption_tax_to_declared"] = _ratio(
        t["ctax"], 1.52 * t["declared_gas"] + 1.20 * t["declared_diesel"]
    )
    out["consumption_tax_to_delivered"] = _ratio(t["ctax"], 1.52 * t["dg"] + 1.20 * t["dd"])
    out["declared_per_vehicle"] = _ratio(t["declared_cam"], t["vehicles"])
    per_nozzle = _ratio(t["declared"], t["nozzles"] * months)
    size = np.select([t["nozzles"] <= 4, t["nozzles"] <= 8, t["nozzles"] <= 12], [1, 2, 3], 4)
    expected = (last - np.maximum(first, opened) + 1).clip(lower=0)
    out["missing_filing_months"] = (expected - months).clip(lower=0).astype(float)
    out["late_filing_share"] = _ratio(t["late_months"], months)
    for col, by, name in (
        ("declared_to_delivered", out["district"], "declared_to_delivered_vs_district"),
        ("declared_per_vehicle", out["district"], "declared_per_vehicle_vs_district"),
        (None, size, "throughput_vs_size_class"),
    ):
        values = per_nozzle if col is None else out[col]
        out[name] = _ratio(values, values.groupby(np.asarray(by)).transform("median"))
    out["supplier_suspicious_share"] = _pandas_supplier(w, out)
    return out.rename_axis("entity_id").reset_index()


def _pandas_supplier(w: pd.DataFrame, out: pd.DataFrame) -> pd.Series:
    per = (
        w[w["shipper_name"].notna()]
        .groupby(["station", "shipper_name"])["litres"]
        .sum()
        .reset_index()
        .sort_values(["station", "litres", "shipper_name"], ascending=[True, False, True])
    )
    main = per.drop_duplicates("station")
    sus = (out["declared_to_delivered_vs_district"] < 0.85).astype(int)
    per = per[per["station"].isin(out.index)].assign(sus=per["station"].map(sus))
    tally = per.groupby("shipper_name").agg(n=("station", "nunique"), n_sus=("sus", "sum"))
    main = main.join(tally, on="shipper_name").set_index("station")
    main = main[main.index.isin(out.index)]
    own = sus.reindex(main.index)
    share = _ratio(main["n_sus"] - own, main["n"] - 1)
    return share.reindex(out.index)


# ---- measuring -------------------------------------------------------------------------------


def _measure(engine: str, root: Path) -> dict:
    """Run one build in this process; returns seconds, entities and peak RSS (MB)."""
    registry.get(SCENARIO)  # imports stay outside the timed part, for both engines
    started = time.perf_counter()
    if engine == "pandas":
        frame = pandas_fuel_tax(root, AS_OF)
    else:
        frame = build_features(SCENARIO, AS_OF, root, engine=engine).frame
    seconds = time.perf_counter() - started
    frame.to_parquet(root / f"bench_{engine}.parquet")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "entities": len(frame), "peak_rss_mb": peak}


def _in_subprocess(engine: str, root: Path) -> dict:
    code = (
        "import json, sys; from pathlib import Path; "
        "from benchmarks.bench_features import _measure; "
        f"print(json.dumps(_measure({engine!r}, Path({str(root)!r}))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def agreement(root: Path) -> float:
    """Share of feature values on which pandas and DuckDB agree (both NaN counts as equal)."""
    names = registry.get(SCENARIO).feature_names
    a = pd.read_parquet(root / "bench_duckdb.parquet").set_index("entity_id")[names]
    b = pd.read_parquet(root / "bench_pandas.parquet").set_index("entity_id")[names]
    b = b.reindex(a.index)
    x, y = a.to_numpy(float), b.to_numpy(float)
    same = np.isclose(x, y, rtol=1e-9, atol=1e-9) | (np.isnan(x) & np.isnan(y))
    return float(same.mean())


def run(quick: bool = False) -> list[dict]:
    """Build times, rows/s and peak memory per scale and engine, plus the pandas speed-up."""
    rows = []
    for scale in (0.05, 0.2) if quick else (1.0, 10.0):
        root = pool_root(scale)
        n_rows = source_rows(root)
        timed = {engine: _in_subprocess(engine, root) for engine in ("duckdb", "pandas")}
        agree = agreement(root)
        for engine, m in timed.items():
            rows.append(
                {
                    "scale": scale,
                    "engine": engine,
                    "source_rows": n_rows,
                    "entities": m["entities"],
                    "seconds": round(m["seconds"], 2),
                    "rows_per_s": round(n_rows / m["seconds"]),
                    "peak_rss_mb": round(m["peak_rss_mb"]),
                    "speedup_vs_pandas": round(timed["pandas"]["seconds"] / m["seconds"], 2),
                    "agree_with_duckdb": round(agree, 4),
                }
            )
    return rows
