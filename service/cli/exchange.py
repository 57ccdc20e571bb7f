"""``lma import-data metapsy FILE`` and ``lma import-data csv FILE``: the API's imports, locally.

The same use cases as ``POST /v1/imports``: in one transaction, or with ``--batch-size N`` in
batches of N studies (a transaction and a version each), continued after a stop with
``--resume-from ROW``. A progress bar while the studies are checked (on a terminal only), then
the summary: studies and results found and stored, studies already present, skipped rows by
reason, and every problem with its row and column.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from service.data.metapsy import DOI as METAPSY_DOI

if TYPE_CHECKING:  # imported by the command when it runs: lma --help stays fast
    from rich.console import Console

    from service.usecases.exchange.importer import ImportReport

_ACTOR = "lma import-data"


def _instrument_map(path: str | None) -> dict[str, str]:
    """A JSON object ``{"instrument name in the file": "instrument-slug"}``."""
    from pathlib import Path

    from service.usecases.exchange.importer import instrument_map

    if path is None:
        return {}
    return instrument_map(Path(path).read_text(encoding="utf-8"), field_name=f"--map {path}")


def _run(args: argparse.Namespace, console: Console) -> ImportReport:
    from dataclasses import replace
    from pathlib import Path

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from service.db.engine import Database
    from service.settings import get_settings
    from service.usecases import starter
    from service.usecases.exchange.batches import import_in_batches
    from service.usecases.exchange.importer import ImportOptions, import_file
    from service.usecases.studies.evidence import WriteContext

    settings = get_settings()
    options = ImportOptions(
        format=args.format,
        dry_run=args.dry_run,
        rob_quality=settings.metapsy_rob_quality,
        instrument_map=_instrument_map(args.map),
        batch_size=args.batch_size,
        resume_from=args.resume_from,
    )
    if args.bundled:
        options = replace(options, document=starter.document(starter.bundled_text()))
        text = starter.bundled_text()
    else:
        text = Path(args.file).read_text(encoding="utf-8")
    context = WriteContext(actor=_ACTOR, request_id=None, may_curate=True, trusted=True)
    database = Database.from_settings(settings)
    columns = (TextColumn("checking studies"), BarColumn(), MofNCompleteColumn())
    try:
        with Progress(*columns, console=console, disable=not console.is_terminal) as bar:
            task = bar.add_task("check", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            if options.batch_size is not None:
                return import_in_batches(database, text, options, context, progress=progress)
            with database.session(write=not args.dry_run) as session:
                return import_file(session, text, options, context, progress=progress)
    finally:
        database.dispose()


def _summary(report: ImportReport, console: Console) -> None:
    from rich.table import Table

    action = "would store" if report.dry_run else "stored"
    console.print(
        f"{report.rows} rows: {report.studies} studies with {report.results} results of the "
        f"review's outcomes; {action} {report.new_studies} new studies "
        f"({report.new_results} results); {len(report.matched)} already present"
    )
    versions = ", ".join(str(v) for v in report.evidence_versions)
    if len(report.evidence_versions) == 1:
        console.print(f"evidence version {versions}")
    elif versions:
        console.print(f"evidence versions {versions} (one per batch)")
    for reason, count in report.skipped.items():
        console.print(f"skipped {count} row(s): {reason}")
    if report.problems:
        table = Table("row", "column", "value", "problem", "suggestion", title="problems")
        for p in report.problems:
            table.add_row(str(p.row), p.column or "", p.value or "", p.problem, p.suggestion)
        console.print(table)


def _import_data(args: argparse.Namespace) -> int:
    from rich.console import Console

    from service.errors import ServiceError

    # With --json the progress bar and messages go to stderr; stdout holds the report alone.
    console = Console(highlight=False, stderr=args.json)
    if args.bundled == (args.file is not None) or (args.bundled and args.format != "metapsy"):
        console.print("lma: give a FILE, or --bundled (metapsy only), not both", style="red")
        return 2
    try:
        report = _run(args, console)
    except (OSError, ValueError) as error:
        console.print(f"lma: {error}", style="red", markup=False, highlight=False)
        return 1
    except ServiceError as error:
        console.print(f"lma: {error.detail}", style="red", markup=False, highlight=False)
        for item in error.extra.get("errors", []):
            console.print(
                f"  {item['field']}: {item['message']} -> {item.get('suggestion', '')}",
                markup=False,
                highlight=False,
            )
        if error.extra.get("resume_from") is not None:
            resume = error.extra["resume_from"]
            console.print(f"lma: once fixed, continue with --resume-from {resume}", markup=False)
        return 1
    if args.json:
        import dataclasses

        print(json.dumps(dataclasses.asdict(report)))
    else:
        _summary(report, console)
    return 1 if report.problems else 0


def add_exchange_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``lma import-data {metapsy,csv} (FILE | --bundled) [--dry-run] [--map MAP.json]
    [--batch-size N] [--resume-from ROW]``."""
    parser = commands.add_parser(
        "import-data", help="import studies from a Metapsy or metafor-style CSV file"
    )
    parser.add_argument("format", choices=["metapsy", "csv"])
    parser.add_argument("file", nargs="?", help="the file (UTF-8)")
    parser.add_argument(
        "--bundled",
        action="store_true",
        help="the Metapsy peer-support database shipped in the package (ODC-By 1.0, "
        f"doi:{METAPSY_DOI}) instead of FILE",
    )
    parser.add_argument("--dry-run", action="store_true", help="check and report; write nothing")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--map", help='JSON {"instrument name in the file": "instrument-slug"} (Metapsy)'
    )
    parser.add_argument(
        "--batch-size",
        type=_positive,
        help="store N studies per transaction and version (default: the whole file in one)",
    )
    parser.add_argument(
        "--resume-from",
        type=_positive,
        metavar="ROW",
        help="leave out the studies that begin before ROW (what a stopped import printed)",
    )
    parser.set_defaults(handler=_import_data)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, not {text}")
    return value
