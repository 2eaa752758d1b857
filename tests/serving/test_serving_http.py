"""Serving through real HTTP: ``bentoml serve`` started on a free loopback port, and the staff web
page driven in headless Chromium (Debian's ``chromium`` through Playwright).

One server serves the whole module (starting BentoML takes a while); it is stopped by its
process group id at the end.
"""

from __future__ import annotations

import subprocess
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest

from serving.launch import running_service
from serving.sandbox import SCENARIO

pytestmark = (
    pytest.mark.slow
)  # minutes, not seconds (trains, serves or benchmarks): make test-fast skips it

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def server(sandbox, tmp_path_factory):
    """``bentoml serve`` on 127.0.0.1 and a free port, waited on /readyz, stopped by PID."""
    log = tmp_path_factory.mktemp("http-log") / "serve.log"
    env = {**sandbox.env(refresh_seconds=1.0), "BENTOML_HOME": str(sandbox.root / "bentoml")}
    with running_service(env, log) as base:
        yield base


def bearer(sandbox, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {sandbox.keys[who]}"}


def test_probes_and_openapi(server) -> None:
    assert httpx.get(f"{server}/readyz").status_code == 200
    assert httpx.get(f"{server}/healthz").status_code == 200
    health = httpx.get(f"{server}/v1/health").json()
    assert health["status"] == "ok"
    assert any(m["alias"] == "champion" and m["version"] == "1" for m in health["models"])
    spec = httpx.get(f"{server}/docs.json").json()
    assert {"/v1/score", "/v1/leads", "/v1/leads/{lead_id}/outcome", "/v1/ledger"} <= set(
        spec["paths"]
    )


def test_score_over_http(server, sandbox) -> None:
    got = httpx.post(
        f"{server}/v1/score",
        headers=bearer(sandbox, "system"),
        timeout=60,
        json={"scenario": SCENARIO, "all_entities": True, "explain_top": 5},
    )
    assert got.status_code == 200, got.text
    data = got.json()
    assert data["model"] == {**data["model"], "version": "1", "alias": "champion"}
    explained = sorted((r for r in data["results"] if r["reasons"]), key=lambda r: r["rank"])
    assert [r["rank"] for r in explained] == [1, 2, 3, 4, 5]
    assert (
        httpx.post(
            f"{server}/v1/score", json={"scenario": SCENARIO, "all_entities": True}
        ).status_code
        == 401
    )
    assert (
        httpx.post(
            f"{server}/v1/score",
            headers=bearer(sandbox, "system"),
            json={"scenario": SCENARIO, "all_entities": "yes please"},
        ).status_code
        == 422
    )


def test_outcome_loop_over_http(server, sandbox) -> None:
    staff = bearer(sandbox, "staff:Chaoyang")
    listed = httpx.get(f"{server}/v1/leads", params={"status": "new"}, headers=staff).json()
    assert listed["items"] and {i["district"] for i in listed["items"]} == {"Chaoyang"}
    lead = listed["items"][-1]["id"]
    deadline = (date.today() + timedelta(days=10)).isoformat()
    steps = [
        ("assign", {"unit": "Chaoyang unit 2", "assignee": "Li", "deadline": deadline}),
        ("start", {}),
        ("outcome", {"outcome": "no_case", "note": "sales explained"}),
    ]
    for step, body in steps:
        got = httpx.post(f"{server}/v1/leads/{lead}/{step}", json=body, headers=staff)
        assert got.status_code == 200, (step, got.text)
    closed = httpx.get(f"{server}/v1/leads", params={"status": "no_case"}, headers=staff).json()
    assert lead in [i["id"] for i in closed["items"]]
    foreign = httpx.get(f"{server}/v1/leads/{lead}", headers=bearer(sandbox, "staff:Haidian"))
    assert foreign.status_code == 403


REPORTS = Path(__file__).resolve().parents[2] / "reports"


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed")
def test_staff_web_page(server, sandbox, tmp_path_factory) -> None:
    """Log in with a staff key (the page is in Chinese), move through the list by keyboard, open
    a lead, see the reasons chart, print its hand-over PDF and read the Chinese back, dispatch,
    verify, record an outcome, see it; English on request. Screenshots go to ``reports/``."""
    from playwright.sync_api import expect, sync_playwright

    REPORTS.mkdir(exist_ok=True)
    pdf = tmp_path_factory.mktemp("handover") / "handover.pdf"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000}, accept_downloads=True)
            page.goto(f"{server}/ui/")
            expect(page.locator("#login-form button")).to_have_text("登录")
            page.fill("#key", "not-a-key")
            page.click("#login-form button")
            expect(page.locator("#login-error")).to_contain_text("401")
            page.fill("#key", sandbox.keys["staff:Haidian"])
            page.click("#login-form button")
            expect(page.locator("#who-text")).to_contain_text("Haidian")
            rows = page.locator("#leads tbody tr")
            expect(rows.first).to_be_visible()
            assert page.locator("#f-scenario").input_value() == SCENARIO  # one model at a time
            districts = rows.locator("td:nth-child(10)").all_inner_texts()
            assert districts and set(districts) == {"海淀"}
            page.select_option("#f-sort", "amount")
            page.select_option("#f-status", "new")

            def sorted_new(response) -> bool:  # the list request the filter button sends
                return (
                    "/v1/leads?" in response.url
                    and "sort=amount" in response.url
                    and ("status=new" in response.url)
                )

            with page.expect_response(sorted_new) as answered:
                page.click("#filters button")
            first = answered.value.json()["items"][0]["id"]
            # the table is re-drawn from that answer (not read while the old rows still show)
            expect(rows.first).to_have_attribute("data-lead-id", str(first))
            expect(rows.first).to_contain_text("新线索")
            # sorted by amount at stake on the server, largest first, shown with its unit
            amounts = [float(a) for a in rows.evaluate_all("rs => rs.map(r => r.dataset.amount)")]
            assert len(amounts) > 3 and amounts == sorted(amounts, reverse=True)
            assert "万元" in rows.first.locator("td.amount").inner_text()
            page.screenshot(path=str(REPORTS / "web-list-zh.png"), full_page=True)
            page.focus("#leads")
            page.keyboard.press("ArrowDown")
            page.keyboard.press("Enter")
            # a cold service's first lead imports the declarations and reads the pool's
            # evidence (seconds on the shared machine): a wait, not a speed assertion
            expect(page.locator("#d-title")).to_contain_text("线索", timeout=90_000)
            lead_id = page.locator("#handover-page").get_attribute("data-lead-id")
            assert lead_id == rows.first.get_attribute("data-lead-id")  # opened by keyboard
            expect(page.locator("#chart rect").first).to_be_visible()
            assert page.locator("#chart rect").count() >= 3
            expect(page.locator("#d-reasons")).to_contain_text("********")
            # the amount with its unit, the probability with its interval
            expect(page.locator("#d-amount")).to_contain_text("元")
            expect(page.locator("#d-probability")).to_contain_text("90%区间")
            # the evidence chart: one path per declared series, a point per month
            chart = page.locator("#evidence-chart")
            expect(chart.locator("path.series").first).to_be_attached(timeout=90_000)
            drawn = chart.locator("path.series").evaluate_all("ps => ps.map(p => p.dataset.series)")
            assert drawn == ["declared", "invoiced", "delivered", "vehicles"]
            for name in drawn:
                points = chart.locator(f"circle.point[data-series='{name}']")
                assert points.count() == 12, name
                assert (
                    chart.locator(f"path[data-series='{name}']").get_attribute("d").count("L") == 11
                )
            declared = sum(
                float(v)
                for v in chart.locator("circle[data-series='declared']").evaluate_all(
                    "cs => cs.map(c => c.dataset.value)"
                )
            )
            delivered = sum(
                float(v)
                for v in chart.locator("circle[data-series='delivered']").evaluate_all(
                    "cs => cs.map(c => c.dataset.value)"
                )
            )
            assert declared < delivered
            peers = page.locator("#peer-charts svg.peer-chart")
            assert peers.count() == 2 and peers.first.locator("rect.peer-bar").count() == 20
            expect(peers.first.locator("line.peer-mark")).to_be_attached()
            chart.screenshot(path=str(REPORTS / "web-evidence-chart.png"))
            # the source rows, newest first, ten at a time
            waybills = page.locator("table.evidence-table[data-table='tanker_waybills']")
            first_page = waybills.locator("tr").nth(1).inner_text()
            waybills.locator("xpath=following-sibling::p[1]").get_by_text("后10条").click()
            assert waybills.locator("tr").nth(1).inner_text() != first_page
            with page.expect_download() as download:
                page.click("#handover-pdf")
            download.value.save_as(str(pdf))
            deadline = (date.today() + timedelta(days=7)).isoformat()
            page.fill("#assign-form input[name=unit]", "海淀区税务核查组")
            page.fill("#assign-form input[name=assignee]", "张")
            page.fill("#assign-form input[name=deadline]", deadline)
            page.click("#assign-form button")
            expect(page.locator("#action-message")).to_have_text("已交办。")
            page.click("#start-form button")
            expect(page.locator("#action-message")).to_have_text("已开始核查。")
            page.select_option("#outcome-form select[name=outcome]", "case_filed")
            page.fill("#outcome-form input[name=amount_recovered]", "880000")
            page.fill("#outcome-form input[name=case_reference]", "京海检 2025 31")
            page.click("#outcome-form button")
            expect(page.locator("#action-message")).to_have_text("结果已记录。")
            page.screenshot(path=str(REPORTS / "web-lead-zh.png"), full_page=True)
            page.select_option("#f-status", "case_filed")
            page.click("#filters button")
            row = page.locator(f"#leads tbody tr[data-lead-id='{lead_id}']")
            expect(row).to_contain_text("已成案")
            page.select_option("#lang", "en")
            expect(page.locator("#d-title")).to_contain_text(f"Lead {lead_id}")
            expect(row).to_contain_text("case_filed")
            page.screenshot(path=str(REPORTS / "web-lead-en.png"), full_page=True)
        finally:
            browser.close()
    assert pdf.read_bytes()[:5] == b"%PDF-"
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "线索移送表" in text and "接收单位回执" in text and "海淀" in text
    lead = httpx.get(f"{server}/v1/leads/{lead_id}", headers=bearer(sandbox, "admin")).json()
    stakes = lead["amount_at_stake"]
    assert "涉案金额" in text and stakes["text"]["zh"] in text and "证据图表" in text
    (REPORTS / "handover.txt").write_text(text, encoding="utf-8")
    got = httpx.get(f"{server}/v1/leads/{lead_id}", headers=bearer(sandbox, "admin")).json()
    assert got["outcome"]["outcome"] == "case_filed"
    assert got["outcome"]["amount_recovered"] == 880000
