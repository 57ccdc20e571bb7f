"""A second counter in ``evidence_head``: ``surveillance_version``, moved by every write to the
candidates (a search run's records, a screening decision). The ongoing trials a pooled answer
counts (issue 28) are no evidence version, yet they change the answer and its ETag; the
counter lets a reader see, in the same single-row read as the evidence version, that they may
have changed (see :mod:`service.usecases.surveillance.answers`).

Revision ID: 0028
Revises: 0025
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # ADD COLUMN with a constant default needs no table rebuild on either database.
    op.add_column(
        "evidence_head",
        sa.Column("surveillance_version", sa.Integer(), server_default="0", nullable=False),
    )


def downgrade() -> None:
    with op.batch_alter_table("evidence_head") as batch:
        batch.drop_column("surveillance_version")
