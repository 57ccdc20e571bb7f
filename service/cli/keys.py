"""``lma keys ...`` and ``lma idempotency purge``: API keys and idempotency records.

A new key is printed once, on a line of its own so that scripts can capture it; neither the
key nor its hash is ever printed again.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported by the commands when they run: lma --help stays fast
    from sqlalchemy.orm import Session

    from service.db.models import ApiKey

Handler = Callable[[argparse.Namespace], int]
# The scopes' names, for the help text without importing the use cases (a test keeps them
# equal to service.usecases.operations.keys.Scope).
SCOPES = ("read", "submit", "curate", "subscribe", "admin")


@contextmanager
def _write_session() -> Iterator[Session]:
    from service.db.engine import Database
    from service.settings import get_settings

    database = Database.from_settings(get_settings())
    try:
        with database.session(write=True) as session:
            yield session
    finally:
        database.dispose()


def _keys_create(args: argparse.Namespace) -> int:
    from service.usecases.operations.keys import create_api_key

    with _write_session() as session:
        created = create_api_key(
            session, name=args.name, scopes=args.scopes.split(","), trusted=args.trusted
        )
        api_key = created.api_key
        summary = f"{api_key.name} (key id {api_key.public_id}, scopes {','.join(api_key.scopes)})"
    # Printed only once the transaction has committed: a key that failed to save is no key.
    if args.quiet:  # KEY=$(lma keys create ... --quiet): the key alone on stdout
        print(created.plaintext)
        return 0
    print(f"created API key {summary}")
    print(created.plaintext)
    print("Store this key now: it will not be shown again.")
    return 0


def _row(api_key: ApiKey) -> Sequence[str]:
    return (
        api_key.name,
        api_key.public_id,
        ",".join(api_key.scopes),
        "yes" if api_key.trusted else "no",
        api_key.created_at.isoformat(timespec="seconds"),
        api_key.revoked_at.isoformat(timespec="seconds") if api_key.revoked_at else "-",
    )


def _json_row(row: dict[str, str]) -> dict[str, object]:
    return {
        **row,
        "scopes": row["scopes"].split(","),
        "trusted": row["trusted"] == "yes",
        "revoked_at": None if row["revoked_at"] == "-" else row["revoked_at"],
    }


def _print_table(rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def _keys_list(args: argparse.Namespace) -> int:
    from service.usecases.operations.keys import list_api_keys

    with _write_session() as session:
        rows = [_row(api_key) for api_key in list_api_keys(session)]
    if args.json:
        names = ("name", "key_id", "scopes", "trusted", "created_at", "revoked_at")
        print(json.dumps([_json_row(dict(zip(names, row, strict=True))) for row in rows]))
        return 0
    _print_table([("NAME", "KEY ID", "SCOPES", "TRUSTED", "CREATED", "REVOKED"), *rows])
    return 0


def _keys_revoke(args: argparse.Namespace) -> int:
    from service.usecases.operations.keys import revoke_api_key

    with _write_session() as session:
        revoked_at = revoke_api_key(session, args.name).revoked_at
    assert revoked_at is not None
    print(f"API key {args.name} revoked at {revoked_at.isoformat(timespec='seconds')}")
    return 0


def _idempotency_purge(_: argparse.Namespace) -> int:
    from service.usecases.operations.idempotency import purge_expired

    with _write_session() as session:
        deleted = purge_expired(session)
    print(f"deleted {deleted} expired idempotency record(s)")
    return 0


def _reporting(handler: Handler) -> Handler:
    """``handler``, with the service's own errors printed as one line and exit status 1."""

    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        from service.errors import ServiceError

        try:
            return handler(args)
        except ServiceError as error:
            print(f"lma: {error.detail}", file=sys.stderr)
            return 1

    return run


def add_key_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``lma keys create|list|revoke`` and ``lma idempotency purge``."""
    keys = commands.add_parser("keys", help="API keys").add_subparsers(
        dest="keys_command", required=True
    )
    create = keys.add_parser("create", help="create a key and print it, once")
    create.add_argument("--name", required=True, help="a unique name, at most 100 characters")
    create.add_argument(
        "--scopes", required=True, help=f"comma-separated, of: {','.join(SCOPES)} (admin: all)"
    )
    create.add_argument("--trusted", action="store_true", help="mark the key as trusted")
    create.add_argument(
        "--quiet", action="store_true", help="print the key alone, for KEY=$(lma keys create ...)"
    )
    create.set_defaults(handler=_reporting(_keys_create))
    listing = keys.add_parser("list", help="list keys (never their secrets)")
    listing.add_argument("--json", action="store_true", help="print the keys as JSON")
    listing.set_defaults(handler=_reporting(_keys_list))
    revoke = keys.add_parser("revoke", help="revoke a key: it stops authenticating at once")
    revoke.add_argument("name", help="the key's name")
    revoke.set_defaults(handler=_reporting(_keys_revoke))
    idempotency = commands.add_parser("idempotency", help="idempotency records").add_subparsers(
        dest="idempotency_command", required=True
    )
    idempotency.add_parser("purge", help="delete expired idempotency records").set_defaults(
        handler=_reporting(_idempotency_purge)
    )
