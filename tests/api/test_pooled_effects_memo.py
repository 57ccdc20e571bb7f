"""Selected effects derived by deltas equal a fresh selection, at every version, for any spec.

A living review's history is written here through the API (creates, a batch, updates that move
a study to another category, time point or quality, a change of its results, exclusion,
withdrawal, pending studies and their inclusion), then the effects at every version are
computed twice: walking the versions in order with one memo, so that each comes from the
previous by a delta, and from scratch. They must be identical, field by field.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from service.db.repositories.pooled import PooledRepository
from service.usecases.pooled.effects import SelectionMemo, effects_at, merge_effects
from service.usecases.pooled.selection import StudyEffect, select_effects
from service.usecases.pooled.spec import Multiple, PooledSpec, Timepoint
from tests.api.conftest import Auth, MakeKey
from tests.api.pooled_support import add_batch, outcome_result, trial
from tests.api.studies_support import Actors, action, create, head_version, patch

pytestmark = [pytest.mark.db, pytest.mark.unconcluded]

QUALITY_RANK = {"weak": 1, "moderate": 2, "strong": 3}
SPECS = [
    PooledSpec(outcome="empowerment"),
    PooledSpec(outcome="empowerment", category="one-to-one"),
    PooledSpec(outcome="empowerment", min_quality="moderate"),
    PooledSpec(outcome="empowerment", timepoint=Timepoint.parse("follow-up")),
    PooledSpec(outcome="empowerment", timepoint=Timepoint.parse("weeks=20")),
    PooledSpec(outcome="empowerment", multiple=Multiple.FIRST, comparators=("waiting-list",)),
    PooledSpec(outcome="self-efficacy"),
]


@pytest.fixture
def actors(make_key: MakeKey, auth: Auth) -> Actors:
    return Actors(make_key, auth)


def _results(rng: random.Random) -> list[dict[str, Any]]:
    """One to three results: instruments, time points and a second outcome at random."""
    results = [outcome_result(rng.uniform(-0.5, 1.0), weeks=rng.choice([8, 12, 16]))]
    if rng.random() < 0.5:
        results.append(
            outcome_result(
                rng.uniform(-0.5, 1.0),
                instrument="boston-empowerment-scale",
                weeks=results[0]["timepoint"]["weeks"],
            )
        )
    if rng.random() < 0.4:
        results.append(outcome_result(rng.uniform(-0.5, 1.0), weeks=26, label="follow-up"))
    if rng.random() < 0.3:
        results.append(
            outcome_result(
                rng.uniform(-0.5, 1.0),
                outcome="self-efficacy",
                instrument="general-self-efficacy-scale",
            )
        )
    return results


def _body(rng: random.Random) -> dict[str, Any]:
    return trial(
        results=_results(rng),
        category=rng.choice(["peer-group", "one-to-one", "peer-run-service"]),
        quality_rating=rng.choice(list(QUALITY_RANK)),
        comparator=rng.choice(["treatment-as-usual", "waiting-list"]),
        year=rng.randint(2005, 2020),
    )


def _write_history(client: TestClient, actors: Actors, rng: random.Random) -> None:
    ids = [create(client, actors.trusted, _body(rng))["study"]["id"] for _ in range(4)]
    batch = add_batch(client, actors.trusted, [_body(rng) for _ in range(4)])
    ids += [study["id"] for study in batch["studies"]]
    pending = [create(client, actors.submitter, _body(rng))["study"]["id"] for _ in range(2)]
    for study_id in rng.sample(ids, 4):
        changes = rng.choice(
            [
                {"category": "one-to-one"},
                {"quality_rating": "weak"},
                {"outcome_results": _results(rng)},
                {"comparator": "waiting-list", "quality_rating": "strong"},
                {"year": 2004},
            ]
        )
        assert patch(client, actors.curator, study_id, changes).status_code == 200
    assert action(client, actors.curator, ids[0], "exclude", "not peer support").status_code == 200
    assert action(client, actors.curator, ids[1], "withdraw", "retracted").status_code == 200
    for study_id in pending:
        assert action(client, actors.curator, study_id, "include").status_code == 200
    create(client, actors.trusted, _body(rng))


def _from_scratch(session: Session, spec: PooledSpec, version: int) -> list[StudyEffect]:
    rows = PooledRepository(session).evidence([spec.outcome], at_versions=[version])
    min_rank = QUALITY_RANK[spec.min_quality] if spec.min_quality else None
    return select_effects(rows, spec, min_rank=min_rank)


@pytest.mark.parametrize("seed", [1, 2])
def test_effects_by_delta_equal_a_fresh_selection_at_every_version(
    client: TestClient,
    actors: Actors,
    session: Session,
    seed: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _write_history(client, actors, random.Random(seed))
    newest = head_version(client)
    assert newest >= 12  # a PATCH that changes nothing makes no version
    loads: list[bool] = []  # per evidence query of the walk: was it a delta (some studies)?
    evidence = PooledRepository.evidence

    def spied(self: PooledRepository, *args: Any, **kwargs: Any) -> Any:
        loads.append(kwargs.get("study_ids") is not None)
        return evidence(self, *args, **kwargs)

    for spec in SPECS:
        min_rank = QUALITY_RANK[spec.min_quality] if spec.min_quality else None
        memo = SelectionMemo()
        for version in range(newest + 1):
            loads.clear()
            with monkeypatch.context() as patched:
                patched.setattr(PooledRepository, "evidence", spied)
                walked = effects_at(session, spec, version, memo=memo, min_rank=min_rank)
            # Only version 0 loads everything; every later one comes from the previous by a
            # delta (no query at all when the version changed none of these studies).
            assert loads == ([False] if version == 0 else [True] * len(loads)), (spec, version)
            assert list(walked) == _from_scratch(session, spec, version), (spec, version)
        assert len(memo) == newest + 1


def test_uncommitted_versions_are_not_remembered(
    client: TestClient, actors: Actors, session: Session
) -> None:
    create(client, actors.trusted, trial(0.3))
    memo = SelectionMemo()
    spec = PooledSpec(outcome="empowerment")
    (effect,) = effects_at(session, spec, 1, memo=memo, min_rank=None, committed=False)
    assert effect.yi > 0
    assert len(memo) == 0


def test_merge_replaces_changed_studies_and_keeps_year_order() -> None:
    def effect(study_id: int, year: int, yi: float = 0.0) -> StudyEffect:
        return StudyEffect(
            study_id=study_id, label=str(study_id), year=year, category="peer-group",
            design="randomized", randomized=True, comparator="waiting-list",
            quality="moderate", timepoint_weeks=12.0, timepoint_label="post",
            instruments=("empowerment-scale",), participants=80, yi=yi, vi=0.05,
        )  # fmt: skip

    base = [effect(1, 2001), effect(2, 2005), effect(3, 2010)]
    merged = merge_effects(base, {2, 4}, [effect(4, 2003), effect(2, 2012, yi=0.5)])
    assert [(e.study_id, e.yi) for e in merged] == [(1, 0), (4, 0), (3, 0), (2, 0.5)]
    assert merge_effects(base, {3}, []) == tuple(base[:2])
