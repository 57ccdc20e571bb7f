"""The ``lma`` command: migrations, API keys, backups, data imports and the webhook worker.

Start-up is kept short (``lma --help`` well under half a second; bench/cli_startup.py measures
it): building the parser imports nothing but the standard library, and each command imports
what it needs (SQLAlchemy, the use cases, numpy, rich) when it runs. Every command that only
reads takes ``--json``, for scripts.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from service import __version__
from service.cli.backup import add_backup_commands
from service.cli.exchange import add_exchange_commands
from service.cli.keys import add_key_commands
from service.cli.watch import add_watch_commands
from service.cli.worker import add_worker_commands


def _db_upgrade(_: argparse.Namespace) -> int:
    from service.db.migrate import head_revision, upgrade_to_head
    from service.settings import get_settings

    upgrade_to_head(get_settings().database_url)
    print(f"database at revision {head_revision()}")
    return 0


def _db_status(args: argparse.Namespace) -> int:
    from service.db.engine import create_db_engine
    from service.db.migrate import current_revision, head_revision
    from service.settings import get_settings

    settings = get_settings()
    engine = create_db_engine(settings.database_url, settings)
    try:
        current = current_revision(engine)
    finally:
        engine.dispose()
    head = head_revision()
    if args.json:
        print(json.dumps({"current": current, "head": head, "up_to_date": current == head}))
    else:
        print(f"current: {current or 'none'}  head: {head}")
    return 0 if current == head else 1


def _db_seed(_: argparse.Namespace) -> int:
    """``make run``'s starter evidence (:mod:`service.usecases.starter`)."""
    from service.db.engine import Database
    from service.settings import get_settings
    from service.usecases import starter

    settings = get_settings()
    if not settings.starter_evidence:
        print("starter evidence: off (STARTER_EVIDENCE=false)")
        return 0
    database = Database.from_settings(settings)
    try:
        with database.session(write=True) as session:
            report = starter.seed(session, settings.metapsy_rob_quality)
    finally:
        database.dispose()
    if report is None:
        print("starter evidence: the database holds studies already; nothing imported")
    else:
        print(
            f"starter evidence: imported {report.new_studies} studies ({report.new_results} "
            f"results) of the Metapsy peer-support database (doi:{starter.DOI}, {starter.LICENCE})"
        )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lma", description="Living meta-analysis service.")
    parser.add_argument("--version", action="version", version=f"lma {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    db = commands.add_parser("db", help="database schema").add_subparsers(
        dest="db_command", required=True
    )
    db.add_parser("upgrade", help="migrate DATABASE_URL to the newest schema").set_defaults(
        handler=_db_upgrade
    )
    status = db.add_parser("status", help="exit 0 when the schema is current")
    status.add_argument("--json", action="store_true", help="print the revisions as JSON")
    status.set_defaults(handler=_db_status)
    db.add_parser(
        "seed", help="import the bundled Metapsy starter evidence into a database without studies"
    ).set_defaults(handler=_db_seed)
    add_key_commands(commands)
    add_backup_commands(commands)
    add_worker_commands(commands)
    add_watch_commands(commands)
    add_exchange_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``lma`` console script."""
    args = build_parser().parse_args(argv)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
