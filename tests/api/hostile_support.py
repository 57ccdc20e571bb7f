"""A deterministic dump of the whole database, to prove that a refused request wrote nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, MetaData, select

Dump = dict[str, list[tuple[Any, ...]]]


def database_dumper(connection: Connection) -> Callable[[], Dump]:
    """A function returning every row of every table, ordered by primary key.

    The tables are reflected once, so tables that the models lack count too.
    """
    metadata = MetaData()
    metadata.reflect(bind=connection)
    queries = {
        table.name: select(table).order_by(*(list(table.primary_key.columns) or table.columns))
        for table in metadata.sorted_tables
    }

    def dump() -> Dump:
        return {
            name: [tuple(row) for row in connection.execute(query)]
            for name, query in queries.items()
        }

    return dump
