"""Risk-of-bias assessments (RoB 2, or RoB 1 for older trials) per outcome result.

Revision ID: 0022
Revises: 0019
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outcome_result") as batch:
        batch.add_column(sa.Column("risk_of_bias", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outcome_result") as batch:
        batch.drop_column("risk_of_bias")
