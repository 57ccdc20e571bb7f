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

from dataclasses import dataclass

from sqlalchemy.orm import Session

from service.db.repositories.conclusions import ConclusionRepository, Look
from service.db.repositories.pooled import PooledRepository
from service.usecases.judgement.monitoring import (
    cumulative_analyses,
)
from service.usecases.pooled.cumulative import CumulativeAnalysis, analysis_at
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
    session: Session, outcome: str, number: int, memo: SelectionMemo
) -> LookUpdate:
    """The look committed version ``number`` adds to ``outcome`` (none when it left the
    outcome's included evidence as it was), or every look up to it when none is stored."""
    spec = PooledSpec(outcome=outcome)  # monitoring's default specification
    repository = ConclusionRepository(session)
    if not repository.has_looks(outcome):
        vocabulary = PooledVocabulary.from_terms(PooledRepository(session).vocabulary())
        analyses = cumulative_analyses(session, spec, number, vocabulary)[0]
        return LookUpdate(outcome, tuple(_look(a) for a in analyses))
    changed = PooledRepository(session).included_changes(after=number - 1, up_to=number)
    if not any(o == outcome for o, _ in changed):
        return LookUpdate(outcome, ())
    effects = effects_at(session, spec, number, memo=memo, min_rank=None)
    return LookUpdate(outcome, (_look(analysis_at(number, effects)),))


def store_looks(session: Session, update: LookUpdate) -> None:
    """Store ``update`` (in the transaction that marks its version concluded)."""
    ConclusionRepository(session).store_looks(update.outcome, update.looks)
