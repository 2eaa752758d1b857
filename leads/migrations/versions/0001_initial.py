"""Initial lead store schema: leads, scores, assignments, history, outcomes, audit, API keys.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

STATUSES = "('new', 'dispatched', 'verifying', 'case_filed', 'no_case', 'invalid')"
OUTCOMES = "('case_filed', 'no_case', 'invalid')"
ROLES = "('system', 'staff', 'data_scientist', 'admin')"
OPEN_LEAD_WHERE = "status IN ('new', 'dispatched', 'verifying')"


def _lead_fk() -> sa.Column:
    return sa.Column(
        "lead_id", sa.Integer(), sa.ForeignKey("leads.id", ondelete="RESTRICT"), nullable=False
    )


def _create_leads() -> None:
    op.create_table(
        "leads",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("scenario", sa.String(64), nullable=False),
        sa.Column("entity_id", sa.String(128), nullable=False),
        sa.Column("district", sa.String(64), nullable=False),
        sa.Column("model_name", sa.String(128), nullable=False),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("run_id", sa.String(128), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("probability", sa.Float(), nullable=True),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_changed_at", sa.DateTime(), nullable=False),
        sa.Column("unit", sa.String(128), nullable=True),
        sa.Column("assignee", sa.String(128), nullable=True),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.CheckConstraint(f"status IN {STATUSES}", name="ck_leads_status"),
    )
    op.create_index(
        "uq_leads_open_entity",
        "leads",
        ["scenario", "entity_id"],
        unique=True,
        sqlite_where=sa.text(OPEN_LEAD_WHERE),
        postgresql_where=sa.text(OPEN_LEAD_WHERE),
    )
    op.create_index(
        "ix_leads_scenario_status_district", "leads", ["scenario", "status", "district"]
    )
    op.create_index("ix_leads_deadline", "leads", ["deadline"])


def _create_lead_children() -> None:
    op.create_table(
        "lead_scores",
        sa.Column("id", sa.Integer(), primary_key=True),
        _lead_fk(),
        sa.Column("run_id", sa.String(128), nullable=False),
        sa.Column("model_name", sa.String(128), nullable=False),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("probability", sa.Float(), nullable=True),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("lead_id", "run_id", name="uq_lead_scores_lead_run"),
    )
    op.create_index("ix_lead_scores_version", "lead_scores", ["model_version"])
    op.create_table(
        "assignments",
        sa.Column("id", sa.Integer(), primary_key=True),
        _lead_fk(),
        sa.Column("unit", sa.String(128), nullable=False),
        sa.Column("assignee", sa.String(128), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("assigned_by", sa.String(128), nullable=False),
        sa.Column("assigned_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_assignments_lead", "assignments", ["lead_id"])
    op.create_table(
        "status_history",
        sa.Column("id", sa.Integer(), primary_key=True),
        _lead_fk(),
        sa.Column("from_status", sa.String(16), nullable=True),
        sa.Column("to_status", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.CheckConstraint(f"to_status IN {STATUSES}", name="ck_status_history_to"),
    )
    op.create_index("ix_status_history_lead", "status_history", ["lead_id"])
    op.create_table(
        "outcomes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "lead_id",
            sa.Integer(),
            sa.ForeignKey("leads.id", ondelete="RESTRICT"),
            nullable=False,
            unique=True,
        ),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("amount_recovered", sa.Float(), nullable=False),
        sa.Column("case_reference", sa.String(128), nullable=True),
        sa.Column("model_name", sa.String(128), nullable=False),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.CheckConstraint(f"outcome IN {OUTCOMES}", name="ck_outcomes_outcome"),
        sa.CheckConstraint("amount_recovered >= 0", name="ck_outcomes_amount"),
    )


def _create_audit_and_keys() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("role", sa.String(32), nullable=True),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("object_type", sa.String(64), nullable=False),
        sa.Column("object_id", sa.String(128), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
    )
    op.create_index("ix_audit_log_object", "audit_log", ["object_type", "object_id"])
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key_id", sa.String(32), nullable=False, unique=True),
        sa.Column("secret_hash", sa.String(128), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("district", sa.String(64), nullable=True),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(f"role IN {ROLES}", name="ck_api_keys_role"),
        sa.CheckConstraint("role <> 'staff' OR district IS NOT NULL", name="ck_api_keys_district"),
    )


def upgrade() -> None:
    _create_leads()
    _create_lead_children()
    _create_audit_and_keys()


def downgrade() -> None:
    for table in (
        "api_keys",
        "audit_log",
        "outcomes",
        "status_history",
        "assignments",
        "lead_scores",
        "leads",
    ):
        op.drop_table(table)
