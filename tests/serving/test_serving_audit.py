"""A read is answered only with its audit row committed: when the lead store cannot write the
row, or cannot be read at all, the service answers 503 with ``Retry-After`` and a message naming
the fault, never the data and never a 500; once the store works again, so does the service. The
revealed reads answered during concurrent load each have their row (with the stated reason)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

STAFF = "staff:Haidian"


def auth(sandbox, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {sandbox.keys[who]}"}


def store_sql(sandbox, *statements: str) -> None:
    engine = sa.create_engine(sandbox.leads_url)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.exec_driver_sql(statement)
    finally:
        engine.dispose()


def own_lead(client, sandbox) -> int:
    got = client.get("/v1/leads", headers=auth(sandbox, STAFF))
    assert got.status_code == 200, got.text
    return got.json()["items"][0]["id"]


def test_unwritable_audit_answers_503_without_the_data(client, sandbox) -> None:
    lead = own_lead(client, sandbox)
    store_sql(
        sandbox,
        "CREATE TRIGGER audit_full BEFORE INSERT ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END",
    )
    try:
        for path in (f"/v1/leads/{lead}", "/v1/leads", "/v1/leads/export.csv"):
            got = client.get(path, headers=auth(sandbox, STAFF))
            assert got.status_code == 503, (path, got.text)
            assert got.headers["Retry-After"] == "5"
            body = got.json()
            assert "audit log could not be written" in body["error"]
            assert "disk is full" in body["error"]
            assert "entity_id" not in got.text and "evidence" not in got.text
    finally:
        store_sql(sandbox, "DROP TRIGGER audit_full")
    assert client.get(f"/v1/leads/{lead}", headers=auth(sandbox, STAFF)).status_code == 200


def test_unreadable_store_answers_503_not_500(client, sandbox) -> None:
    lead = own_lead(client, sandbox)
    store_sql(sandbox, "ALTER TABLE leads RENAME TO leads_away")
    try:
        got = client.get(f"/v1/leads/{lead}", headers=auth(sandbox, STAFF))
        assert got.status_code == 503, got.text
        assert got.headers["Retry-After"] == "5"
        assert "lead store is unavailable" in got.json()["error"]
        assert "SELECT" not in got.json()["error"]  # the driver's SQL is not echoed
    finally:
        store_sql(sandbox, "ALTER TABLE leads_away RENAME TO leads")
    assert client.get(f"/v1/leads/{lead}", headers=auth(sandbox, STAFF)).status_code == 200


def test_every_answered_reveal_has_its_audit_row(client, sandbox) -> None:
    lead = own_lead(client, sandbox)

    def reveal(i: int) -> tuple[str, int]:
        reason = f"weekly review {i}"
        got = client.get(
            f"/v1/leads/{lead}",
            params={"reveal": "true", "reason": reason},
            headers=auth(sandbox, "admin"),
        )
        return reason, got.status_code

    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(reveal, range(40)))
    assert {status for _, status in got} <= {
        200,
        429,
        503,
    }  # refused by the key's rate or the queue
    answered = [reason for reason, status in got if status == 200]
    assert len(answered) >= 5
    audit = client.get(
        "/v1/audit",
        params={"object_type": "lead", "object_id": str(lead), "limit": 5000},
        headers=auth(sandbox, "admin"),
    ).json()
    reasons = {e["reason"] for e in audit if e["action"] == "read_lead_revealed"}
    assert set(answered) <= reasons
