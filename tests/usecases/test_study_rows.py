"""Study rows carried from one answer to the next (service.usecases.pooled.study_rows).

An answer built with the rows an earlier answer kept must be the answer built from nothing,
byte for byte: the carried fields are the same, and what depends on the other studies (the
weight) or on the level (the interval) is never carried across them.
"""

from __future__ import annotations

from dataclasses import replace

from service.schemas.pooled import PooledRead
from service.usecases.pooled.analysis import analyse_outcome
from service.usecases.pooled.selection import StudyEffect
from service.usecases.pooled.spec import PooledSpec
from service.usecases.pooled.study_rows import SLACK, StudyRows
from tests.usecases.test_trusted_rows import assert_same, effects

SPEC = PooledSpec(outcome="empowerment", min_k=4)


def _json(answer: PooledRead) -> bytes:
    return answer.model_dump_json(exclude_unset=True).encode()


def _answer(rows: list[StudyEffect], spec: PooledSpec, memo: StudyRows | None) -> PooledRead:
    return analyse_outcome(rows, spec, version=3, rows=memo)


def test_the_next_answer_carries_the_rows_and_equals_one_built_afresh() -> None:
    memo = StudyRows()
    first = effects()
    _answer(first, SPEC, memo)
    assert len(memo) == len(first)
    # A write: one study revised (a new effect object), one added; the others carried.
    later = [*first[:2], replace(first[2], yi=0.9), *first[3:], replace(first[0], study_id=7)]
    carried = _answer(later, SPEC, memo)
    fresh = _answer(later, SPEC, None)
    assert _json(carried) == _json(fresh)
    for built, wanted in zip(carried.studies, fresh.studies, strict=True):
        assert_same(built, wanted)
    # The weights moved with the new study: they were not carried.
    assert carried.studies[0].weight != _answer(first, SPEC, None).studies[0].weight


def test_rows_kept_at_one_level_are_not_used_at_another() -> None:
    memo = StudyRows()
    _answer(effects(), SPEC, memo)
    other = replace(SPEC, level=0.9)
    carried = _answer(effects(), other, memo)
    assert _json(carried) == _json(_answer(effects(), other, None))


def test_a_narrative_answer_carries_rows_without_weights() -> None:
    memo = StudyRows()
    rows = effects()
    _answer(rows, SPEC, memo)  # pooled: rows kept with weights
    few = _answer(rows[:3], SPEC, memo)  # below min_k: no weights
    assert [s.weight for s in few.studies] == [None, None, None]
    assert _json(few) == _json(_answer(rows[:3], SPEC, None))


def test_the_memo_keeps_a_few_selections_worth_of_rows() -> None:
    memo = StudyRows()
    rows = effects()
    for step in range(200):  # every study revised at every version: old rows must go
        revised = [replace(e, yi=e.yi + step * 1e-3) for e in rows]
        _answer(revised, SPEC, memo)
    assert len(memo) <= SLACK * len(rows) + 1_000
    many = [replace(rows[0], study_id=100 + i, yi=i * 1e-3) for i in range(2_000)]
    for step in range(6):
        latest = [replace(e, vi=e.vi + step * 1e-4) for e in many]
        _answer(latest, SPEC, memo)
    assert len(memo) <= SLACK * len(many) + 1_000
    # A smaller selection (a category of the same effects) evicts none of the larger one's.
    held = len(memo)
    _answer(latest[:10], SPEC, memo)
    assert len(memo) == held
    assert memo.known(latest, SPEC.level).count(None) == 0
