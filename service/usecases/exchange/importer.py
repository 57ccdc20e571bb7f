"""Import a Metapsy or metafor-style CSV file through the studies' own validation and batch write.

1. read the table (:mod:`.tabular`) and build candidate studies (:mod:`.metapsy`,
   :mod:`.metafor_csv`), noting rows that are skipped and problems found on the way;
2. validate every candidate exactly as ``POST /v1/studies`` does (the request schema, then
   :func:`~service.usecases.studies.rules.prepare_studies`), reporting each problem at its row,
   column and value with a suggestion;
3. match candidates with stored studies by registration id, DOI or the source's own study id
   (:class:`~service.db.models.StudySourceKey`): matched studies are not added again, so a
   second import of the same file writes nothing;
4. unless it is a dry run, store the new studies with
   :func:`~service.usecases.studies.service.create_studies`: one transaction, one evidence
   version, all or nothing; a file with any problem stores nothing (422 listing them).

Large files can be stored in batches instead, each its own transaction and version, with a
cursor to resume from (:mod:`.batches`); ``resume_from`` leaves out the studies that begin
before that row, in either mode.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from pydantic import ValidationError
from sqlalchemy.orm import Session

from service.db.models.exchange import MAX_SOURCE_STUDY_ID as MAX_SOURCE_KEY
from service.db.repositories.exchange import SourceKeyRepository
from service.db.repositories.studies import StudyRepository
from service.errors import InvalidInputError
from service.schemas.required_fields import field_message
from service.schemas.studies import StudyCreate
from service.usecases.exchange.candidates import Candidate, ParsedFile, RowProblem
from service.usecases.exchange.metafor_csv import parse_metafor_csv
from service.usecases.exchange.metapsy import (
    DEFAULT_DOCUMENT,
    INSTRUMENTS,
    MetapsyOptions,
    parse_metapsy,
)
from service.usecases.exchange.tabular import TableError, read_table
from service.usecases.studies.duplicates import find_near_duplicates, record_of, stored_records
from service.usecases.studies.evidence import WriteContext
from service.usecases.studies.rules import FieldErrors, Vocabulary, prepare_studies
from service.usecases.studies.service import create_studies

ImportFormat = Literal["metapsy", "csv"]
Progress = Callable[[int, int], None]
_SHOWN_IN_422 = 1000


@dataclass(frozen=True, slots=True)
class ImportOptions:
    """What to read and how: the format, a dry run, extra instrument names, the RoB rule;
    ``batch_size`` studies per transaction (``None``: one) and the row to resume from."""

    format: ImportFormat
    dry_run: bool
    rob_quality: Mapping[str, str]
    instrument_map: Mapping[str, str] = field(default_factory=dict)
    batch_size: int | None = None
    resume_from: int | None = None
    # The studies' ``source.document``: who published the file (the bundled starter evidence
    # names the database, its DOI, release and licence; see service.usecases.starter).
    document: str | None = None

    @property
    def source(self) -> str:
        """The name source study ids are stored under (:class:`SourceKeyRepository`)."""
        return "metapsy" if self.format == "metapsy" else "csv"


@dataclass(frozen=True, slots=True)
class MatchedStudy:
    """A study of the file that is stored already."""

    source_study_id: str
    study_id: int
    matched_by: Literal["registration_id", "doi", "source_study_id", "near_duplicate"]


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What the file holds and what the import did (or, in a dry run, would do)."""

    format: ImportFormat
    dry_run: bool
    rows: int
    studies: int
    results: int
    new_studies: int
    new_results: int
    matched: tuple[MatchedStudy, ...]
    skipped: dict[str, int]
    problems: tuple[RowProblem, ...]
    evidence_version: int | None = None
    created_study_ids: tuple[int, ...] = ()
    evidence_versions: tuple[int, ...] = ()
    resume_from: int | None = None


@dataclass(slots=True)
class Checked:
    """A candidate study, its validated body (``None`` if refused) and its stored match."""

    candidate: Candidate
    study: StudyCreate | None
    matched: MatchedStudy | None = None


def import_file(
    session: Session,
    text: str,
    options: ImportOptions,
    context: WriteContext,
    *,
    progress: Progress | None = None,
) -> ImportReport:
    """Check ``text`` row by row and, unless ``options.dry_run``, store its new studies (in
    ``session``'s transaction: one version)."""
    parsed, checked = check_file(text, options, Vocabulary.cached(session), progress)
    match_stored(session, checked, options.source)
    parsed.problems.extend(repeated_trials(checked))
    report = summary(parsed, checked, options)
    if options.dry_run:
        return report
    if report.problems:
        raise InvalidInputError(
            f"The file has {len(report.problems)} problem(s); nothing was imported. "
            "Fix them (POST with dry_run=true lists them row by row) and import again.",
            errors=shown_errors(report),
        )
    stored = store_new(session, checked, context, options.source)
    if stored is None:
        return report
    version, ids = stored
    return replace(
        report, evidence_version=version, created_study_ids=ids, evidence_versions=(version,)
    )


def instrument_map(text: str, *, field_name: str = "map") -> dict[str, str]:
    """``{"instrument name in the file": "instrument-slug"}`` from JSON (``--map``, or the API's
    ``map`` part); a 422 naming ``field_name`` for anything else."""
    try:
        loaded: object = json.loads(text)
    except json.JSONDecodeError:
        loaded = None  # refused below, as any other text that is not an object
    if not isinstance(loaded, dict) or not all(isinstance(slug, str) for slug in loaded.values()):
        message = 'must be a JSON object {"instrument name in the file": "instrument-slug"}'
        raise InvalidInputError(
            f"The instrument map {message}.",
            errors=[{"field": field_name, "message": message, "type": "value_error"}],
        )
    return {str(name): slug for name, slug in loaded.items()}


def shown_errors(report: ImportReport) -> list[dict[str, object]]:
    """The report's problems as a 422's ``errors`` (the first thousand)."""
    return [problem.as_error() for problem in report.problems[:_SHOWN_IN_422]]


def check_file(
    text: str, options: ImportOptions, vocabulary: Vocabulary, progress: Progress | None = None
) -> tuple[ParsedFile, list[Checked]]:
    """The file's candidates (from ``options.resume_from`` on), each validated."""
    parsed = _parse(text, options, vocabulary)
    if options.resume_from is not None:
        _resume(parsed, options.resume_from)
    return parsed, _validate(parsed, vocabulary, progress)


def _resume(parsed: ParsedFile, first_row: int) -> None:
    """Leave out the studies that begin before ``first_row`` and their rows' problems
    (a previous import stored them); the header's problems stay."""
    earlier = [c for c in parsed.candidates if c.first_row.number < first_row]
    dropped = {number for c in earlier for number in c.row_numbers}
    parsed.candidates = [c for c in parsed.candidates if c.first_row.number >= first_row]
    parsed.problems = [p for p in parsed.problems if p.row not in dropped]


def store_new(
    session: Session, checked: Sequence[Checked], context: WriteContext, source: str
) -> tuple[int, tuple[int, ...]] | None:
    """Store the valid, unmatched studies as one version: the version and their ids."""
    new = [c for c in checked if c.matched is None and c.study is not None]
    if not new:
        return None
    written = create_studies(session, [c.study for c in new if c.study is not None], context)
    ids = tuple(study.id for study in written.studies)
    keys = {c.candidate.source_key: i for c, i in zip(new, ids, strict=True)}
    SourceKeyRepository(session).remember(source, keys)
    return written.evidence_version, ids


def _parse(text: str, options: ImportOptions, vocabulary: Vocabulary) -> ParsedFile:
    try:
        table = read_table(text, delimiter=";" if options.format == "metapsy" else None)
    except TableError as error:
        where = {"row": error.row, "column": error.column}
        raise InvalidInputError(
            f"The body is not a readable CSV file: {error}.",
            errors=[
                {
                    "field": "body",
                    "message": str(error),
                    "type": "value_error",
                    **{name: value for name, value in where.items() if value is not None},
                }
            ],
        ) from error
    if options.format == "csv":
        return parse_metafor_csv(table)
    metapsy = MetapsyOptions(
        instrument_outcome=vocabulary.instrument_outcome,
        instruments={**INSTRUMENTS, **options.instrument_map},
        rob_quality=options.rob_quality,
        document=options.document or DEFAULT_DOCUMENT,
    )
    return parse_metapsy(table, metapsy)


def _validate(
    parsed: ParsedFile, vocabulary: Vocabulary, progress: Progress | None
) -> list[Checked]:
    """Each candidate through the request schema and the studies' rules, problems to ``parsed``.

    A study whose results break the schema is checked by the rules too, without those results,
    so that one report lists every problem of the file (the study stays refused).
    """
    checked: list[Checked] = []
    partial: list[Checked] = []
    total = len(parsed.candidates)
    for done, candidate in enumerate(parsed.candidates, start=1):
        if len(candidate.source_key) > MAX_SOURCE_KEY:
            _add(
                parsed, candidate, "title", f"the study's name is over {MAX_SOURCE_KEY} characters"
            )
            checked.append(Checked(candidate, None))
            continue
        try:
            checked.append(Checked(candidate, StudyCreate.model_validate(candidate.body)))
        except ValidationError as error:
            checked.append(Checked(candidate, None))
            partial += _without_broken_results(parsed, candidate, error)
        if progress is not None:
            progress(done, total)
    _check_rules(parsed, [c for c in checked if c.study is not None] + partial, vocabulary)
    return checked


def _without_broken_results(
    parsed: ParsedFile, candidate: Candidate, error: ValidationError
) -> list[Checked]:
    """Report ``error``; the study without its broken results, when that passes the schema."""
    broken: set[int] = set()
    for item in error.errors():
        path = ".".join(str(part) for part in item["loc"])
        _add(parsed, candidate, path, field_message(item))
        if len(item["loc"]) > 1 and item["loc"][0] == "outcome_results":
            broken.add(int(item["loc"][1]))
    kept = [i for i in range(len(candidate.result_rows)) if i not in broken]
    if not broken or not kept:
        return []
    body = dict(
        candidate.body, outcome_results=[candidate.body["outcome_results"][i] for i in kept]
    )
    rest = Candidate(
        candidate.source_key,
        body,
        candidate.first_row,
        [candidate.result_rows[i] for i in kept],
        candidate.study_columns,
        [candidate.result_columns[i] for i in kept],
    )
    try:
        return [Checked(rest, StudyCreate.model_validate(body))]
    except ValidationError:
        return []


def _check_rules(parsed: ParsedFile, valid: Sequence[Checked], vocabulary: Vocabulary) -> None:
    errors = FieldErrors()
    studies = [c.study for c in valid if c.study is not None]
    prepare_studies(studies, vocabulary, errors, at=[f"{i}." for i in range(len(studies))])
    for item in errors.items:
        index, _, path = str(item["field"]).partition(".")
        found = valid[int(index)]
        _add(parsed, found.candidate, path, str(item["message"]))
        found.study = None


def _add(parsed: ParsedFile, candidate: Candidate, path: str, message: str) -> None:
    row, column = candidate.locate(path)
    if any(p.row == row.number and p.column == column for p in parsed.problems):
        return  # already reported while reading the row (an unknown term, say)
    where = f" ({path})" if path else ""
    parsed.problem(row, column, f"{message}{where}", _suggestion(column, message))


def _suggestion(column: str | None, message: str) -> str:
    if "unknown instrument" in message or "measures" in message:
        return "use an instrument slug of GET /v1/instruments that measures the row's outcome"
    if message.startswith("unknown"):
        return (
            "use a slug listed by GET /v1/outcomes, /categories, /designs, /comparators "
            "or /quality-ratings"
        )
    if "exceeds" in message:
        return "the arm's randomized n must be at least the n analysed: check nrand and n"
    target = f"the {column} column" if column else "the row"
    return f"correct {target} so that it meets the rule, or remove the row"


def match_stored(session: Session, checked: Sequence[Checked], source: str) -> None:
    """Mark candidates that are stored already (by registration id, DOI, or source id)."""
    studies = [c.study for c in checked if c.study is not None]
    stored = StudyRepository(session).duplicates(
        dois={s.doi for s in studies if s.doi},
        registration_ids={s.registration_id for s in studies if s.registration_id},
    )
    by_registration = {r.registration_id: r.study_id for r in stored if r.registration_id}
    by_doi = {r.doi: r.study_id for r in stored if r.doi}
    keys = {c.candidate.source_key for c in checked}
    by_key = SourceKeyRepository(session).current_studies(source, keys)
    for item in checked:
        item.matched = _matched(item, by_registration, by_doi, by_key)
    _match_near_duplicates(session, checked)


def _match_near_duplicates(session: Session, checked: Sequence[Checked]) -> None:
    """Mark candidates that are likely a stored study though no identifier says so (a file
    exported without DOIs, the same trial typed again): the shared near-duplicate rules."""
    open_items = [c for c in checked if c.matched is None and c.study is not None]
    if not open_items:
        return
    records = [record_of(c.study) for c in open_items if c.study is not None]
    stored = stored_records(session, records)
    for found in find_near_duplicates(records, stored):
        item = open_items[found.index]
        if found.existing.study_id is not None and item.matched is None:
            key = item.candidate.source_key
            item.matched = MatchedStudy(key, found.existing.study_id, "near_duplicate")


def repeated_trials(checked: Sequence[Checked]) -> list[RowProblem]:
    """A problem at each study of the file that is likely an earlier study of the same file
    (the near-duplicate rules of :mod:`~service.usecases.studies.duplicates`), so that a
    repeated trial is reported at its row instead of being stored twice."""
    open_items = [c for c in checked if c.matched is None and c.study is not None]
    records = [record_of(c.study) for c in open_items if c.study is not None]
    problems = []
    for found in find_near_duplicates(records, ()):
        item = open_items[found.index]
        earlier = open_items[next(i for i, r in enumerate(records) if r is found.existing)]
        problems.append(
            RowProblem(
                row=item.candidate.first_row.number,
                column=None,
                value=None,
                problem=f"likely the same trial as the study at row "
                f"{earlier.candidate.first_row.number}: {found.evidence.as_dict()}",
                suggestion="remove the repeated rows, or give the two trials their registration "
                "ids if they are different trials",
            )
        )
    return problems


def _matched(
    item: Checked,
    by_registration: Mapping[str, int],
    by_doi: Mapping[str, int],
    by_key: Mapping[str, int],
) -> MatchedStudy | None:
    key, study = item.candidate.source_key, item.study
    registration = study.registration_id if study else None
    doi = study.doi if study else None
    if registration is not None and registration in by_registration:
        return MatchedStudy(key, by_registration[registration], "registration_id")
    if doi is not None and doi in by_doi:
        return MatchedStudy(key, by_doi[doi], "doi")
    if key in by_key:
        return MatchedStudy(key, by_key[key], "source_study_id")
    return None


def summary(parsed: ParsedFile, checked: Sequence[Checked], options: ImportOptions) -> ImportReport:
    """The report of ``checked`` (matched as they are), nothing stored yet."""
    new = [c for c in checked if c.matched is None and c.study is not None]
    problems = sorted(parsed.problems, key=lambda p: (p.row or 0, p.column or ""))
    return ImportReport(
        format=options.format,
        dry_run=options.dry_run,
        rows=parsed.rows,
        studies=len(checked),
        results=sum(len(c.candidate.result_rows) for c in checked),
        new_studies=len(new),
        new_results=sum(len(c.study.outcome_results) for c in new if c.study is not None),
        matched=tuple(c.matched for c in checked if c.matched is not None),
        skipped=dict(sorted(parsed.skipped.items())),
        problems=tuple(problems),
    )
