"""An included study may carry a reason: why a curator included it while an error-level data
warning stands (issue 26). Pending studies still carry none; excluded and withdrawn ones must.

Downgrading clears the reasons of included studies (the version summaries and the audit trail
keep them).

Revision ID: 0024
Revises: 0019
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "ck_study_revision_status_reason"
OLD = (
    "(status IN ('excluded', 'withdrawn') AND status_reason IS NOT NULL)"
    " OR (status IN ('pending', 'included') AND status_reason IS NULL)"
)
NEW = (
    "(status IN ('excluded', 'withdrawn') AND status_reason IS NOT NULL)"
    " OR (status = 'pending' AND status_reason IS NULL) OR status = 'included'"
)


def upgrade() -> None:
    with op.batch_alter_table("study_revision") as batch:
        batch.drop_constraint(op.f(NAME), type_="check")
        batch.create_check_constraint(op.f(NAME), NEW)


def downgrade() -> None:
    revision_table = sa.table("study_revision", sa.column("status"), sa.column("status_reason"))
    op.execute(
        revision_table.update()
        .where(revision_table.c.status == "included")
        .values(status_reason=None)
    )
    with op.batch_alter_table("study_revision") as batch:
        batch.drop_constraint(op.f(NAME), type_="check")
        batch.create_check_constraint(op.f(NAME), OLD)
