"""One study's effect as the pooled use cases select it, for tests to vary with ``replace``."""

from __future__ import annotations

from service.usecases.pooled.selection import StudyEffect

STUDY_EFFECT = StudyEffect(
    study_id=1, label="Jansen (2016)", year=2016, category="peer-group", design="randomized",
    randomized=True, comparator="waiting-list", quality="moderate", timepoint_weeks=12.0,
    timepoint_label="post", instruments=("empowerment-scale",), participants=78, yi=0.3,
    vi=0.05,
)  # fmt: skip
