"""Idempotent writes: claim an ``Idempotency-Key``, store the response, replay it on retries.

The claim and the stored response are written in the request's own write transaction, so
they commit together with whatever the request wrote, or not at all.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from service.db.base import utc_now
from service.db.repositories.idempotency import IdempotencyRepository
from service.errors import ConflictError, ServiceError


class IdempotencyKeyReusedError(ServiceError):
    """The key was first used for another request: replaying would answer the wrong one."""

    status = 422
    slug = "idempotency-key-reused"
    title = "Idempotency key reused for a different request"


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """A response as it was first sent: status, headers in order, and body."""

    status_code: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass(frozen=True, slots=True)
class Claimed:
    """The key is this request's: run it, then :func:`store_response` under ``record_id``."""

    record_id: int


def request_fingerprint(method: str, target: str, body: bytes) -> str:
    """SHA-256 of the method, the path with its query string, and the raw body."""
    digest = hashlib.sha256()
    for part in (method.upper().encode(), target.encode(), body):
        # Length prefixes keep ("a", "bc") and ("ab", "c") apart.
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def claim_key(
    session: Session,
    *,
    api_key_id: int,
    key: str,
    fingerprint: str,
    ttl: timedelta,
    now: datetime | None = None,
) -> Claimed | StoredResponse:
    """Claim ``key`` for ``api_key_id``, or return the response stored for it.

    An expired record is deleted first, so it is never replayed.

    Raises
    ------
    IdempotencyKeyReusedError
        When the stored record belongs to a request with another fingerprint.
    ConflictError
        When the key is claimed but has no response yet (the same transaction reused it).
    """
    now = now or utc_now()
    repository = IdempotencyRepository(session)
    repository.delete_expired_key(api_key_id=api_key_id, key=key, now=now)
    record_id = repository.claim(
        api_key_id=api_key_id, key=key, fingerprint=fingerprint, now=now, expires_at=now + ttl
    )
    if record_id is not None:
        return Claimed(record_id)
    record = repository.get(api_key_id=api_key_id, key=key)
    if record is None or record.status_code is None or record.body is None:
        raise ConflictError("A request with this Idempotency-Key is still in progress.")
    if record.fingerprint != fingerprint:
        raise IdempotencyKeyReusedError(
            "This Idempotency-Key was used for a request with another method, path or body."
        )
    headers = [(name, value) for name, value in record.headers or []]
    return StoredResponse(status_code=record.status_code, headers=headers, body=record.body)


def store_response(session: Session, claimed: Claimed, response: StoredResponse) -> None:
    """Keep ``response`` as the answer to every retry of the claimed request."""
    IdempotencyRepository(session).store_response(
        claimed.record_id,
        status_code=response.status_code,
        headers=[[name, value] for name, value in response.headers],
        body=response.body,
    )


def purge_expired(session: Session, *, now: datetime | None = None) -> int:
    """Delete every expired record; the number deleted."""
    return IdempotencyRepository(session).purge_expired(now or utc_now())
