"""Shared dependencies, as ``Annotated`` aliases for the routers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from service.db.engine import Database
from service.settings import Settings


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_read_session(database: Annotated[Database, Depends(get_database)]) -> Iterator[Session]:
    """A read-only unit of work for the request (rolled back or committed once at the end)."""
    with database.session() as session:
        yield session


def get_write_session(database: Annotated[Database, Depends(get_database)]) -> Iterator[Session]:
    """The request's write transaction: committed once at the end, rolled back on any error."""
    with database.session(write=True) as session:
        yield session


DatabaseDep = Annotated[Database, Depends(get_database)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
SessionDep = Annotated[Session, Depends(get_read_session, scope="function")]
WriteSessionDep = Annotated[Session, Depends(get_write_session, scope="function")]
