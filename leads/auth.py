"""API keys for the web service: created once, stored only as a hash, checked per request.

A secret looks like ``<key_id>.<random>``: the key id (public, stored in clear) finds the row in
one indexed lookup, and the random part is compared by hash in constant time. The random part
has 256 bits of entropy, so one SHA-256 is enough (a slow password hash such as PBKDF2 only
helps guessable secrets, and would cost every request tens of milliseconds).

The service checks keys through a :class:`KeyCache`: a known key's principal is kept in the
process, and every request first reads the key table's :func:`key_generation` (one aggregate
row), which every create and revoke changes, whichever process or worker made it; a changed
generation empties the cache, so a revoked key is refused on the very next request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .errors import InvalidValue, MissingActor, UnknownStatus
from .models import ROLES, ApiKey, AuditEntry
from .store import LeadStore


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key, its holder's name, role and (for staff) district."""

    key_id: str
    name: str
    role: str
    district: str | None


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _check_new_key(name: str, role: str, district: str | None, actor: str) -> None:
    if not isinstance(actor, str) or not actor.strip():
        raise MissingActor()
    if not isinstance(name, str) or not name.strip():
        raise InvalidValue("name", name, "must be a non-empty string")
    if role not in ROLES:
        raise UnknownStatus(role, ROLES, field="role")
    if role == "staff" and not (isinstance(district, str) and district.strip()):
        raise InvalidValue("district", district, "staff keys need the district they serve")


def create_api_key(
    store: LeadStore, *, name: str, role: str, actor: str, district: str | None = None
) -> tuple[str, str]:
    """Create a key and return ``(key_id, secret)``. The secret is shown once, never stored."""
    _check_new_key(name, role, district, actor)
    key_id = secrets.token_hex(8)
    secret = f"{key_id}.{secrets.token_urlsafe(32)}"

    def operation(session: Session) -> None:
        now = store.now()
        session.add(
            ApiKey(
                key_id=key_id,
                secret_hash=_hash(secret),
                name=name.strip(),
                role=role,
                district=district,
                created_by=actor.strip(),
                created_at=now,
            )
        )
        session.add(
            AuditEntry(
                actor=actor.strip(),
                role=None,
                action="create_api_key",
                object_type="api_key",
                object_id=key_id,
                at=now,
                reason=None,
                details={"name": name.strip(), "role": role, "district": district},
            )
        )

    store.transaction(operation)
    return key_id, secret


def revoke_api_key(store: LeadStore, key_id: str, *, actor: str) -> bool:
    """Revoke a key; True if it existed and was active."""
    if not isinstance(actor, str) or not actor.strip():
        raise MissingActor()

    def operation(session: Session) -> bool:
        row = session.scalar(select(ApiKey).where(ApiKey.key_id == key_id).with_for_update())
        if row is None or row.revoked_at is not None:
            return False
        row.revoked_at = store.now()
        session.add(
            AuditEntry(
                actor=actor.strip(),
                action="revoke_api_key",
                object_type="api_key",
                object_id=key_id,
                at=row.revoked_at,
                details={},
            )
        )
        return True

    return store.transaction(operation)


def authenticate(store: LeadStore, secret: str | None) -> Principal | None:
    """The principal holding ``secret``, or None for a missing, unknown or revoked key."""
    if not isinstance(secret, str) or "." not in secret:
        return None
    key_id = secret.split(".", 1)[0]
    with store.reading() as session:
        row = session.scalar(select(ApiKey).where(ApiKey.key_id == key_id))
        if row is None or row.revoked_at is not None:
            return None
        if not hmac.compare_digest(row.secret_hash, _hash(secret)):
            return None
        return Principal(key_id=row.key_id, name=row.name, role=row.role, district=row.district)


def _generation_query() -> Any:
    return select(func.count(ApiKey.id), func.count(ApiKey.revoked_at), func.max(ApiKey.id))


def key_generation(store: LeadStore) -> tuple[int, int, int]:
    """A fingerprint of the key table that every :func:`create_api_key` and
    :func:`revoke_api_key` changes: (keys, revoked keys, highest row id). Keys are never edited
    otherwise (a different role or district is a new key), so an unchanged fingerprint means
    the cached principals are still what the table says. Read in one statement, without an ORM
    session (about a quarter of a full key lookup)."""
    with store.engine.connect() as connection:
        keys, revoked, highest = connection.execute(_generation_query()).one()
    return int(keys), int(revoked), int(highest or 0)


class SqliteGeneration:
    """:func:`key_generation` on a SQLite store through one connection kept for it, in
    autocommit mode: the one ``SELECT`` is its own transaction and sees every key committed
    by any process (WAL), so the answer is the same, without the pool checkout, ``BEGIN`` and
    rollback that made the read about half of an explained single score's key check."""

    def __init__(self, store: LeadStore) -> None:
        self._sql = str(_generation_query().compile(dialect=store.engine.dialect))
        self._connection = store.engine.raw_connection()
        self._lock = threading.Lock()

    def __call__(self) -> tuple[int, int, int]:
        with self._lock:  # one sqlite3 connection, used by one thread at a time
            cursor = self._connection.cursor()
            try:
                keys, revoked, highest = cursor.execute(self._sql).fetchone()
            finally:
                cursor.close()
        return int(keys), int(revoked), int(highest or 0)

    def close(self) -> None:
        self._connection.close()


class KeyCache:
    """:func:`authenticate` with the principals of known keys kept in this process, dropped
    whenever :func:`key_generation` changes (checked on every call, so a key revoked by any
    process is refused at once). Unknown and revoked keys are not cached: each is looked up."""

    def __init__(self, store: LeadStore) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._generation: tuple[int, int, int] | None = None
        self._known: dict[str, Principal] = {}
        #: True when a lookup is local (SQLite: a file read within the process, well under a
        #: millisecond), so a caller on an event loop may run it in place; a networked
        #: store's lookup waits on a round trip and belongs in a worker thread.
        self.inline = store.engine.dialect.name == "sqlite"
        self._sqlite = SqliteGeneration(store) if self.inline else None

    def generation(self) -> tuple[int, int, int]:
        """:func:`key_generation` now (through the kept connection on SQLite)."""
        return self._sqlite() if self._sqlite is not None else key_generation(self.store)

    def close(self) -> None:
        """Release the connection kept for the fingerprint (SQLite)."""
        if self._sqlite is not None:
            self._sqlite.close()

    def authenticate(self, secret: str | None) -> Principal | None:
        """The principal holding ``secret`` as the key table says now, or None."""
        if not isinstance(secret, str) or "." not in secret:
            return None
        generation = self.generation()
        digest = _hash(secret)
        with self._lock:
            if generation != self._generation:
                self._known.clear()
                self._generation = generation
            found = self._known.get(digest)
        if found is not None:
            return found
        principal = authenticate(self.store, secret)
        if principal is not None:
            with self._lock:
                if self._generation == generation:  # not a table changed meanwhile
                    self._known[digest] = principal
        return principal
