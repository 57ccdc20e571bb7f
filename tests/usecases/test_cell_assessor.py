"""The history's certainty inputs, taken from the fit, equal those of the whole pooled answer."""

from __future__ import annotations

import random

import pytest

from service.usecases.judgement.cell_assessor import certainty_inputs
from service.usecases.judgement.certainty import CertaintyInputs
from service.usecases.pooled.analysis import analyse_outcome, headline_and_fit
from service.usecases.pooled.selection import StudyEffect
from service.usecases.pooled.spec import PooledSpec

LOW_RISK = ("strong",)


def _effects(k: int, seed: int) -> list[StudyEffect]:
    rng = random.Random(seed)
    return [
        StudyEffect(
            study_id=i,
            label=f"S{i}",
            year=2000 + i,
            category="peer-group",
            design="randomized",
            randomized=True,
            comparator="usual-care",
            quality=rng.choice(["strong", "moderate", "weak"]),
            timepoint_weeks=8.0,
            timepoint_label="8 weeks",
            instruments=("x",),
            participants=rng.randint(20, 400),
            yi=rng.gauss(0.3, 0.3),
            vi=rng.uniform(0.01, 0.2),
        )
        for i in range(k)
    ]


@pytest.mark.parametrize(("k", "seed"), [(4, 1), (9, 2), (10, 3), (25, 4)])
def test_inputs_from_the_fit_are_the_answers(k: int, seed: int) -> None:
    effects = _effects(k, seed)
    spec = PooledSpec(outcome="empowerment", level=0.9)
    answer = analyse_outcome(effects, spec, version=1)
    summary, fit = headline_and_fit(effects, spec)
    assert fit is not None
    cheap = certainty_inputs(effects, spec, fit, summary, LOW_RISK)
    full = CertaintyInputs.of_answer(answer, LOW_RISK)
    assert cheap == full
    assert (cheap.egger_p is None) == (k < 10)
