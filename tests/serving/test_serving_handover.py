"""The hand-over document (线索移送表): printable page and Chromium PDF, Chinese by default,
IDs masked unless revealed with a reason, district scope, batch, bad input named, audited."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")


def auth(sandbox, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {sandbox.keys[who]}"}


def haidian_leads(client, sandbox) -> list[dict]:
    got = client.get("/v1/leads", headers=auth(sandbox, "staff:Haidian"))
    assert got.status_code == 200, got.text
    return got.json()["items"]


def test_the_page_is_a_chinese_handover_form_with_masked_ids(client, sandbox) -> None:
    lead = haidian_leads(client, sandbox)[0]
    got = client.get(
        f"/v1/leads/{lead['id']}/handover.html", headers=auth(sandbox, "staff:Haidian")
    )
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/html")
    page = got.text
    for label in (
        "线索移送表",
        "线索编号",
        "监督模型及版本",
        "线索理由",
        "接收单位回执",
        "签字（盖章）",
        "海淀区人民检察院",
        "个人身份证号已脱敏",
    ):
        assert label in page, label
    assert f"v{lead['model_version']}" in page
    assert "********" in page  # the sandbox's reasons carry an ID number: masked
    # the amount at stake with its unit and basis, the probability with its interval
    assert "涉案金额（估算）" in page and "金额口径" in page and "90%区间" in page
    assert ("万元" in page or "亿元" in page) and lead["amount_text"]["zh"] in page
    # the evidence charts: one path per declared series, with the station's months
    for series in ("declared", "invoiced", "delivered", "vehicles"):
        assert f"data-series='{series}'" in page, series
    assert "证据图表" in page and "class='peer-chart'" in page
    english = client.get(
        f"/v1/leads/{lead['id']}/handover.html?lang=en", headers=auth(sandbox, "staff:Haidian")
    ).text
    assert "Lead hand-over form" in english and "线索移送表" not in english


def test_scope_bad_input_and_reveal_rules(client, sandbox) -> None:
    lead = haidian_leads(client, sandbox)[0]
    foreign = client.get(
        f"/v1/leads/{lead['id']}/handover.html", headers=auth(sandbox, "staff:Chaoyang")
    )
    assert foreign.status_code == 403
    bad = client.get("/v1/handover.html?ids=1,x", headers=auth(sandbox, "staff:Haidian"))
    assert bad.status_code == 422 and "ids" in bad.text
    assert (
        client.get(
            f"/v1/leads/{lead['id']}/handover.html?lang=fr", headers=auth(sandbox, "staff:Haidian")
        ).status_code
        == 422
    )
    no_reason = client.get(
        f"/v1/leads/{lead['id']}/handover.html?reveal=true", headers=auth(sandbox, "admin")
    )
    assert no_reason.status_code == 422


def test_batch_has_one_form_per_lead_and_is_audited(client, sandbox) -> None:
    from leads.store import LeadStore

    ids = [lead["id"] for lead in haidian_leads(client, sandbox)[:3]]
    got = client.get(
        f"/v1/handover.html?ids={','.join(map(str, ids))}", headers=auth(sandbox, "staff:Haidian")
    )
    assert got.status_code == 200
    assert got.text.count("<section class='form'>") == len(ids)
    store = LeadStore.open(sandbox.leads_url)
    try:
        actions = [a for a in store.audit_entries(object_type="lead") if a.action == "handover"]
    finally:
        store.close()
    assert any(a.object_id == ",".join(map(str, ids)) for a in actions)


@pytest.mark.browser
@pytest.mark.skipif(
    not CHROMIUM.exists() or shutil.which("pdftotext") is None,
    reason="Debian chromium and poppler-utils are needed",
)
def test_the_pdf_is_printed_by_chromium_and_reads_back_in_chinese(
    client, sandbox, tmp_path
) -> None:
    lead = haidian_leads(client, sandbox)[0]
    got = client.get(f"/v1/leads/{lead['id']}/handover.pdf", headers=auth(sandbox, "staff:Haidian"))
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == "application/pdf" and got.content[:5] == b"%PDF-"
    pdf = tmp_path / "handover.pdf"
    pdf.write_bytes(got.content)
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "线索移送表" in text and "接收单位回执" in text
    assert str(lead["id"]) in text
    assert "涉案金额" in text and lead["amount_text"]["zh"] in text and "证据图表" in text
