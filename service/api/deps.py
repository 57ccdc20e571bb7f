"""Shared dependencies, as ``Annotated`` aliases for the routers.

FastAPI runs a plain ``def`` dependency in the thread pool, and a trip there (a hand-off to a
worker thread and back to the event loop) costs more than most dependencies do. So whatever
never blocks is ``async def``, and the request's session is opened on the event loop (it
connects only at its first query) and ended in the thread pool, or in the same trip as the
route's work with :func:`run_and_finish`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager, asynccontextmanager
from functools import partial
from typing import Annotated, Concatenate, ParamSpec, TypeVar

import anyio.to_thread
from anyio import CancelScope, CapacityLimiter
from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from service.db.engine import Database
from service.settings import Settings

P = ParamSpec("P")
T = TypeVar("T")

# Where a session keeps the unit of work that opened it while that unit is still open.
_UNIT = "service.api.deps.unit"


async def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


async def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _finish(session: Session, error: BaseException | None = None) -> None:
    # Commit (or roll back on ``error``) and close, once: whoever gets here first does it.
    unit: AbstractContextManager[Session] | None = session.info.pop(_UNIT, None)
    if unit is None:
        return
    if error is None:
        unit.__exit__(None, None, None)
    else:
        unit.__exit__(type(error), error, error.__traceback__)


@asynccontextmanager
async def _unit_of_work(database: Database, *, write: bool) -> AsyncIterator[Session]:
    unit = database.session(write=write)
    # Entering connects to nothing: the session begins at its first query, in a worker thread.
    session = unit.__enter__()
    session.info[_UNIT] = unit
    error: BaseException | None = None
    try:
        yield session
    except BaseException as raised:
        error = raised
        raise
    finally:
        if _UNIT in session.info:
            # Committing or rolling back may wait on the database: in the thread pool, with a
            # limiter of its own so that it never waits for a worker while holding a
            # connection, and shielded so that a cancelled request still ends its transaction
            # (as FastAPI does for a plain generator dependency).
            with CancelScope(shield=True):
                await anyio.to_thread.run_sync(_finish, session, error, limiter=CapacityLimiter(1))


async def get_read_session(
    database: Annotated[Database, Depends(get_database)],
) -> AsyncIterator[Session]:
    """A read-only unit of work for the request (rolled back or committed once at the end)."""
    async with _unit_of_work(database, write=False) as session:
        yield session


async def get_write_session(
    request: Request, database: Annotated[Database, Depends(get_database)]
) -> AsyncIterator[Session]:
    """The request's write transaction: committed once at the end, rolled back on any error."""
    async with _unit_of_work(database, write=True) as session:
        if database.read_engine is database.write_engine:
            request.state.shared_write_session = session
        yield session


def shared_write_session(request: Request) -> Session | None:
    """The request's write session when reads may use it too (PostgreSQL), else ``None``.

    With one engine for reads and writes, a read made before the write (the API key's lookup)
    in the write's own transaction saves the second transaction's checkout, ping, BEGIN and
    COMMIT: four round trips of a POST's ~20 on PostgreSQL (issue 23). On SQLite the write
    session takes the database's write lock as it begins, so reads keep their own session.
    Only a write route's dependencies declared after its ``WriteSessionDep`` see it.
    """
    session: Session | None = getattr(request.state, "shared_write_session", None)
    return session


def _run_and_finish(
    work: Callable[Concatenate[Session, P], T], session: Session, *args: P.args, **kwargs: P.kwargs
) -> T:
    result = work(session, *args, **kwargs)
    _finish(session)
    return result


async def run_and_finish(
    work: Callable[Concatenate[Session, P], T], session: Session, *args: P.args, **kwargs: P.kwargs
) -> T:
    """``work(session, ...)`` in the thread pool, then the session's commit in the same trip.

    For an ``async def`` route whose blocking work is a single call: one trip to the thread
    pool instead of two (the route's and the session's end). When ``work`` raises, the session
    is left to its dependency, which rolls it back. A session that does not come from
    :func:`get_read_session` or :func:`get_write_session` (a test's, say) is left alone.
    """
    return await run_in_threadpool(partial(_run_and_finish, work, session, *args, **kwargs))


DatabaseDep = Annotated[Database, Depends(get_database)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
SessionDep = Annotated[Session, Depends(get_read_session, scope="function")]
WriteSessionDep = Annotated[Session, Depends(get_write_session, scope="function")]
