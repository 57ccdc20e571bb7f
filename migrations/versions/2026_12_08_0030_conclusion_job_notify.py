"""PostgreSQL announces each queued version: a statement-level trigger on ``conclusion_job``
calls ``pg_notify('lma_conclusions', '')``, which PostgreSQL delivers when the inserting
transaction commits (and never if it rolls back). Conclusions workers in other processes
(``lma worker``, other API replicas) ``LISTEN`` on the channel
(``service/db/notifications.py``) and start on the version at once instead of at their next
poll (issue 23). Identical
notifications of one transaction are folded into one by PostgreSQL. SQLite has no
notifications: nothing changes there (its one process wakes its worker itself).

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The channel is service.db.notifications.CONCLUSIONS_CHANNEL, written out here since
# migrations import no runtime code (tests/conclusions/test_notify.py checks the two agree).
FUNCTION = """
CREATE FUNCTION lma_notify_conclusions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('lma_conclusions', '');
    RETURN NULL;
END
$$
"""
TRIGGER = """
CREATE TRIGGER conclusion_job_notify AFTER INSERT ON conclusion_job
FOR EACH STATEMENT EXECUTE FUNCTION lma_notify_conclusions()
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(FUNCTION)
    op.execute(TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS conclusion_job_notify ON conclusion_job")
    op.execute("DROP FUNCTION IF EXISTS lma_notify_conclusions()")
