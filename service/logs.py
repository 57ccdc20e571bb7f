"""Logging: the process's level, one JSON line per request, and SQL at ``LOG_LEVEL=DEBUG``.

SQLAlchemy sets its own ``sqlalchemy`` logger to WARNING when it is first imported (unless an
application configured it already), so a root logger at DEBUG showed no SQL; at DEBUG the
engines' logger is set to INFO, which logs each statement and its parameters (SQLAlchemy,
"Configuring Logging").

Request lines go to the ``service.access`` logger as a JSON object alone on its line, so that
a log shipper needs no parser of its own: see :mod:`service.api.access_log`.
"""

from __future__ import annotations

import logging
import sys

ACCESS_LOGGER = "service.access"


def configure_logging(level: str) -> None:
    """Set up the root logger (once), the access log's handler and SQLAlchemy's level."""
    logging.basicConfig(level=level)
    logging.getLogger().setLevel(level)
    access = logging.getLogger(ACCESS_LOGGER)
    if not access.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        access.addHandler(handler)
        access.propagate = False
    access.setLevel(logging.INFO if level == "DEBUG" else level)
    engines = logging.getLogger("sqlalchemy.engine")
    engines.setLevel(logging.INFO if level == "DEBUG" else logging.WARNING)
