"""Imported studies' ids in their source (Metapsy, CSV), so that a re-import matches them.

Revision ID: 0017
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service.db.downgrade_guard import refuse_to_drop_rows

revision: str = "0017"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "study_source_key",
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("source_study_id", sa.String(300), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.id"], name=op.f("fk_study_source_key_study_id_study")
        ),
        sa.PrimaryKeyConstraint("source", "source_study_id", name=op.f("pk_study_source_key")),
    )
    op.create_index(op.f("ix_study_source_key_study_id"), "study_source_key", ["study_id"])


def downgrade() -> None:
    refuse_to_drop_rows(["study_source_key"])
    op.drop_index(op.f("ix_study_source_key_study_id"), table_name="study_source_key")
    op.drop_table("study_source_key")
