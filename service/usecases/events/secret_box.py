"""Webhook signing secrets, encrypted at rest with Fernet (AES-128-CBC + HMAC-SHA256).

Signing needs the secret itself, so it cannot be hashed like an API key; it is encrypted with
a key from the settings (``WEBHOOK_SECRET_KEY``) instead, so that a copy of the database (a
backup, a dump) does not let anyone sign deliveries. Several keys, comma-separated, rotate the
key: the first encrypts, every one decrypts (``cryptography``'s ``MultiFernet``).

With no key configured, one is generated once into ``WEBHOOK_SECRET_KEY_FILE``
(``var/webhook-secret.key``, beside the embedded SQLite database), so ``make run`` works with
nothing set; several machines must share one configured key.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from service.settings import Settings

logger = logging.getLogger(__name__)


class SecretKeyError(RuntimeError):
    """The configured key cannot decrypt a stored secret (a wrong or missing key)."""


class SecretBox:
    """Encrypts secrets for storage and decrypts them for signing."""

    def __init__(self, keys: list[str]) -> None:
        self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken as exc:
            raise SecretKeyError(
                "A webhook secret cannot be decrypted: WEBHOOK_SECRET_KEY (or the key file) "
                "is not the key it was encrypted with."
            ) from exc


def secret_box(settings: Settings) -> SecretBox:
    """The box for ``settings``: its configured keys, else the generated key file's."""
    configured = settings.webhook_secret_key
    if configured is not None:
        return _box(configured.get_secret_value())
    return _box(_key_file(Path(settings.webhook_secret_key_file)))


@lru_cache(maxsize=8)
def _box(keys: str) -> SecretBox:
    return SecretBox([key.strip() for key in keys.split(",") if key.strip()])


def _key_file(path: Path) -> str:
    """The key in ``path``, written there first if there is none (once, by one process)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".key-")
        try:
            with os.fdopen(descriptor, "wb") as handle:  # mkstemp's mode is 0600
                handle.write(Fernet.generate_key())
            # link() fails if the file exists: two processes starting at once keep one key.
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)
                logger.warning(
                    "generated %s to encrypt webhook secrets; set WEBHOOK_SECRET_KEY where the "
                    "database outlives this directory",
                    path,
                )
        finally:
            os.unlink(temporary)
    return path.read_text().strip()
