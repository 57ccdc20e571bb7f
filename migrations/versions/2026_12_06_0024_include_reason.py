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


def _status_reason_check(old: str, new: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        # SQLite cannot alter a CHECK constraint, and rebuilding ``study_revision`` (batch
        # mode) fails once rows of other tables refer to it: the constraint is rewritten in
        # the schema instead, as revisions 0016 and 0022 do (SQLite's "ALTER TABLE"
        # documentation, section 7).
        schema_version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
        bind.exec_driver_sql("PRAGMA writable_schema=ON")
        bind.exec_driver_sql(
            "UPDATE sqlite_master SET sql = replace(sql, ?, ?) "
            "WHERE type = 'table' AND name = 'study_revision'",
            (f"CHECK ({old})", f"CHECK ({new})"),
        )
        bind.exec_driver_sql(f"PRAGMA schema_version={int(schema_version) + 1}")
        bind.exec_driver_sql("PRAGMA writable_schema=OFF")
        return
    op.drop_constraint(op.f(NAME), "study_revision", type_="check")
    op.create_check_constraint(op.f(NAME), "study_revision", new)


def upgrade() -> None:
    _status_reason_check(OLD, NEW)


def downgrade() -> None:
    revision_table = sa.table("study_revision", sa.column("status"), sa.column("status_reason"))
    op.execute(
        revision_table.update()
        .where(revision_table.c.status == "included")
        .values(status_reason=None)
    )
    _status_reason_check(NEW, OLD)
