"""Indexes serving the staff lead list: filtered by district or scenario, most suspicious first.

The list query (``WHERE district = ? ORDER BY score DESC, id LIMIT ?``) scanned every lead and
sorted them all in a temporary B-tree; with these the database walks one index in score order
(backwards) and stops after the page's last row, sorting only rows of equal score by id.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_leads_district_rank": ("district", "score", "id"),
    "ix_leads_scenario_rank": ("scenario", "score", "id"),
    "ix_leads_rank": ("score", "id"),
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "leads", list(columns))


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="leads")
