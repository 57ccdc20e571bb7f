"""Large imports in batches: each batch of studies is one transaction and one evidence version,
and the report carries a cursor to resume from.

1. check the whole file once (:func:`~.importer.check_file`), so that the report lists every
   problem of the file, as a one-transaction import does;
2. cut the studies, ordered by the row each begins on, into batches of ``batch_size``;
3. store batch after batch, each in a transaction of its own: match it with the stored studies
   (:func:`~.importer.match_stored`: what an earlier batch or import stored is not stored
   again), then :func:`~.importer.store_new` (one version);
4. stop before the first batch that holds a problem: the batches before it stay stored, and
   ``resume_from`` is the row that batch begins on (a 422 that lists every problem of the
   file and carries ``resume_from`` and the versions written). Importing the corrected file
   again with ``resume_from`` continues there; without it the import would match the stored
   studies and store nothing twice either, only more slowly. ``resume_from`` is ``None``
   once every batch is stored.

A failure that is not the file's (the database going away) ends the import in the batch it
happens in: the batches before it stay stored, and the next import resumes by matching.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, replace

from service.db.engine import Database
from service.errors import InvalidInputError
from service.usecases.exchange.candidates import ParsedFile
from service.usecases.exchange.importer import (
    Checked,
    ImportOptions,
    ImportReport,
    Progress,
    check_file,
    match_stored,
    shown_errors,
    store_new,
    summary,
)
from service.usecases.studies.evidence import WriteContext
from service.usecases.studies.rules import Vocabulary


@dataclass(frozen=True, slots=True)
class Batch:
    """Consecutive studies of the file, the row the first begins on, and whether any of them
    (or of their rows) has a problem."""

    checked: tuple[Checked, ...]
    first_row: int
    refused: bool


@dataclass(slots=True)
class _Written:
    versions: list[int]
    study_ids: list[int]
    results: int = 0


def import_in_batches(
    database: Database,
    text: str,
    options: ImportOptions,
    context: WriteContext,
    *,
    progress: Progress | None = None,
) -> ImportReport:
    """Check ``text`` and store its new studies ``options.batch_size`` at a time."""
    if options.batch_size is None:
        raise ValueError("import_in_batches needs options.batch_size")
    with database.session() as session:
        vocabulary = Vocabulary.cached(session)
    parsed, checked = check_file(text, options, vocabulary, progress)
    if options.dry_run:
        with database.session() as session:
            match_stored(session, checked, options.source)
        return summary(parsed, checked, options)
    written = _Written([], [])
    resume_from = None
    for batch in batches(parsed, checked, options.batch_size):
        if batch.refused:
            resume_from = batch.first_row
            break
        _store(database, batch, options, context, written)
    report = _report(summary(parsed, checked, options), written, resume_from)
    if report.problems:
        raise _stopped(report)
    return report


def _stopped(report: ImportReport) -> InvalidInputError:
    """A 422 that says what was stored and where to resume once the problems are fixed."""
    fix = "Fix them (POST with dry_run=true lists them row by row)"
    if report.resume_from is None:  # the file's own problems (its header): no batch began
        where = "nothing was imported"
        then = "import again"
    else:
        versions = ", ".join(str(v) for v in report.evidence_versions) or "none"
        where = (
            f"the batches before row {report.resume_from} are stored "
            f"({report.new_studies} studies; evidence version(s) {versions}), the batch "
            f"beginning at row {report.resume_from} and those after it are not"
        )
        then = f"import the file again with resume_from={report.resume_from}"
    return InvalidInputError(
        f"The file has {len(report.problems)} problem(s); {where}. {fix} and {then}.",
        errors=shown_errors(report),
        members={
            "resume_from": report.resume_from,
            "evidence_versions": list(report.evidence_versions),
            "created_study_ids": list(report.created_study_ids),
        },
    )


def batches(parsed: ParsedFile, checked: Sequence[Checked], size: int) -> list[Batch]:
    """``checked`` in batches of ``size`` studies, by the row each begins on."""
    ordered = sorted(checked, key=lambda c: c.candidate.first_row.number)
    groups = [tuple(ordered[i : i + size]) for i in range(0, len(ordered), size)]
    firsts = [group[0].candidate.first_row.number for group in groups]
    batch_of_row = {
        number: index
        for index, group in enumerate(groups)
        for c in group
        for number in c.candidate.row_numbers
    }
    bad = {_batch_of(p.row, batch_of_row, firsts) for p in parsed.problems}
    bad |= {i for i, group in enumerate(groups) if any(c.study is None for c in group)}
    return [Batch(group, firsts[i], i in bad) for i, group in enumerate(groups)]


def _batch_of(row: int | None, batch_of_row: dict[int, int], firsts: list[int]) -> int:
    """The batch a problem's row belongs to: its study's, else the batch it falls in (the
    header's and the file's own problems: the first)."""
    if row is None:
        return 0
    if row in batch_of_row:
        return batch_of_row[row]
    return max(bisect_right(firsts, row) - 1, 0)


def _store(
    database: Database,
    batch: Batch,
    options: ImportOptions,
    context: WriteContext,
    written: _Written,
) -> None:
    with database.session(write=True) as session:
        match_stored(session, batch.checked, options.source)
        stored = store_new(session, batch.checked, context, options.source)
    if stored is None:
        return
    version, ids = stored
    written.versions.append(version)
    written.study_ids.extend(ids)
    new = [c for c in batch.checked if c.matched is None and c.study is not None]
    written.results += sum(len(c.study.outcome_results) for c in new if c.study is not None)


def _report(report: ImportReport, written: _Written, resume_from: int | None) -> ImportReport:
    """The whole file's report, with what the batches stored (not what they would store)."""
    return replace(
        report,
        new_studies=len(written.study_ids),
        new_results=written.results,
        created_study_ids=tuple(written.study_ids),
        evidence_versions=tuple(written.versions),
        evidence_version=written.versions[-1] if written.versions else None,
        resume_from=resume_from,
    )
