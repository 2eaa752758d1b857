"""The lead store: leads, hand-over, verification, outcomes and audit (交办 - 核查 - 督办).

- :mod:`leads.store` — :class:`~leads.store.LeadStore`, the rules (one transaction per call);
- :mod:`leads.reads` — lists, one lead's detail, the overdue list, audit entries;
- :mod:`leads.stats` — hit-to-case conversion with Wilson intervals, per version for retirement;
- :mod:`leads.auth` — API keys for the web service (hashed, never stored in clear);
- :mod:`leads.db` — engines for SQLite (default ``data/leads.db``) and PostgreSQL, migrations;
- :mod:`leads.simulate` — simulated verifying staff driven by the simulator's truth;
- ``python -m leads`` — the command line (:mod:`leads.cli`).
"""
