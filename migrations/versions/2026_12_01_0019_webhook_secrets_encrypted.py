"""Webhook signing secrets encrypted at rest (Fernet): wider columns, existing rows encrypted.

The key is the application's (``WEBHOOK_SECRET_KEY``, else the generated key file), read
through the same settings; see :mod:`service.usecases.events.secret_box`. Downgrading
decrypts them again, as the revision before stored them.

Revision ID: 0019
Revises: 0015
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

from service.settings import get_settings
from service.usecases.events.secret_box import secret_box

revision: str = "0019"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PLAIN_PREFIX = "whsec_"  # an issued secret; a Fernet token starts with "gAAAAA"
webhook = sa.table(
    "webhook",
    sa.column("id", sa.Integer),
    sa.column("secret", sa.String),
    sa.column("previous_secret", sa.String),
)


def _widths(old: int, new: int) -> None:
    with op.batch_alter_table("webhook") as batch:
        for name in ("secret", "previous_secret"):
            batch.alter_column(name, existing_type=sa.String(old), type_=sa.String(new))


def _convert(change: Callable[[str], str], *, plain: bool) -> None:
    """Apply ``change`` to each stored secret that is plain (or sealed, ``plain`` False)."""
    connection = op.get_bind()
    rows = connection.execute(sa.select(webhook.c.id, webhook.c.secret, webhook.c.previous_secret))
    for row in rows.all():
        values = {
            name: change(value)
            for name, value in (("secret", row.secret), ("previous_secret", row.previous_secret))
            if value is not None and value.startswith(PLAIN_PREFIX) == plain
        }
        if values:
            connection.execute(sa.update(webhook).where(webhook.c.id == row.id).values(values))


def upgrade() -> None:
    _widths(100, 400)
    _convert(secret_box(get_settings()).seal, plain=True)


def downgrade() -> None:
    _convert(secret_box(get_settings()).open, plain=False)
    _widths(400, 100)
