"""The index of current revisions by year also holds the registration id: each write's
near-duplicate check reads the current studies of the new study's year +/- 1 that have no
registration id or one of the new studies' (issue 23). With ``(valid_to, year)`` SQLite read
every such revision's row to look at its registration id (~1,100 rows at 10,000 studies:
1.5-4 ms of a single write); with the id in the index it reads only the rows it keeps
(0.1-0.3 ms, the same query, measured in sqlite3 on a copy of a 10,000-study database).
``(valid_to, year)`` queries use the new index as they used the old one.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = "ix_study_revision_valid_to_year"
NEW = "ix_study_revision_valid_to_year_registration_id"


def upgrade() -> None:
    op.create_index(NEW, "study_revision", ["valid_to", "year", "registration_id"])
    op.drop_index(OLD, table_name="study_revision")


def downgrade() -> None:
    op.create_index(OLD, "study_revision", ["valid_to", "year"])
    op.drop_index(NEW, table_name="study_revision")
