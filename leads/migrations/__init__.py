"""Alembic migrations of the lead store (run by ``leads.db.upgrade``)."""
