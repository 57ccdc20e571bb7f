"""``GET /v1/outcomes/{outcome}/monitoring``: trial sequential monitoring of the living estimate.

Steps (Wetterslev et al. 2008, 2009; Thorlund et al. 2011, the TSA manual; RTSA):

1. every version that changed the outcome's included evidence is a cumulative analysis: its
   participants and the Z of the DerSimonian-Laird random-effects estimate (z inference);
2. the diversity D2 of the newest analysis and the required information size RIS, adjusted
   as RIS / (1 - D2) (:func:`service.stats.sequential.required_information_size`);
3. analyses adding under 1% of the RIS are not looks; the two-sided Lan-DeMets O'Brien-Fleming
   boundaries over the looks so far (:func:`service.stats.trial_sequential.sequential_looks`);
4. the TSA-adjusted interval: the newest estimate -+ its boundary x SE (the conventional
   normal quantile once all alpha is spent);
5. with ``futility=true``, the non-binding futility wedge by O'Brien-Fleming-type beta
   spending under the anticipated effect (:mod:`service.stats.futility`).

It is a decision aid shown beside the conventional answer, never instead of it.

Cost: each analysis selects the outcome's effects at its version from every row that was
ever valid, so a request costs about (versions that changed the evidence) x (rows) selections,
priced at :data:`SELECTION_WEIGHT` study-fits each in the request's budget
(``MAX_ANALYSIS_COST_ANONYMOUS`` / ``_WITH_KEY``: 422 past it) and stopped at its deadline
(503). Answers are cached under a normalised key: the canonical specification, the resolved
version and the design with the MID resolved (an omitted ``mid`` and the outcome's own MID
are one entry).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from sqlalchemy.orm import Session

from service.db.repositories.conclusions import ConclusionRepository
from service.db.repositories.judgement import JudgementRepository
from service.db.repositories.pooled import PooledRepository
from service.errors import ComputationDeadlineError, CostLimitError
from service.schemas.sequential import (
    DECISION_AID,
    DiversityRead,
    LookRead,
    MonitoringQuery,
    MonitoringRead,
)
from service.stats._lazy import scipy_stats
from service.stats.futility import drift_under_alternative
from service.stats.sequential import Diversity, diversity, required_information_size
from service.stats.trial_sequential import SequentialLooks, sequential_looks
from service.usecases.analyses.cost import UNLIMITED, ComputeBudget
from service.usecases.judgement.answers import resolve_version
from service.usecases.judgement.sequential import finite_boundary
from service.usecases.pooled.cache import Key, ResultCache, cache_key
from service.usecases.pooled.cumulative import CumulativeAnalysis, analysis_at
from service.usecases.pooled.selection import StudyEffect, select_effects, valid_at
from service.usecases.pooled.spec import PooledSpec, PooledVocabulary, spec_from_options

# Study-fits (1-2 us each) one row's selection at one version costs, valid_at, select_effects
# and the DL fit together: 6.6 us of CPU per row-version at 150 versions x 300 rows on the
# loaded 2-core development machine (0.30 s a request). At the anonymous ceiling, 1,000,000,
# that is 200,000 row-versions, about 1.3 s.
SELECTION_WEIGHT = 5


def monitoring_cost(versions: int, rows: int) -> int:
    """Study-fits of a monitoring answer: ``versions`` analyses, each selecting from ``rows``."""
    return SELECTION_WEIGHT * versions * max(rows, 1)


def _check_cost(versions: int, rows: int, budget: ComputeBudget) -> None:
    cost = monitoring_cost(versions, rows)
    if cost <= budget.limit:
        return
    advice = "pin an earlier version with as_of= (fewer looks)"
    if not budget.with_key:
        advice += f", or send an API key (limit {budget.key_limit:,})"
    raise CostLimitError(
        f"Monitoring this outcome means {versions} cumulative analyses over {rows} results, "
        f"about {cost:,} study-fits; the limit ({budget.setting}) is {budget.limit:,}: {advice}.",
        cost=cost,
        limit=budget.limit,
        setting=budget.setting,
    )


def cumulative_analyses(
    session: Session,
    spec: PooledSpec,
    version: int,
    vocabulary: PooledVocabulary,
    *,
    budget: ComputeBudget = UNLIMITED,
) -> tuple[list[CumulativeAnalysis], Sequence[StudyEffect]]:
    """One analysis per version that changed the included evidence; the newest effects.

    Priced in ``budget`` before the first analysis and stopped at its deadline.
    """
    repository = PooledRepository(session)
    rows = repository.evidence([spec.outcome], at_versions=None, reported=spec.needs_reported)
    changed = {r.valid_from for r in rows} | {r.valid_to for r in rows if r.valid_to}
    touching = repository.versions_touching(spec.outcome, up_to=version)
    looks = [info.number for info in touching if info.number in changed]
    _check_cost(len(looks), len(rows), budget)
    deadline = budget.deadline()
    min_rank = vocabulary.quality_rank[spec.min_quality] if spec.min_quality else None
    analyses, effects = [], select_effects(valid_at(rows, version), spec, min_rank=min_rank)
    for number in looks:
        if time.monotonic() > deadline:
            raise ComputationDeadlineError(
                f"Monitoring stopped at its {budget.seconds:g} s deadline; try again, or pin "
                "an earlier version with as_of=."
            )
        at = select_effects(valid_at(rows, number), spec, min_rank=min_rank)
        analyses.append(analysis_at(number, at))
    return analyses, effects


def _looks(analyses: Sequence[CumulativeAnalysis], looks: SequentialLooks) -> list[LookRead]:
    return [
        LookRead(
            evidence_version=analyses[i].version,
            k=analyses[i].k,
            participants=analyses[i].participants,
            information_fraction=fraction,
            z=analyses[i].z if analyses[i].se else None,
            boundary=finite_boundary(boundary),
            crossed=crossed,
            futility_boundary=futility,
        )
        for i, fraction, boundary, crossed, futility in zip(
            looks.kept,
            looks.fractions,
            looks.boundaries,
            looks.crossed,
            looks.futility or (None,) * len(looks.kept),
            strict=True,
        )
    ]


def _interval(last: CumulativeAnalysis | None, z: float) -> tuple[float | None, float | None]:
    if last is None or last.estimate is None or last.se is None:
        return None, None
    return last.estimate - z * last.se, last.estimate + z * last.se


def _information_size(
    effects: Sequence[StudyEffect], mid: float, query: MonitoringQuery
) -> tuple[Diversity | None, float, float]:
    """D2 of the newest effects, and the RIS before and after dividing by 1 - D2."""
    spread = diversity([e.yi for e in effects], [e.vi for e in effects]) if effects else None
    base = required_information_size(mid, alpha=query.alpha, power=query.power)
    # D2 rounds to 1 only when tau2 dwarfs every study's variance by ~1e12: the RIS is then
    # astronomically large, not a division by zero.
    return spread, base, base / max(1.0 - spread.d2, 1e-12) if spread else base


@dataclass(frozen=True, slots=True)
class MonitoringContext:
    """What a monitoring answer is computed under: the specification, version and MID."""

    outcome: str
    spec: PooledSpec
    vocabulary: PooledVocabulary
    version: int
    mid: float
    query: MonitoringQuery


def monitoring_context(session: Session, outcome: str, query: MonitoringQuery) -> MonitoringContext:
    """Check the specification of ``query`` and resolve its version and MID."""
    spec = spec_from_options(outcome, query, category=query.category)
    vocabulary = PooledVocabulary.from_terms(PooledRepository(session).vocabulary())
    vocabulary.check(spec)
    version = resolve_version(session, query.as_of)
    terms = JudgementRepository(session).outcome_terms(outcome)
    mid = query.mid if query.mid is not None else (terms.mid if terms else 0.2)
    return MonitoringContext(outcome, spec, vocabulary, version, mid, query)


def stored_analyses(
    session: Session, outcome: str, version: int
) -> list[CumulativeAnalysis] | None:
    """The cumulative analyses of ``outcome`` up to ``version`` from the looks the worker
    stored (:mod:`.looks`), or ``None`` when they may be incomplete: none stored, or a
    version up to ``version`` that touched the outcome is not concluded yet (a read must not
    answer an older state, so it computes)."""
    repository = ConclusionRepository(session)
    if repository.pending_for(outcome, version) or not repository.has_looks(outcome):
        return None
    return [
        CumulativeAnalysis(look.version, look.k, look.participants, look.estimate, look.se)
        for look in repository.looks(outcome, up_to=version)
    ]


def monitoring(
    session: Session,
    outcome: str,
    query: MonitoringQuery,
    *,
    budget: ComputeBudget = UNLIMITED,
    cache: ResultCache | None = None,
) -> MonitoringRead:
    """Sequential monitoring of ``outcome`` under the pooled specification of ``query``;
    answered from ``cache`` when the normalised request was answered before.

    Under the default specification the cumulative analyses are the looks the conclusions
    worker stored (:mod:`.looks`), when every version up to the one asked for is concluded:
    O(1) per version. Otherwise (another specification, or the worker lags) they are
    computed here, priced in ``budget``.
    """
    context = monitoring_context(session, outcome, query)
    key = monitoring_key(context)
    cached = cache.get(key, MonitoringRead) if cache is not None else None
    if cached is not None:
        return cached
    answer = _stored_monitoring(session, context)
    if answer is None:
        analyses, effects = cumulative_analyses(
            session, context.spec, context.version, context.vocabulary, budget=budget
        )
        answer = monitoring_of(context, analyses, effects)
    if cache is not None:
        cache.put(key, answer)
    return answer


def _stored_monitoring(session: Session, context: MonitoringContext) -> MonitoringRead | None:
    if context.spec != PooledSpec(outcome=context.outcome):
        return None
    stored = stored_analyses(session, context.outcome, context.version)
    if stored is None:
        return None
    rows = PooledRepository(session).evidence([context.outcome], at_versions=[context.version])
    newest = select_effects(valid_at(rows, context.version), context.spec, min_rank=None)
    return monitoring_of(context, stored, newest)


def monitoring_key(context: MonitoringContext) -> Key:
    """The cache key: what the answer depends on, each option resolved and spelled one way."""
    query = context.query
    design = (
        f"mid={context.mid!r};alpha={query.alpha!r};power={query.power!r};futility={query.futility}"
    )
    return cache_key("monitoring", f"{context.spec.canonical()}|{design}", context.version)


def monitoring_of(
    context: MonitoringContext,
    analyses: Sequence[CumulativeAnalysis],
    effects: Sequence[StudyEffect],
) -> MonitoringRead:
    """The answer from the cumulative analyses up to the context's version and its effects.

    A write's events build ``analyses`` from the previous version's list and one new analysis
    (:mod:`service.usecases.events.judged_reasons`), instead of re-selecting every version.
    """
    outcome, version, mid, query = context.outcome, context.version, context.mid, context.query
    spec = context.spec
    spread, base, ris = _information_size(effects, mid, query)
    looks = sequential_looks(
        [a.participants for a in analyses],
        [a.z for a in analyses],
        ris=ris,
        alpha=query.alpha,
        futility_beta=1.0 - query.power if query.futility else None,
    )
    reads = _looks(analyses, looks)
    last = analyses[looks.kept[-1]] if looks.kept else None
    normal = float(scipy_stats().norm.isf(query.alpha / 2))
    boundary = reads[-1].boundary if reads else None
    tsa_lower, tsa_upper = _interval(last, boundary if boundary is not None else normal)
    ci_lower, ci_upper = _interval(last, normal)
    participants = sum(e.participants for e in effects)
    return MonitoringRead(
        outcome=outcome,
        decision_aid=DECISION_AID,
        evidence_version=version,
        spec=spec.read(),
        mid=mid,
        alpha=query.alpha,
        power=query.power,
        futility=query.futility,
        futility_drift=drift_under_alternative(query.alpha, 1.0 - query.power)
        if query.futility
        else None,
        diversity=DiversityRead(**asdict(spread)) if spread else None,
        ris_unadjusted=base,
        ris=ris,
        participants=participants,
        information_fraction=participants / ris,
        status=looks.status if reads else "no_evidence",
        looks=reads,
        skipped_versions=[a.version for i, a in enumerate(analyses) if i not in looks.kept],
        estimate=last.estimate if last else None,
        ci_level=1.0 - query.alpha,
        ci_lower=ci_lower,
        ci_upper=ci_upper,
        tsa_ci_lower=tsa_lower,
        tsa_ci_upper=tsa_upper,
    )
