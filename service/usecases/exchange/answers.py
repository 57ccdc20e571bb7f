"""Export use cases: a pooled answer as CSV or as an R script, the study list as CSV.

They are built on the pooled use case's result object (:class:`PooledRead`), never on its JSON,
so the exported numbers are the answer's own, whatever its serialization.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy.orm import Session

from service.db.repositories.studies import StudyFilters
from service.schemas.pagination import MAX_LIMIT
from service.schemas.pooled import PooledQuery, PooledRead, PooledStudyRead
from service.schemas.reported import MeansData
from service.schemas.studies import OutcomeResultRead, StudyRead
from service.usecases.analyses.cost import UNLIMITED, ComputeBudget
from service.usecases.exchange.export import Dialect, pooled_csv, studies_csv
from service.usecases.exchange.rscript import Component, pooled_r_script
from service.usecases.judgement.answers import Conditional, pooled_result
from service.usecases.pooled.bayes import effect_prior_of, tau_prior_of
from service.usecases.pooled.cache import ResultCache
from service.usecases.pooled.multi_arm import Comparison, merged_effect
from service.usecases.pooled.spec import bayes_options
from service.usecases.studies.service import get_study, list_studies
from service.usecases.studies.visibility import ANONYMOUS, Viewer

_Found = tuple[Conditional[PooledRead], PooledRead]


def _answer(
    session: Session, cache: ResultCache, outcome: str, query: PooledQuery, budget: ComputeBudget
) -> _Found:
    """The pooled answer at ``query.as_of`` (or now); no If-None-Match, so always a body."""
    answer = pooled_result(session, cache, outcome, query, budget=budget)
    if answer.body is None:  # only a matching If-None-Match leaves it out
        raise RuntimeError("a pooled answer without a body")
    return answer, answer.body


def pooled_answer_csv(
    session: Session,
    cache: ResultCache,
    outcome: str,
    query: PooledQuery,
    dialect: Dialect,
    budget: ComputeBudget = UNLIMITED,
) -> tuple[Conditional[PooledRead], str]:
    """The pooled answer and its studies as CSV (the analysis within ``budget``)."""
    answer, body = _answer(session, cache, outcome, query, budget)
    return answer, pooled_csv(body, dialect)


def pooled_answer_script(
    session: Session,
    cache: ResultCache,
    outcome: str,
    query: PooledQuery,
    budget: ComputeBudget = UNLIMITED,
) -> tuple[Conditional[PooledRead], str]:
    """The pooled answer and the R script that reproduces it (the analysis within ``budget``)."""
    answer, body = _answer(session, cache, outcome, query, budget)
    components = {
        study.study_id: _components(session, body, study)
        for study in body.studies
        if body.spec.multiple == "average"
    }
    options = bayes_options(query)
    priors = None if options is None else (tau_prior_of(options), effect_prior_of(options))
    return answer, pooled_r_script(body, components, priors)


def _components(session: Session, answer: PooledRead, used: PooledStudyRead) -> list[Component]:
    """The study's effects that the answer averaged: its results for the outcome at the chosen
    time point (the same label too, unless the time point was chosen by weeks); with
    ``multi_arm=combine``, arms merged as selection merges them."""
    study = get_study(session, used.study_id, as_of=answer.evidence_version)
    by_weeks = answer.spec.timepoint.startswith("weeks=")
    results = [
        result
        for result in study.outcome_results
        if result.outcome == answer.outcome
        and result.timepoint.weeks == used.timepoint_weeks
        and (by_weeks or result.timepoint.label == used.timepoint_label)
    ]
    if answer.spec.multi_arm == "combine":
        return _merged_components(results)
    if answer.spec.multi_arm == "shared_control":
        return _grouped_components(results, {arm.label: arm.n_randomized for arm in study.arms})
    return [Component(r.instrument, r.effect.yi, r.effect.vi) for r in results]


def _grouped_components(results: list[OutcomeResultRead], sizes: dict[str, int]) -> list[Component]:
    """Each result with vcalc's obs, grp1, grp2, w1, w2, numbered as selection numbers them
    (:func:`service.usecases.pooled.selection.part_groups`)."""
    seen: dict[tuple[str, str, str], int] = {}
    components = []
    for r in results:
        key = (r.instrument, r.intervention_arm, r.control_arm)
        seen[key] = seen.get(key, 0) + 1
        obs = r.instrument if seen[key] == 1 else f"{r.instrument}#{seen[key]}"
        groups = (obs, r.intervention_arm, r.control_arm,
                  sizes[r.intervention_arm], sizes[r.control_arm])  # fmt: skip
        components.append(Component(r.instrument, r.effect.yi, r.effect.vi, groups))
    return components


def _merged_components(results: list[OutcomeResultRead]) -> list[Component]:
    """Results grouped by (instrument, control arm), each group merged where it can be
    (:mod:`service.usecases.pooled.multi_arm`, the code selection uses)."""
    groups: dict[tuple[str, str], list[OutcomeResultRead]] = {}
    for result in results:
        groups.setdefault((result.instrument, result.control_arm), []).append(result)
    components: list[Component] = []
    for (instrument, _), group in groups.items():
        merged = merged_effect(
            [
                Comparison(
                    r.intervention_arm,
                    r.data if isinstance(r.data, MeansData) and r.cluster is None else None,
                    r.effect.sign_flipped,
                )
                for r in group
            ]
        )
        if merged is None:
            components += [Component(r.instrument, r.effect.yi, r.effect.vi) for r in group]
        else:
            components.append(Component(f"{instrument} (arms merged)", merged.yi, merged.vi))
    return components


def _every_study(
    session: Session, filters: StudyFilters, as_of: int | None, viewer: Viewer
) -> Iterator[StudyRead]:
    after: int | None = None
    while True:
        page = list_studies(
            session, filters, as_of=as_of, after_id=after, limit=MAX_LIMIT, viewer=viewer
        )
        yield from page.items
        if page.next_after_id is None:
            return
        after = page.next_after_id


def studies_as_csv(
    session: Session,
    filters: StudyFilters,
    *,
    as_of: int | None,
    dialect: Dialect,
    viewer: Viewer = ANONYMOUS,
) -> str:
    """Every matching study ``viewer`` may see (not one page), one row per result."""
    return studies_csv(_every_study(session, filters, as_of, viewer), dialect)
