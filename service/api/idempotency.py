"""Idempotent writes: every POST and PATCH accepts an ``Idempotency-Key`` header.

A route takes :data:`IdempotencyDep` and wraps the work that writes::

    def create_study(..., idempotency: IdempotencyDep) -> Response:
        return idempotency.execute(lambda: JSONResponse(..., status_code=201))

The first request with a key runs ``produce`` and stores its response in the same write
transaction; a retry with the same key, method, path and body gets that response back with
``Idempotent-Replayed: true`` and writes nothing; the same key with another request is a
422. Keys belong to the API key that sent them: the dependency requires an authenticated
principal (any scope; the route's own scope dependency decides what the key may do) and
shares the request's cached principal lookup (see :mod:`service.api.auth`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Header, Request, Response
from sqlalchemy.orm import Session

from service.api.auth import AuthenticatedDep
from service.api.deps import SettingsDep, WriteSessionDep
from service.api.middleware import REQUEST_ID_HEADER
from service.usecases.operations.idempotency import (
    Claimed,
    StoredResponse,
    claim_key,
    request_fingerprint,
    store_response,
)

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# Headers that describe the sending, not the response: a replay gets fresh ones.
_NOT_STORED = {"date", REQUEST_ID_HEADER, REPLAYED_HEADER.lower()}


def _stored(response: Response) -> StoredResponse:
    body = getattr(response, "body", None)
    if not isinstance(body, bytes):
        raise TypeError("an idempotent route must return a Response with its body in memory")
    headers = [
        (name.decode("latin-1"), value.decode("latin-1"))
        for name, value in response.raw_headers
        if name.decode("latin-1").lower() not in _NOT_STORED
    ]
    return StoredResponse(status_code=response.status_code, headers=headers, body=body)


def _replay(stored: StoredResponse) -> Response:
    response = Response(content=stored.body, status_code=stored.status_code)
    # Replace every header, content-length included, with the first response's.
    response.raw_headers = [
        (name.encode("latin-1"), value.encode("latin-1")) for name, value in stored.headers
    ]
    response.raw_headers.append((REPLAYED_HEADER.lower().encode(), b"true"))
    return response


class IdempotentRequest:
    """A write request and its ``Idempotency-Key`` (``key`` is ``None`` without one)."""

    def __init__(
        self,
        *,
        key: str | None,
        session: Session,
        api_key_id: int,
        fingerprint: str,
        ttl: timedelta,
    ) -> None:
        self.key = key
        self._session = session
        self._api_key_id = api_key_id
        self._fingerprint = fingerprint
        self._ttl = ttl

    def execute(self, produce: Callable[[], Response]) -> Response:
        """Run ``produce`` once per key, or replay the response it gave the first time.

        Whatever ``produce`` returns is stored, error statuses included; if it raises, the
        request's transaction rolls back and takes the claim of the key with it.
        """
        if self.key is None:
            return produce()
        claim = claim_key(
            self._session,
            api_key_id=self._api_key_id,
            key=self.key,
            fingerprint=self._fingerprint,
            ttl=self._ttl,
        )
        if not isinstance(claim, Claimed):
            return _replay(claim)
        response = produce()
        store_response(self._session, claim, _stored(response))
        return response


async def idempotent_request(
    request: Request,
    session: WriteSessionDep,
    principal: AuthenticatedDep,
    settings: SettingsDep,
    key: Annotated[
        str | None,
        Header(
            alias=IDEMPOTENCY_HEADER,
            min_length=1,
            max_length=255,
            pattern=r"^[\x20-\x7e]+$",
            description="Retries with the same key get the first response back (1-255 "
            "printable ASCII characters; kept for at least IDEMPOTENCY_TTL_HOURS).",
        ),
    ] = None,
) -> IdempotentRequest:
    """The request's :class:`IdempotentRequest` (async only to read the raw body)."""
    fingerprint = ""
    if key is not None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        fingerprint = request_fingerprint(request.method, target, await request.body())
    return IdempotentRequest(
        key=key,
        session=session,
        api_key_id=principal.key_id,
        fingerprint=fingerprint,
        ttl=timedelta(hours=settings.idempotency_ttl_hours),
    )


IdempotencyDep = Annotated[IdempotentRequest, Depends(idempotent_request)]
