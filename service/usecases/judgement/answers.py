"""Pooled results on demand: one outcome, the summary table, an outcome's history.

Every answer is a :class:`Conditional`: the evidence version is read first (one cheap query),
which with the canonical specification and the engine version gives the ETag. A client that
already holds that ETag gets nothing more computed; otherwise the result comes from the
cache (:mod:`service.usecases.pooled.cache`) or is computed from a single evidence query.
What an answer adds beyond its evidence (an outcome's ongoing trials) is an addendum applied
to the cached answer, its stamp part of the key and ETag (:mod:`service.usecases.pooled.addenda`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar, cast

from sqlalchemy.orm import Session

from service.db.repositories.pooled import EvidenceRow, PooledRepository
from service.errors import FutureVersionError
from service.schemas.common import ReadModel
from service.schemas.pooled import (
    HistoryPointRead,
    HistoryQuery,
    PooledCellRead,
    PooledHistoryRead,
    PooledQuery,
    PooledRead,
    PooledTableRead,
    TableQuery,
)
from service.schemas.pooled_view import PooledHeadlineRead
from service.stats import ENGINE_VERSION
from service.stats.errors import check_deadline
from service.usecases.analyses.cost import (
    UNLIMITED,
    ComputeBudget,
    check_cost,
    check_history_cost,
    stopped_at_deadline,
)
from service.usecases.judgement.assessment import with_assessment
from service.usecases.judgement.cells import CellAssessor, answer_assessment
from service.usecases.pooled.addenda import Addendum, with_stamp
from service.usecases.pooled.analysis import (
    analyse_outcome,
    section_names,
    summary_of,
)
from service.usecases.pooled.cache import (
    Entry,
    Key,
    ResultCache,
    cache_key,
    none_match,
    strong_etag,
)
from service.usecases.pooled.effects import effects_at
from service.usecases.pooled.selection import StudyEffect, select_effects, valid_at
from service.usecases.pooled.spec import (
    PooledSpec,
    PooledVocabulary,
    bayes_options,
    spec_from_options,
)
from service.usecases.pooled.summary_view import headline_view
from service.usecases.studies.evidence import current_version

T = TypeVar("T")
M = TypeVar("M", bound=ReadModel)
# Covariant: a Conditional is read-only (frozen), so one of a PooledRead is one of a ReadModel.
T_co = TypeVar("T_co", covariant=True)
ALL_OUTCOMES = "*"


@dataclass(frozen=True, slots=True)
class AnswerKey:
    """What an answer is looked up by, apart from the version: its kind and specification.

    ``outcomes``: whose evidence it depends on (``None``: every outcome's). ``addendum``: the
    name of what is added after the cache (:mod:`service.usecases.pooled.addenda`), whose
    stamp is part of the key, or ``None``.
    """

    kind: str
    canonical: str
    outcomes: tuple[str, ...] | None
    as_of: int | None
    addendum: str | None = None


@dataclass(frozen=True, slots=True)
class Conditional(Generic[T_co]):
    """An answer with its ETag; ``body`` is ``None`` when the client's copy is current.

    ``json`` is ``body`` as the API sends it (serialized once, when it was cached), and
    ``entry`` the cache entry that holds it (and its compressed forms).

    ``evidence_version`` is the effective version (the last that changed the evidence the
    answer depends on; see :mod:`service.usecases.pooled.outcome_versions`), and
    ``checked_version`` the version the request was answered at (``as_of`` or the newest).

    ``pinned``: the request named its version (``as_of``), so the answer never changes.
    """

    etag: str
    evidence_version: int
    pinned: bool
    body: T_co | None
    json: bytes | None = None
    checked_version: int | None = None
    entry: Entry | None = None
    key: AnswerKey | None = None


def resolve_version(session: Session, as_of: int | None) -> int:
    """``as_of``, or the newest committed version; 404 for a version that does not exist."""
    return requested_version(as_of, current_version(session))


def requested_version(as_of: int | None, newest: int) -> int:
    """``as_of``, or ``newest``; 404 for a version that does not exist yet."""
    if as_of is None:
        return newest
    if as_of > newest:
        raise FutureVersionError(as_of, newest)
    return as_of


class _Reader:
    """Computes what the cache does not have, loading vocabulary and evidence at most once."""

    def __init__(
        self, session: Session, cache: ResultCache, budget: ComputeBudget = UNLIMITED
    ) -> None:
        self._session = session
        self._repository = PooledRepository(session)
        self._cache = cache
        self._budget = budget
        self._vocabulary: PooledVocabulary | None = None

    @property
    def vocabulary(self) -> PooledVocabulary:
        if self._vocabulary is None:
            self._vocabulary = PooledVocabulary.from_terms(self._repository.vocabulary())
        return self._vocabulary

    def cached(self, spec: PooledSpec, version: int) -> PooledRead | None:
        return self._cache.get(cache_key("pooled", spec.canonical(), version), PooledRead)

    def compute(self, spec: PooledSpec, version: int) -> PooledRead:
        """Analyse the evidence at ``version`` under ``spec``, and remember the answer.

        The cost is checked once the effects are selected (which fixes k), before the analysis.
        """
        effects = self.effects(spec, version)
        names = section_names(spec, len(effects))
        check_cost(len(effects), names, self._budget, spec.estimator)
        with stopped_at_deadline(self._budget):
            deadline = self._budget.deadline()
            answer = analyse_outcome(
                effects, spec, version=version, deadline=deadline, rows=self._cache.study_rows
            )
        answer = with_assessment(self._session, answer, spec)  # certainty and statement
        self._cache.put(cache_key("pooled", spec.canonical(), version), answer)
        return answer

    def cell(self, spec: PooledSpec, version: int, assessor: CellAssessor) -> PooledCellRead:
        """The table's cell of ``spec`` at ``version``, with its certainty and statement: from
        a cached answer, or by fitting only (and what the certainty rules read)."""
        known = self.cached(spec, version)
        if known is not None:
            fields = {**summary_of(known), **answer_assessment(known)}
        else:
            fields = assessor.headline(self.effects(spec, version), spec, version)
        return PooledCellRead(outcome=spec.outcome, category=spec.category, **fields)

    def effects(self, spec: PooledSpec, version: int) -> Sequence[StudyEffect]:
        """The selected effects of ``spec`` at ``version`` (a committed one)."""
        return effects_at(
            self._session,
            spec,
            version,
            memo=self._cache.selections,
            min_rank=self._min_rank(spec),
        )

    def point(
        self, rows: list[EvidenceRow], spec: PooledSpec, version: int, assessor: CellAssessor
    ) -> dict[str, Any]:
        """The headline of the answer for ``rows`` with its certainty and statement, fitting
        only (and what the certainty rules read, as a table cell), so nothing to cache."""
        effects = select_effects(rows, spec, min_rank=self._min_rank(spec))
        return assessor.headline(effects, spec, version)

    def _effective(self, outcome: str, version: int) -> int:
        """The version the answers of ``outcome`` at ``version`` are keyed by (no query)."""
        versions = self._cache.outcome_versions
        return versions.effective(self._session, [outcome], version, head=version)

    def _min_rank(self, spec: PooledSpec) -> int | None:
        return self.vocabulary.quality_rank[spec.min_quality] if spec.min_quality else None

    def result(self, spec: PooledSpec, version: int) -> PooledRead:
        hit = self.cached(spec, version)
        if hit is not None:
            return hit
        self.vocabulary.check(spec)
        return self.compute(spec, version)

    def table(self, base: PooledSpec, version: int) -> PooledTableRead:
        vocabulary = self.vocabulary
        vocabulary.check(replace(base, outcome=vocabulary.outcomes[0]))
        specs = [
            replace(base, outcome=outcome, category=category)
            for outcome in vocabulary.outcomes
            for category in (None, *vocabulary.categories)
        ]
        assessor = CellAssessor(self._session)
        cells = [
            self.cell(spec, self._effective(spec.outcome, version), assessor) for spec in specs
        ]
        return PooledTableRead(
            evidence_version=version,
            engine_version=ENGINE_VERSION,
            options=base.options_read(),
            cells=cells,
        )

    def history(self, spec: PooledSpec, version: int) -> PooledHistoryRead:
        self.vocabulary.check(spec)
        # Every revision that was ever included: ONE evidence query, whatever the history's length.
        rows = self._repository.evidence(
            [spec.outcome], at_versions=None, reported=spec.needs_reported
        )
        changed = {r.valid_from for r in rows} | {r.valid_to for r in rows if r.valid_to}
        touching = [
            info  # not the others, e.g. a pending study: the included evidence did not change
            for info in self._repository.versions_touching(spec.outcome, up_to=version)
            if info.number in changed
        ]
        check_history_cost(len(touching), len(rows), self._budget)
        deadline = self._budget.deadline()
        assessor = CellAssessor(self._session)
        points = []
        for info in touching:
            check_deadline(deadline)
            known = self.cached(spec, info.number)
            numbers = (
                {**summary_of(known), **answer_assessment(known)}
                if known
                else self.point(valid_at(rows, info.number), spec, info.number, assessor)
            )
            points.append(
                HistoryPointRead(
                    evidence_version=info.number,
                    created_at=info.created_at,
                    kind=info.kind,
                    summary=info.summary,
                    **numbers,
                )
            )
        return PooledHistoryRead(
            outcome=spec.outcome,
            evidence_version=version,
            engine_version=ENGINE_VERSION,
            spec=spec.read(),
            points=points,
        )


def _answer(
    session: Session,
    cache: ResultCache,
    key_parts: tuple[str, str],
    compute: Callable[[int], M],
    *,
    outcomes: Collection[str] | None,
    as_of: int | None,
    if_none_match: str | None,
    addendum: Addendum | None = None,
) -> Conditional[M]:
    """The effective version, the ETag, then the body: cached, or ``compute(version)``.

    ``outcomes``: the outcomes whose evidence the answer depends on (``None``: all).
    ``addendum``: applied to the cached answer; its stamp is part of the key and ETag.
    """
    head = current_version(session)
    checked = requested_version(as_of, head)
    version = cache.outcome_versions.effective(session, outcomes, checked, head=head)
    kind, canonical = key_parts
    stamp = addendum.stamp if addendum is not None else ""
    key = cache_key(kind, with_stamp(canonical, stamp), version)
    etag = strong_etag(key)
    pinned = as_of is not None
    looked_up = AnswerKey(
        kind,
        canonical,
        tuple(outcomes) if outcomes is not None else None,
        as_of,
        addendum.name if addendum is not None else None,
    )
    if none_match(if_none_match, etag):
        return Conditional(etag, version, pinned, None, checked_version=checked, key=looked_up)
    entry = cache.entry(key) or _with_addendum(
        cache, cache_key(kind, canonical, version), key, lambda: compute(version), addendum
    )
    return Conditional(
        etag,
        version,
        pinned,
        body=cast(M, entry.value),
        json=entry.json,
        checked_version=checked,
        entry=entry,
        key=looked_up,
    )


def _with_addendum(
    cache: ResultCache,
    base_key: Key,
    key: Key,
    compute: Callable[[], ReadModel],
    addendum: Addendum | None,
) -> Entry:
    """The entry under ``key``: the cached (or computed) answer under ``base_key``, with the
    addendum applied and stored apart (the analysis stays cached, whatever the addendum)."""
    base = cache.entry(base_key) or _put_once(cache, base_key, compute())
    if key == base_key or addendum is None:
        return base
    return cache.put(key, addendum.apply(base.value))


def _put_once(cache: ResultCache, key: Key, value: ReadModel) -> Entry:
    """The entry of ``value``: the one its computation stored already, else a new one."""
    entry = cache.entry(key)
    return entry if entry is not None and entry.value is value else cache.put(key, value)


def pooled_result(
    session: Session,
    cache: ResultCache,
    outcome: str,
    query: PooledQuery,
    *,
    if_none_match: str | None = None,
    budget: ComputeBudget = UNLIMITED,
    addendum: Addendum | None = None,
) -> Conditional[PooledRead]:
    """One outcome's pooled result (or narrative synthesis) at ``query.as_of`` or now.

    The full answer, whatever ``query.view`` says (:func:`pooled_headline` is the summary).
    404 for an unknown outcome or a future version; 422 for unknown vocabulary, or an analysis
    that would cost more than ``budget`` allows (503 when it runs past its deadline).
    ``addendum``: what is added after the cache (:mod:`service.usecases.pooled.addenda`).
    """
    return _outcome_answer(
        session,
        cache,
        outcome,
        query,
        "pooled",
        _Reader.result,
        if_none_match=if_none_match,
        budget=budget,
        addendum=addendum,
    )


def pooled_headline(
    session: Session,
    cache: ResultCache,
    outcome: str,
    query: PooledQuery,
    *,
    if_none_match: str | None = None,
    budget: ComputeBudget = UNLIMITED,
    addendum: Addendum | None = None,
) -> Conditional[PooledHeadlineRead]:
    """``view=summary``: the headline of :func:`pooled_result` (:mod:`.summary_view`)."""

    def build(reader: _Reader, spec: PooledSpec, version: int) -> PooledHeadlineRead:
        return headline_view(session, reader.result(spec, version))

    return _outcome_answer(
        session,
        cache,
        outcome,
        query,
        "pooled-summary",
        build,
        if_none_match=if_none_match,
        budget=budget,
        addendum=addendum,
    )


def _outcome_answer(
    session: Session,
    cache: ResultCache,
    outcome: str,
    query: PooledQuery,
    kind: str,
    build: Callable[[_Reader, PooledSpec, int], M],
    *,
    if_none_match: str | None,
    budget: ComputeBudget,
    addendum: Addendum | None = None,
) -> Conditional[M]:
    """An answer about one outcome, of ``kind``, made by ``build`` on a miss."""
    spec = spec_from_options(
        outcome,
        query,
        category=query.category,
        sections=query.sections,
        mid=query.mid,
        bayes=bayes_options(query),
    )
    reader = _Reader(session, cache, budget)
    return _answer(
        session,
        cache,
        (kind, spec.canonical()),
        lambda version: build(reader, spec, version),
        outcomes=[spec.outcome],
        as_of=query.as_of,
        if_none_match=if_none_match,
        addendum=addendum,
    )


def pooled_table(
    session: Session,
    cache: ResultCache,
    options: TableQuery,
    *,
    if_none_match: str | None = None,
) -> Conditional[PooledTableRead]:
    """Every outcome, overall and in each category, under the same options."""
    base = spec_from_options(ALL_OUTCOMES, options)
    reader = _Reader(session, cache)
    return _answer(
        session,
        cache,
        ("table", base.canonical()),
        lambda version: reader.table(base, version),
        outcomes=None,
        as_of=options.as_of,
        if_none_match=if_none_match,
    )


def pooled_history(
    session: Session,
    cache: ResultCache,
    outcome: str,
    query: HistoryQuery,
    *,
    if_none_match: str | None = None,
    budget: ComputeBudget = UNLIMITED,
) -> Conditional[PooledHistoryRead]:
    """The pooled result after each version (up to ``query.as_of``) that changed the outcome.

    422 when the history would cost more than ``budget`` allows (points x evidence rows).
    """
    spec = spec_from_options(outcome, query, category=query.category, mid=query.mid)
    reader = _Reader(session, cache, budget)

    def compute(version: int) -> PooledHistoryRead:
        with stopped_at_deadline(budget):
            return reader.history(spec, version)

    return _answer(
        session,
        cache,
        ("history", spec.canonical()),
        compute,
        outcomes=[spec.outcome],
        as_of=query.as_of,
        if_none_match=if_none_match,
    )
