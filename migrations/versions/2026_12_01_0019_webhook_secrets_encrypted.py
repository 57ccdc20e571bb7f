"""Webhook signing secrets encrypted at rest (Fernet): wider columns, existing rows encrypted.

Frozen (issue 23): it imports no runtime code. The key is the application's, looked up as
the application does (``WEBHOOK_SECRET_KEY``, comma-separated, the first encrypting; else the
key file ``WEBHOOK_SECRET_KEY_FILE``, by default ``var/webhook-secret.key``), with the
constants copied here; but the migration never *generates* the key file: when there is no key
yet, existing secrets stay plain, and the application seals them at start-up, having made the
key then (:func:`service.usecases.events.sealing.seal_plain_secrets`). Downgrading decrypts
them again, as the revision before stored them.

Revision ID: 0019
Revises: 0015
Create Date: 2026-12-01
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op
from cryptography.fernet import Fernet, MultiFernet

revision: str = "0019"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PLAIN_PREFIX = "whsec_"  # an issued secret; a Fernet token starts with "gAAAAA"
# As in service.settings at this revision.
KEY_VARIABLE = "WEBHOOK_SECRET_KEY"
KEY_FILE_VARIABLE = "WEBHOOK_SECRET_KEY_FILE"
DEFAULT_KEY_FILE = Path("var") / "webhook-secret.key"
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


def _fernet() -> MultiFernet | None:
    """The application's keys, or ``None`` when none is configured or generated yet."""
    keys = os.environ.get(KEY_VARIABLE) or os.environ.get(KEY_VARIABLE.lower())
    if not keys:
        path = Path(os.environ.get(KEY_FILE_VARIABLE) or DEFAULT_KEY_FILE)
        if not path.exists():
            return None
        keys = path.read_text().strip()
    return MultiFernet([Fernet(k.strip().encode()) for k in keys.split(",") if k.strip()])


def upgrade() -> None:
    _widths(100, 400)
    fernet = _fernet()
    if fernet is not None:  # else sealed at the application's start-up
        _convert(lambda plain: fernet.encrypt(plain.encode()).decode(), plain=True)


def downgrade() -> None:
    fernet = _fernet()
    if fernet is not None:  # no key: nothing was sealed
        _convert(lambda sealed: fernet.decrypt(sealed.encode()).decode(), plain=False)
    _widths(400, 100)
