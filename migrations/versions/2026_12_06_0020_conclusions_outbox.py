"""The conclusions outbox and stored monitoring looks (issue 23).

``conclusion_job``: one row per evidence version a study write made, written in the write's
transaction; the conclusions worker computes that version's pooled answers, monitoring look,
certainty and events after commit and marks it concluded. Versions written before this
revision were concluded by their writes, so no rows are added for them.

``monitoring_look``: an outcome's cumulative analysis at a version, stored by the worker.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "conclusion_job",
        sa.Column("evidence_version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("outcomes", sa.JSON(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("concluded_at", UTC_DATETIME, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("retry_at", UTC_DATETIME, nullable=True),
        sa.Column("leased_until", UTC_DATETIME, nullable=True),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("evidence_version", name=op.f("pk_conclusion_job")),
    )
    op.create_index(op.f("ix_conclusion_job_concluded_at"), "conclusion_job", ["concluded_at"])
    op.create_table(
        "monitoring_look",
        sa.Column("outcome_slug", sa.String(64), nullable=False),
        sa.Column("evidence_version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("k", sa.Integer(), nullable=False),
        sa.Column("participants", sa.Integer(), nullable=False),
        sa.Column("estimate", sa.Float(), nullable=True),
        sa.Column("se", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint(
            "outcome_slug", "evidence_version", name=op.f("pk_monitoring_look")
        ),
    )


def downgrade() -> None:
    # Both tables are derived (the worker recomputes them from the evidence), so dropping
    # their rows loses nothing that cannot be computed again.
    op.drop_table("monitoring_look")
    op.drop_index(op.f("ix_conclusion_job_concluded_at"), table_name="conclusion_job")
    op.drop_table("conclusion_job")
