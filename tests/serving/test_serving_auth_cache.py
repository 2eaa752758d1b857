"""The service keeps known keys' principals in the process (``leads.auth.KeyCache``), yet a key
revoked by any process, through the store or another worker, is refused on the very next request.
"""

from __future__ import annotations

import subprocess
import sys

from sqlalchemy import event

from leads.auth import KeyCache, create_api_key, key_generation, revoke_api_key
from leads.store import LeadStore
from serving.service import app

REVOKE = (
    "import sys\n"
    "from leads.auth import revoke_api_key\n"
    "from leads.store import LeadStore\n"
    "store = LeadStore.open(sys.argv[1])\n"
    "assert revoke_api_key(store, sys.argv[2], actor='other worker')\n"
    "store.close()\n"
)


def issue(client, sandbox, name: str) -> tuple[str, dict[str, str]]:
    admin = {"Authorization": f"Bearer {sandbox.keys['admin']}"}
    got = client.post(
        "/v1/keys", json={"name": name, "role": "staff", "district": "Haidian"}, headers=admin
    )
    assert got.status_code == 201, got.text
    body = got.json()
    return body["key_id"], {"Authorization": f"Bearer {body['secret']}"}


def test_a_key_revoked_by_another_process_is_refused_on_the_next_request(client, sandbox):
    key_id, headers = issue(client, sandbox, "desk revoked elsewhere")
    for _ in range(3):  # known, then served from the cache
        assert client.get("/v1/whoami", headers=headers).json()["key_id"] == key_id
    subprocess.run(
        [sys.executable, "-c", REVOKE, sandbox.leads_url, key_id], check=True, timeout=120
    )
    refused = client.get("/v1/whoami", headers=headers)
    assert refused.status_code == 401 and "revoked" in refused.json()["error"]


def test_a_key_revoked_through_the_served_store_is_refused_at_once(client, sandbox):
    key_id, headers = issue(client, sandbox, "desk revoked here")
    assert client.get("/v1/leads?page_size=1", headers=headers).status_code == 200
    assert revoke_api_key(app.state.ctx.store, key_id, actor="admin")
    assert client.get("/v1/leads?page_size=1", headers=headers).status_code == 401
    # the other keys still work (their principals are looked up afresh)
    staff = {"Authorization": f"Bearer {sandbox.keys['staff:Haidian']}"}
    assert client.get("/v1/whoami", headers=staff).json()["district"] == "Haidian"


def test_the_cache_saves_the_lookup_and_follows_every_key_change(store: LeadStore) -> None:
    statements: list[str] = []
    event.listen(store.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    cache = KeyCache(store)
    key_id, secret = create_api_key(store, name="desk", role="staff", district="A", actor="x")
    first = key_generation(store)
    assert cache.authenticate(secret).key_id == key_id
    statements.clear()
    assert cache.authenticate(secret).key_id == key_id
    # a known key costs no lookup, only the fingerprint: on SQLite read through the
    # connection the cache keeps for it (outside the engine's pool and its events)
    queries = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    if cache.inline:
        assert store.engine.dialect.name == "sqlite" and statements == []
    else:
        assert len(queries) == 1 and "count(api_keys.id)" in queries[0]  # the generation only
    assert cache.generation() == key_generation(store) == first
    other_id, other = create_api_key(store, name="desk 2", role="staff", district="B", actor="x")
    assert key_generation(store) != first  # a new key changes the generation
    assert cache.generation() == key_generation(store)  # and the kept connection sees it
    assert cache.authenticate(other).district == "B"
    assert revoke_api_key(store, other_id, actor="x")
    assert cache.authenticate(other) is None
    assert cache.authenticate(secret).key_id == key_id  # the cache was emptied, not poisoned
    assert cache.authenticate(secret[:-1] + ("A" if secret[-1] != "A" else "B")) is None
    assert cache.authenticate("no-dot") is None and cache.authenticate(None) is None
    cache.close()
