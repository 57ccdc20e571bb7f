"""Synthetic but realistic study payloads for ``POST /v1/studies`` and ``/v1/studies/batch``.

Shaped like the trials of Burke et al. (2019) and like ``tests/factories.py``: three intervention
categories, three outcomes measured on the review's instruments (means within each scale's
range, lower-is-better stigma scales included), mostly randomized trials, some cluster-randomized
ones with their ICC, and results reported as means, change scores, t statistics or effects with
their SE. Deterministic for a given seed; every study has its own DOI and registration id.
"""

from __future__ import annotations

import random
from typing import Any

Body = dict[str, Any]
CATEGORIES = ("peer-group", "one-to-one", "peer-run-service")
# outcome: [(instrument, scale minimum, scale maximum)]
INSTRUMENTS: dict[str, list[tuple[str, float, float]]] = {
    "empowerment": [
        ("empowerment-scale", 1.0, 4.0),
        ("empowerment-scale-power", 1.0, 4.0),
        ("boston-empowerment-scale", 1.0, 4.0),
        ("dutch-empowerment-scale", 1.0, 5.0),
    ],
    "self-efficacy": [
        ("mental-health-confidence-scale", 16.0, 96.0),
        ("general-self-efficacy-scale", 10.0, 40.0),
    ],
    "internalized-stigma": [
        ("ismi", 1.0, 4.0),
        ("ismi-10", 1.0, 4.0),
        ("self-stigma-of-mental-illness-scale", 1.0, 9.0),
    ],
}
HIGHER_IS_BETTER = {"empowerment": True, "self-efficacy": True, "internalized-stigma": False}
COMPARATORS = ("treatment-as-usual", "waiting-list", "active-control")
QUALITY = ("strong", "moderate", "weak")
COUNTRIES = ("Netherlands", "United States", "United Kingdom", "Australia", "Canada", "Sweden")


class StudyFactory:
    """Makes studies one at a time; ``prefix`` keeps identifiers apart between runs."""

    def __init__(self, seed: int = 2019, prefix: str = "bench") -> None:
        self._rng = random.Random(seed)
        self._serial = 0
        self._prefix = prefix

    def study(self, outcome: str | None = None) -> Body:
        """One trial; ``outcome`` forces that outcome to be among those it reports."""
        rng = self._rng
        self._serial += 1
        design = rng.choices(("randomized", "cluster-randomized"), weights=(85, 15))[0]
        n1, n2 = rng.randint(15, 180), rng.randint(15, 180)
        outcomes = [o for o in INSTRUMENTS if rng.random() < 0.55]
        if outcome is not None and outcome not in outcomes:
            outcomes.append(outcome)
        if not outcomes:
            outcomes = [rng.choice(list(INSTRUMENTS))]
        category = rng.choice(CATEGORIES)
        return {
            "title": f"Peer support ({category}) for adults with severe mental illness: "
            f"randomized trial {self._serial}",
            "authors": "Jansen A, Morgan K, Okafor N, Lindqvist S",
            "year": rng.randint(1995, 2025),
            "doi": f"10.5555/{self._prefix}.{self._serial:07d}",
            "registration_id": f"ISRCTN{self._prefix.upper()}{self._serial:07d}",
            "country": rng.choice(COUNTRIES),
            "design": design,
            "category": category,
            "intervention_name": "Peer support delivered by trained peers with lived experience",
            "intervention_description": "Weekly sessions on recovery and self-management.",
            "comparator": rng.choice(COMPARATORS),
            "population": "Adults with severe mental illness in community mental health care",
            "setting": "Community mental health teams",
            "total_randomized": n1 + n2,
            "quality_rating": rng.choice(QUALITY),
            "source": {"extracted_by": "bench", "document": "Full text", "location": "Table 2"},
            "tags": ["synthetic"],
            "arms": [
                {"label": "Peer support", "role": "intervention", "n_randomized": n1},
                {"label": "Control", "role": "control", "n_randomized": n2},
            ],
            "outcome_results": [self._result(o, n1, n2, design) for o in outcomes],
        }

    def _result(self, outcome: str, n1: int, n2: int, design: str) -> Body:
        rng = self._rng
        instrument, low, high = rng.choice(INSTRUMENTS[outcome])
        a1, a2 = max(2, n1 - rng.randint(0, n1 // 5)), max(2, n2 - rng.randint(0, n2 // 5))
        result: Body = {
            "outcome": outcome,
            "instrument": instrument,
            "timepoint": {"weeks": rng.choice((8, 12, 12, 16, 24, 26)), "label": "post"},
            "data": self._data(outcome, low, high, a1, a2),
        }
        if design == "cluster-randomized" and result["data"]["form"] != "effect_se":
            result["cluster"] = {"icc": round(rng.uniform(0.01, 0.1), 3), "mean_cluster_size": 12}
        return result

    def _data(self, outcome: str, low: float, high: float, n1: int, n2: int) -> Body:
        rng = self._rng
        sd = (high - low) / 6.0
        benefit = rng.gauss(0.25, 0.25)  # the SMD, positive favouring peer support
        g = benefit if HIGHER_IS_BETTER[outcome] else -benefit  # on the instrument's scale
        control = rng.uniform(low + 2 * sd, high - 2 * sd)
        intervention = min(max(control + g * sd, low), high)
        form = rng.choices(("means", "change_scores", "t", "effect_se"), weights=(75, 10, 10, 5))[0]
        if form == "means":
            return {
                "form": "means",
                "intervention": {
                    "mean": round(intervention, 3),
                    "sd": round(sd * 1.05, 3),
                    "n": n1,
                },
                "control": {"mean": round(control, 3), "sd": round(sd, 3), "n": n2},
            }
        if form == "change_scores":
            change = g * sd / 2
            return {
                "form": "change_scores",
                "intervention": {
                    "mean_change": round(change, 3),
                    "sd_change": round(sd, 3),
                    "n": n1,
                },
                "control": {"mean_change": 0.0, "sd_change": round(sd, 3), "n": n2},
            }
        if form == "t":
            t = g / ((1 / n1 + 1 / n2) ** 0.5)
            return {"form": "t", "t": round(t, 3), "n_intervention": n1, "n_control": n2}
        se = round((1 / n1 + 1 / n2 + g * g / (2 * (n1 + n2))) ** 0.5, 4)
        return {
            "form": "effect_se",
            "effect": round(benefit, 3),
            "se": se,
            "positive_favours_intervention": True,
        }

    def batch(self, size: int) -> list[Body]:
        return [self.study() for _ in range(size)]
