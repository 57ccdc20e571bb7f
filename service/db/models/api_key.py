"""API keys: who may write, curate or administer the evidence store.

A key is ``lma_<public_id>_<secret>``. Only a SHA-256 digest of the secret is stored; the
public id finds the row without scanning, and the digest is compared in constant time.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base, UtcDateTime


class ApiKey(Base):
    """One API key; ``revoked_at`` set means it no longer authenticates."""

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, index=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    trusted: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
