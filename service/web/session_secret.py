"""The key that signs the pages' session cookie, when SESSION_SECRET does not give one.

Every process that serves the pages must sign with the same key, or a curator's sign-in
holds only on the worker that made it. On the embedded SQLite store every worker shares
the database's folder, so the key is made once beside the database file (created with
O_EXCL, so racing workers agree on the first one written; mode 0600). A server database
gives replicas no shared folder: there each process falls back to a random key of its own,
and says so once, so the operator sets SESSION_SECRET.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from service.settings import Settings

logger = logging.getLogger(__name__)
SECRET_FILE_NAME = "session_secret"


def session_signing_key(settings: Settings) -> str:
    """SESSION_SECRET if set, else the SQLite store's shared key file, else a per-process key."""
    if settings.session_secret is not None:
        return settings.session_secret.get_secret_value()
    database_file = settings.sqlite_file
    if database_file is not None:
        return _shared_key(database_file.resolve().parent / SECRET_FILE_NAME)
    logger.warning(
        "SESSION_SECRET is not set: this process signs page sessions with a key of its own, "
        "so a curator's sign-in holds only on it; set SESSION_SECRET to one value everywhere"
    )
    return secrets.token_urlsafe(32)


def _shared_key(path: Path) -> str:
    """Read the key file, writing it first if no process has yet."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_key(path)
    with os.fdopen(descriptor, "w", encoding="ascii") as file:
        file.write(secrets.token_urlsafe(32))
    return _read_key(path)


def _read_key(path: Path) -> str:
    """The key as written; a file still empty (another worker mid-write) is read again."""
    for _ in range(100):
        key = path.read_text(encoding="ascii").strip()
        if key:
            return key
        os.sched_yield()
    raise RuntimeError(f"{path} stays empty: delete it, or set SESSION_SECRET")
