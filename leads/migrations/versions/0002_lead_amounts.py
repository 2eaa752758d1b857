"""Leads carry the amount at stake (with its unit) and the probability's interval.

``amount`` is the model's declared estimate for the entity (``features.amount``), in
``amount_unit``; both null when the model declares no estimate (a lead says "not declared",
never 0), ``amount`` alone null when the estimate had no value for this entity.
``probability_low``/``probability_high`` bound the calibrated probability (a Beta posterior on
the calibration bin, ``training.calibration``); null where the model gives no probability.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

COLUMNS = (
    ("amount", sa.Float()),
    ("amount_unit", sa.String(64)),
    ("probability_low", sa.Float()),
    ("probability_high", sa.Float()),
)


def upgrade() -> None:
    # plain ADD COLUMN (no table rebuild on SQLite, so the partial unique index stays as it is);
    # the values are checked before any write (``leads.runs``)
    for name, kind in COLUMNS:
        op.add_column("leads", sa.Column(name, kind, nullable=True))


def downgrade() -> None:
    for name, _ in reversed(COLUMNS):
        op.drop_column("leads", name)
