"""Fixtures shared across the suite, registered once here so no test module star-imports them:
the lead-store fixtures (``leads_fixtures``: SQLite and PostgreSQL stores, the session's
PostgreSQL server) and the simulated pools built once per session (``pool_fixtures``). Plain
helpers (``make_run``, ``ManualClock``, ...) are imported by name where they are used."""

pytest_plugins = ["leads_fixtures", "pool_fixtures"]
