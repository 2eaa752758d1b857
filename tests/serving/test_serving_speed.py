"""Staff workload speed (issue 15): what a lead detail reads is built when a model is loaded,
not on the first request; the evidence index finds exactly what a scan of every cell finds.

Behaviour only: how fast is measured by ``make bench`` (``--only serving``), never here.
"""

from __future__ import annotations

import gc

import numpy as np
import pandas as pd
import pytest

from pool.keys import normalise_code
from pool.load import load_pool
from serving import shap_reasons
from serving.app import reference_scores, warm_at_load
from serving.champions import ModelHub
from serving.evidence import EvidenceIndex, normalise_codes, normalised_text_columns, pool_tables
from serving.evidence_series import EvidenceSeries
from serving.feature_cache import FeatureSource
from serving.sandbox import SCENARIO


@pytest.fixture(scope="module")
def fuel_tables(fuel_root) -> dict[str, pd.DataFrame]:
    return load_pool(fuel_root, "fuel_tax")


def test_evidence_index_and_percentile_base_are_built_at_model_load(sandbox, fuel_root) -> None:
    from training.mlflow_setup import open_client, resolve

    loads: list[str] = []
    tables = pool_tables(fuel_root)

    def counting(scenario: str) -> dict[str, pd.DataFrame]:
        loads.append(scenario)
        return tables(scenario)

    features = FeatureSource(lambda s: pd.read_parquet(sandbox.features_dir / f"{s}.parquet"))
    evidence = EvidenceIndex(counting, lambda: 1.0)
    series = EvidenceSeries(counting, lambda: 1.0)
    client = open_client(resolve(tracking_uri=sandbox.tracking_uri))
    hub = ModelHub(client, 0, reference_scores(features), warm_at_load(features, evidence, series))
    assert not evidence.is_built(SCENARIO) and not series.is_prepared(SCENARIO)
    gc.unfreeze()
    hub.start()  # loads the champion: nothing has asked for a lead yet
    assert gc.get_freeze_count() > 0  # what was loaded is out of the full collections' walk
    gc.unfreeze()
    served = hub.get(SCENARIO)
    assert served.reference is not None and len(served.reference) == len(features.table(SCENARIO))
    assert evidence.is_built(SCENARIO) and series.is_prepared(SCENARIO)
    assert loads == [SCENARIO, SCENARIO]  # the index's tables, then the charts' series
    background = features.table(SCENARIO)
    assert id(background) in shap_reasons._PEERS  # the reasons' peer medians too
    code = load_pool(fuel_root, "fuel_tax")["company_registry"]["credit_code"].iloc[0]
    assert evidence.records(SCENARIO, code)["company_registry"]["count"] >= 1
    assert evidence.names(SCENARIO, [code])[code]
    charts = series.view(SCENARIO, code, background)
    assert charts["declared"] and "error" not in charts
    assert any(s["points"] for s in charts["series"])  # the entity's own monthly series
    assert loads == [SCENARIO, SCENARIO]  # the requests read what was built at load


def test_a_new_pool_version_rebuilds_the_index(fuel_tables) -> None:
    stamp = [1.0]
    loads: list[str] = []

    def loader(scenario: str) -> dict[str, pd.DataFrame]:
        loads.append(scenario)
        return fuel_tables

    index = EvidenceIndex(loader, lambda: stamp[0])
    index.build("fuel_tax")
    assert index.is_built("fuel_tax")
    stamp[0] = 2.0
    assert not index.is_built("fuel_tax")
    index.build("fuel_tax")
    assert loads == ["fuel_tax", "fuel_tax"] and index.is_built("fuel_tax")


def test_vectorised_normalisation_equals_normalise_code_on_every_pool_spelling(fuel_tables) -> None:
    values = []
    for table in fuel_tables.values():
        for column in table.columns:
            if pd.api.types.is_string_dtype(table[column]) or table[column].dtype == object:
                values += table[column].dropna().unique().tolist()
    values += [
        "  9111-0108 ma01abcd2x ",
        "\u3000110101199001011234\u3000",
        "nan",
        " None ",
        "-",
        "",
        "o.i_x",
        "Ä-o",
        12,
        3.5,
        None,
    ]
    array = np.array(values + [None], dtype=object)[:-1]
    assert len(array) > 1000
    assert normalise_codes(array).tolist() == [normalise_code(v) for v in array]


def test_index_finds_what_a_scan_of_every_cell_finds(fuel_tables) -> None:
    index = EvidenceIndex(lambda scenario: fuel_tables, lambda: 1.0)
    scanned = {name: normalised_text_columns(t) for name, t in fuel_tables.items()}
    rng = np.random.default_rng(0)
    registry = fuel_tables["company_registry"]["credit_code"]
    invoices = fuel_tables["purchase_invoices"]
    text = [c for c in invoices.columns if c in scanned["purchase_invoices"]]
    probes = list(registry.sample(5, random_state=1)) + [
        invoices[text[0]].iloc[int(i)] for i in rng.integers(0, len(invoices), 3)
    ]
    for code in probes:
        target = normalise_code(code)
        found = index.records("fuel_tax", code)
        for name, keys in scanned.items():
            hits = np.zeros(len(fuel_tables[name]), dtype=bool)
            for series in keys.values():
                hits |= series.eq(target).fillna(False).to_numpy(dtype=bool)
            shown = found.get(name, {"count": 0, "by_name": 0})
            assert shown["count"] - shown["by_name"] == int(hits.sum()), (code, name)


@pytest.mark.parametrize(
    ("where", "index"),
    [
        ("district = 'Haidian'", "ix_leads_district_rank"),
        ("scenario = 'fuel_tax' AND district = 'Haidian'", "ix_leads_scenario_rank"),
        ("1 = 1", "ix_leads_rank"),
    ],
)
def test_the_lead_list_walks_an_index_in_rank_order(tmp_path, where, index) -> None:
    import sqlite3

    from leads.store import LeadStore

    LeadStore.open(f"sqlite:///{tmp_path / 'leads.db'}").close()  # migrated to head
    with sqlite3.connect(tmp_path / "leads.db") as con:
        plan = " | ".join(
            row[-1]
            for row in con.execute(
                f"EXPLAIN QUERY PLAN SELECT * FROM leads WHERE {where} "  # noqa: S608 - fixed text
                "ORDER BY score DESC, id LIMIT 20"
            )
        )
    assert index in plan and "TEMP B-TREE FOR ORDER BY" not in plan, plan  # no full sort


def test_the_gate_refuses_at_once_when_the_expected_wait_passes_the_timeout() -> None:
    import asyncio

    from serving.admission import Gate

    async def scenario() -> tuple[list[bool], list[bool], float]:
        gate = Gate(concurrency=1, queue=10)
        assert await gate.enter(1.0)  # the only slot, held
        gate.leave(0.4)  # one request held a slot for 0.4 s: the service time
        assert await gate.enter(1.0)
        waiting = [asyncio.create_task(gate.enter(1.0)) for _ in range(2)]  # 0.4 s, 0.8 s
        await asyncio.sleep(0)
        late = asyncio.create_task(gate.enter(1.0))  # would wait 1.2 s > 1 s
        await asyncio.sleep(0)  # one turn of the loop: refused without waiting
        first = [late.done() and not late.result(), all(not t.done() for t in waiting)]
        expected = gate.expected_wait()
        gate.leave(0.4)
        gate.leave(0.4)
        return first, [await t for t in waiting], expected

    first, admitted, expected = asyncio.run(scenario())
    assert first == [True, True] and admitted == [True, True]
    assert expected == pytest.approx(1.2)


def test_every_worker_polls_the_registry_and_serves_the_same_champion(sandbox, tmp_path) -> None:
    import time

    import httpx

    from serving.launch import running_service
    from serving.sandbox import fit_scorer, register

    table = pd.read_parquet(sandbox.features_dir / f"{SCENARIO}.parquet")
    env = {**sandbox.env(refresh_seconds=1.0), "BENTOML_HOME": str(tmp_path / "bentoml")}

    def champions_by_worker(base: str, tries: int = 200) -> dict[str, set[str]]:
        seen: dict[str, set[str]] = {}
        for _ in range(tries):  # a new connection each time: the kernel spreads them
            got = httpx.get(f"{base}/v1/health", timeout=30, headers={"Connection": "close"})
            versions = {m["version"] for m in got.json()["models"] if m["alias"] == "champion"}
            seen.setdefault(got.headers["X-Worker"], set()).update(versions)
            if len(seen) >= 2 and _ >= 20:
                break
        return seen

    with running_service(env, tmp_path / "serve.log", workers=2) as base:
        before = champions_by_worker(base)
        assert len(before) == 2, f"one worker answered everything: {before}"
        labels = (table["waybill_gap"] > table["waybill_gap"].median()).astype(int)
        version = register(
            sandbox,
            fit_scorer(table, labels.to_numpy(), seed=11, n_estimators=10),
            table,
            "champion",
        )
        deadline = time.monotonic() + 120
        after = champions_by_worker(base, tries=50)
        while time.monotonic() < deadline and (
            len(after) < 2 or any(v != {version} for v in after.values())
        ):
            time.sleep(1)
            after = champions_by_worker(base, tries=50)
    assert len(after) == 2 and all(v == {version} for v in after.values()), (before, after)
