"""Pooled-result building blocks without a database: specification, selection, cache."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from service.db.repositories.pooled import EvidenceRow
from service.schemas.common import ReadModel
from service.schemas.pooled import PooledRead
from service.usecases.pooled.analysis import analyse_outcome, headline, summary_of
from service.usecases.pooled.cache import (
    ResultCache,
    cache_key,
    none_match,
    strong_etag,
)
from service.usecases.pooled.selection import select_effects, study_label, valid_at
from service.usecases.pooled.spec import Multiple, PooledSpec, Timepoint

ROW = EvidenceRow(
    revision_id=1, study_id=1, valid_from=1, valid_to=None, authors="Jansen A, de Vries M",
    year=2016, category="peer-group", design="randomized", randomized=True,
    comparator="waiting-list", quality_rating="moderate", quality_rank=2, outcome="empowerment",
    position=0, instrument="empowerment-scale", timepoint_weeks=12.0, timepoint_label="post",
    yi=0.3, vi=0.05, sign_flipped=False, intervention_arm_id=1, n_intervention=40,
    control_arm_id=2, n_control=38,
)  # fmt: skip


def row(**changes: Any) -> EvidenceRow:
    return replace(ROW, **changes)


def test_canonical_form_spells_out_every_default_in_order() -> None:
    assert PooledSpec(outcome="empowerment").canonical() == (
        "category=*&ci_method=hksj&comparators=*&designs=cluster-randomized,randomized&egger=regtest"
        "&estimator=REML&level=0.95&mid=*&min_k=4&min_quality=*&multiple=average"
        "&outcome=empowerment&sections=&timepoint=post"
    )
    shuffled = PooledSpec(outcome="x", designs=("randomized", "cluster-randomized", "randomized"))
    assert shuffled == PooledSpec(outcome="x")
    assert PooledSpec(outcome="x", level=0.9).canonical() != PooledSpec(outcome="x").canonical()


@pytest.mark.parametrize(
    ("text", "expected"),
    [("post", Timepoint("post")), ("follow-up", Timepoint("follow-up")),
     ("weeks=12.5", Timepoint(None, 12.5)), ("weeks=520", Timepoint(None, 520.0))],
)  # fmt: skip
def test_timepoint_parse(text: str, expected: Timepoint) -> None:
    assert Timepoint.parse(text) == expected
    assert Timepoint.parse(str(expected)) == expected


@pytest.mark.parametrize("text", ["weeks=521", "weeks=-1", "baseline", "weeks="])
def test_timepoint_parse_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="weeks=N"):
        Timepoint.parse(text)


def test_selection_filters_orders_and_counts_arms_once() -> None:
    rows = [
        row(study_id=3, year=2010, revision_id=3, intervention_arm_id=5, control_arm_id=6),
        row(study_id=1, year=2018, position=0),
        row(study_id=1, year=2018, position=1, instrument="boston-empowerment-scale", yi=0.1),
        row(study_id=2, outcome="self-efficacy"),
        row(study_id=4, quality_rating="weak", quality_rank=1),
        row(study_id=5, design="non-randomized-controlled", randomized=False),
    ]
    effects = select_effects(rows, PooledSpec(outcome="empowerment"), min_rank=2)
    assert [e.study_id for e in effects] == [3, 1]  # by year; others filtered out
    combined = effects[1]
    assert combined.instruments == ("empowerment-scale", "boston-empowerment-scale")
    assert combined.yi == pytest.approx(0.2)
    assert combined.participants == 78
    assert combined.label == "Jansen A 2018 (#1)"
    first = select_effects(
        rows, PooledSpec(outcome="empowerment", multiple=Multiple.FIRST), min_rank=None
    )
    assert [e.instruments for e in first] == [("empowerment-scale",)] * 3


def test_a_study_without_the_timepoint_drops_out() -> None:
    spec = PooledSpec(outcome="empowerment", timepoint=Timepoint("follow-up"))
    assert select_effects([row()], spec, min_rank=None) == []


def test_valid_at_follows_the_half_open_ranges() -> None:
    rows = [row(valid_from=1, valid_to=3), row(valid_from=3, valid_to=None, revision_id=2)]
    assert [r.revision_id for r in valid_at(rows, 2)] == [1]
    assert [r.revision_id for r in valid_at(rows, 3)] == [2]
    assert valid_at(rows, 0) == []


def test_study_label_uses_the_first_author() -> None:
    assert study_label("Rüsch N, Abbruzzese E", 2014, 7) == "Rüsch N 2014 (#7)"


class Note(ReadModel):
    text: str


def test_result_cache_is_an_lru_bounded_in_bytes() -> None:
    a, b, c = (cache_key("pooled", name, 1) for name in "abc")
    one = ResultCache().put(a, Note(text="x" * 90)).weight  # measured bytes of one note
    cache = ResultCache(max_bytes=2 * one + one // 2)  # room for two notes
    assert cache.put(a, Note(text="A" * 90)).json == ('{"text":"' + "A" * 90 + '"}').encode()
    cache.put(b, Note(text="B" * 90))
    assert cache.get(a, Note) == Note(text="A" * 90)  # a is now the most recent
    cache.put(c, Note(text="C" * 90))
    assert [cache.get(k, Note) is not None for k in (a, b, c)] == [True, False, True]
    assert cache.get(a, PooledRead) is None  # another kind of value is not a hit
    cache.put(b, Note(text="B" * 10_000))  # larger than the budget: kept alone
    assert len(cache) == 1
    assert cache.entry(b) is not None


def test_etags_are_strong_stable_and_distinct() -> None:
    key = cache_key("pooled", "outcome=x", 3)
    assert strong_etag(key) == strong_etag(cache_key("pooled", "outcome=x", 3))
    assert strong_etag(key) != strong_etag(cache_key("pooled", "outcome=x", 4))
    assert not strong_etag(key).startswith("W/")
    assert none_match(f'"x", {strong_etag(key)}', strong_etag(key))
    assert none_match("*", strong_etag(key))
    assert not none_match(None, strong_etag(key))


@pytest.mark.parametrize("k", [0, 2, 5, 12])
def test_headline_equals_the_summary_of_the_full_answer(k: int) -> None:
    rows = [
        row(study_id=i, revision_id=i, year=2000 + i, yi=0.1 * (i % 4) - 0.05, vi=0.02 + 0.01 * i,
            category=("peer-group", "one-to-one")[i % 2])
        for i in range(k)
    ]  # fmt: skip
    spec = PooledSpec(outcome="empowerment", sections=("leave_one_out",))
    effects = select_effects(rows, spec, min_rank=None)
    full = analyse_outcome(effects, spec, version=7)
    assert headline(effects, spec) == summary_of(full)
    assert full.status == ("pooled" if k >= 4 else "insufficient_evidence")
