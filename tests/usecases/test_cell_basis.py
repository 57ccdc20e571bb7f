"""A summary-table cell's certainty basis is its full answer's, field by field.

The cell (:mod:`service.usecases.judgement.cells`, also the conclusions worker's certainty)
reads the effects, intervals and Egger's test from its bare fit's arrays; the full answer
(:func:`service.usecases.judgement.certainty.basis_of`) from its study list and sections.
"""

from __future__ import annotations

from dataclasses import asdict, replace

import numpy as np
import pytest

from service.usecases.judgement.cells import _basis
from service.usecases.judgement.certainty import basis_of
from service.usecases.pooled.analysis import analyse_outcome, fitted_headline
from service.usecases.pooled.selection import StudyEffect
from service.usecases.pooled.spec import PooledSpec
from tests.usecases.effects_support import STUDY_EFFECT

BASE = STUDY_EFFECT
QUALITIES = ("strong", "moderate", "weak")


def effects(k: int) -> list[StudyEffect]:
    """Smaller studies with larger effects (Egger's test finds something), numpy numbers."""
    return [
        replace(
            BASE,
            study_id=i + 1,
            year=2000 + i,
            yi=np.float64(0.9 - 0.05 * i) if i % 2 else 0.9 - 0.05 * i,
            vi=0.2 / (1 + i),
            participants=20 + 15 * i,
            quality=QUALITIES[i % 3],
            risk_of_bias="high" if i == 3 else None,
            risk_of_bias_tool="rob2" if i == 3 else None,
        )
        for i in range(k)
    ]


@pytest.mark.parametrize("k", [12, 6])  # with and without Egger's test
@pytest.mark.parametrize("egger", ["regtest", "classic"])
def test_a_cells_basis_is_its_answers(k: int, egger: str) -> None:
    rows = effects(k)
    spec = PooledSpec(outcome="empowerment", egger=egger)
    answer = analyse_outcome(rows, spec, version=7)
    cell = _basis(rows, spec, fitted_headline(rows, spec), 7)
    assert cell is not None
    listed = replace(cell, study_intervals=list(cell.study_intervals))  # made when read
    assert asdict(listed) == asdict(basis_of(answer))
    assert len(cell.study_intervals) == k
    assert cell.study_intervals[-1] == listed.study_intervals[-1]
    assert list(cell.study_intervals[1:3]) == listed.study_intervals[1:3]  # a slice, made as read
    assert (cell.egger_p is None) == (k < 10)
