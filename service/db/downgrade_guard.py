"""Downgrades never drop data silently.

A migration's ``downgrade()`` calls :func:`refuse_to_drop_rows` before dropping its tables: when
any of them holds rows (beyond the rows the migration seeded itself), the downgrade stops with
:class:`DataLossRefusedError` and the database stays as it was (migrations run in one transaction,
see ``migrations/env.py``). Dropping the data anyway takes an explicit flag::

    alembic -x allow_data_loss=true downgrade base

or, from Python, ``config.attributes["allow_data_loss"] = True`` on the Alembic config.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import sqlalchemy as sa
from alembic import context, op

ALLOW_DATA_LOSS = "allow_data_loss"
_TRUE = {"1", "true", "yes", "on"}


class DataLossRefusedError(RuntimeError):
    """A downgrade would have dropped rows, and dropping them was not allowed explicitly."""


def data_loss_allowed() -> bool:
    """``-x allow_data_loss=true`` on the command line, or the config attribute, was given."""
    if context.config.attributes.get(ALLOW_DATA_LOSS) is True:
        return True
    flag = context.get_x_argument(as_dictionary=True).get(ALLOW_DATA_LOSS, "")
    return flag.strip().lower() in _TRUE


def _rows(table: str, seeded: Collection[str] | None) -> int:
    query = sa.select(sa.func.count()).select_from(sa.table(table))
    if seeded is not None:
        # Only rows the migration did not seed itself count as data.
        query = query.where(sa.column("slug").not_in(sorted(seeded)))
    return int(op.get_bind().execute(query).scalar_one())


def refuse_to_drop_rows(
    tables: Sequence[str], *, seeded: Mapping[str, Collection[str]] | None = None
) -> None:
    """Raise :class:`DataLossRefusedError` when any of ``tables`` holds rows, unless allowed.

    ``seeded`` maps a table to the slugs its migration inserted; those rows are not data.
    """
    if data_loss_allowed():
        return
    seeded = seeded or {}
    held = {table: n for table in tables if (n := _rows(table, seeded.get(table)))}
    if not held:
        return
    listing = ", ".join(f"{table} ({n} rows)" for table, n in held.items())
    raise DataLossRefusedError(
        f"Downgrade refused: it would drop {listing}. Back the data up first "
        f"(lma export FILE), then rerun with -x {ALLOW_DATA_LOSS}=true to drop it."
    )
