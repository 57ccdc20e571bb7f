"""``lma export FILE`` and ``lma import FILE``: back the evidence base up, and restore it.

The export is written to a temporary file beside ``FILE`` and renamed into place once complete,
so an interrupted export never leaves a truncated backup under the final name. The import runs
in one transaction: it restores everything or nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported by the commands when they run: lma --help stays fast
    from service.schemas.backup import EvidenceBackup

_SHOWN_ERRORS = 5


def _write_atomically(path: Path, data: str) -> None:
    import tempfile  # here, not at the top: lma --help stays fast

    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _export(args: argparse.Namespace) -> int:
    from service.db.engine import Database
    from service.db.migrate import current_revision
    from service.settings import get_settings
    from service.usecases.operations.backup import export_evidence

    database = Database.from_settings(get_settings())
    try:
        revision = current_revision(database.read_engine)
        with database.session() as session:
            backup = export_evidence(session, schema_revision=revision)
    finally:
        database.dispose()
    _write_atomically(Path(args.file), backup.model_dump_json(indent=1))
    revisions = sum(len(study.revisions) for study in backup.studies)
    print(
        f"exported {len(backup.studies)} studies ({revisions} revisions), "
        f"{len(backup.versions)} versions and {len(backup.audit_entries)} audit entries "
        f"to {args.file}"
    )
    return 0


def _read_backup(path: Path) -> EvidenceBackup | str:
    from pydantic import ValidationError

    from service.schemas.backup import EvidenceBackup

    try:
        return EvidenceBackup.model_validate_json(path.read_bytes())
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror}"
    except ValidationError as exc:
        shown = [
            f"{'.'.join(map(str, error['loc'])) or '(document)'}: {error['msg']}"
            for error in exc.errors()[:_SHOWN_ERRORS]
        ]
        return f"{path} is not an lma backup ({exc.error_count()} problems): " + "; ".join(shown)


def _import(args: argparse.Namespace) -> int:
    from service.db.engine import Database
    from service.db.migrate import current_revision, head_revision
    from service.errors import ServiceError
    from service.settings import get_settings
    from service.usecases.operations.backup import import_evidence

    backup = _read_backup(Path(args.file))
    if isinstance(backup, str):
        print(f"lma: {backup}", file=sys.stderr)
        return 1
    database = Database.from_settings(get_settings())
    try:
        revision, head = current_revision(database.read_engine), head_revision()
        if revision != head:
            print(
                f"lma: the database is at revision {revision or 'none'}, not {head}: "
                "run lma db upgrade first",
                file=sys.stderr,
            )
            return 1
        with database.session(write=True) as session:
            summary = import_evidence(session, backup)
    except ServiceError as error:
        print(f"lma: {error.detail}", file=sys.stderr)
        return 1
    finally:
        database.dispose()
    print(
        f"imported {summary.studies} studies ({summary.revisions} revisions), "
        f"{summary.versions} versions and {summary.audit_entries} audit entries from {args.file}"
    )
    if summary.api_keys_not_restored:
        print(
            f"{summary.api_keys_not_restored} API key(s) listed in the backup were not restored "
            "(backups hold no key hashes): create new ones with lma keys create"
        )
    return 0


def add_backup_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``lma export FILE`` and ``lma import FILE``."""
    export = commands.add_parser(
        "export", help="write the whole evidence base, with its history, to a JSON file"
    )
    export.add_argument("file", help="where to write the backup (replaced if it exists)")
    export.set_defaults(handler=_export)
    restore = commands.add_parser(
        "import", help="restore a backup into an empty, migrated database (one transaction)"
    )
    restore.add_argument("file", help="a file written by lma export")
    restore.set_defaults(handler=_import)
