"""Stored monitoring looks: each outcome's cumulative analysis per version, kept by the worker.

Sequential monitoring (:mod:`.monitoring`) needs one cumulative random-effects analysis per
version that changed the outcome's included evidence. Computing them for a request meant
selecting the evidence at every such version again; the conclusions worker instead stores
the analysis of each version it concludes (``monitoring_look``), once, from committed
evidence, so a monitoring answer reads its looks (one indexed query) and fits nothing but
the newest version's diversity.

The first version the worker concludes for an outcome also stores the looks before it
(selected once, as :func:`.monitoring.cumulative_analyses` does), so stored looks are always
complete: an outcome has either every look up to the worker's newest concluded version, or
none (then monitoring computes them, as before).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from service.db.repositories.conclusions import ConclusionRepository, Look
from service.db.repositories.pooled import PooledRepository
from service.usecases.judgement.monitoring import (
    cumulative_analyses,
)
from service.usecases.pooled.cumulative import CumulativeAnalysis, analysis_at
from service.usecases.pooled.derived_memo import derived_key
from service.usecases.pooled.effects import SelectionMemo, effects_at
from service.usecases.pooled.spec import PooledSpec, PooledVocabulary


@dataclass(frozen=True, slots=True)
class LookUpdate:
    """The looks of ``outcome`` to store when a version is concluded (often none)."""

    outcome: str
    looks: tuple[Look, ...]


def _look(analysis: CumulativeAnalysis) -> Look:
    return Look(analysis.version, analysis.k, analysis.participants, analysis.estimate, analysis.se)


def looks_of_version(
    session: Session,
    outcome: str,
    version: tuple[int, datetime],
    memo: SelectionMemo,
    *,
    moved: Collection[str],
) -> LookUpdate:
    """The look committed ``version`` (number, created_at) adds to ``outcome`` (none when it
    left the outcome's included evidence as it was), or every look up to it when none is
    stored. ``moved``: the outcomes whose included evidence it changed (the caller has them:
    one query per version, not one per outcome)."""
    number = version[0]
    spec = PooledSpec(outcome=outcome)  # monitoring's default specification
    repository = ConclusionRepository(session)
    if not repository.has_looks(outcome):
        vocabulary = PooledVocabulary.from_terms(PooledRepository(session).vocabulary())
        analyses = cumulative_analyses(session, spec, number, vocabulary)[0]
        return LookUpdate(outcome, tuple(_look(a) for a in analyses))
    if outcome not in moved:
        return LookUpdate(outcome, ())
    return LookUpdate(outcome, (_look(_analysis(session, spec, version, memo)),))


def _analysis(
    session: Session, spec: PooledSpec, version: tuple[int, datetime], memo: SelectionMemo
) -> CumulativeAnalysis:
    """The version's cumulative analysis: the one its events fitted when they did (the newest
    of the looks remembered at it), else one fit of its effects (~5 ms at 10,000 studies)."""
    remembered = memo.looks.get(derived_key("looks", spec.canonical(), *version))
    if remembered is not None and remembered[0] and remembered[0][-1].version == version[0]:
        return remembered[0][-1]
    effects = effects_at(session, spec, version[0], memo=memo, min_rank=None)
    return analysis_at(version[0], effects)


def store_looks(session: Session, update: LookUpdate) -> None:
    """Store ``update`` (in the transaction that marks its version concluded)."""
    ConclusionRepository(session).store_looks(update.outcome, update.looks)
