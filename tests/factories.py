"""Realistic request bodies for studies, as a client would send them.

Each call gives a study a fresh DOI and registration id, so that tests can add as many as they
like without tripping the duplicate check. DOIs use the 10.5555 test prefix (reserved by
Crossref for examples); the numbers are in the range peer support trials report.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any

_serial = itertools.count(1)

Body = dict[str, Any]


def means(mean1: float, sd1: float, n1: int, mean2: float, sd2: float, n2: int) -> dict[str, Any]:
    """Post-intervention means, SDs and ns: intervention first, control second."""
    return {
        "form": "means",
        "intervention": {"mean": mean1, "sd": sd1, "n": n1},
        "control": {"mean": mean2, "sd": sd2, "n": n2},
    }


def result(
    outcome: str,
    instrument: str,
    data: dict[str, Any],
    *,
    weeks: float = 12,
    label: str = "post",
    **extra: Any,
) -> dict[str, Any]:
    """One outcome result comparing the study's (only) intervention and control arms."""
    return {
        "outcome": outcome,
        "instrument": instrument,
        "timepoint": {"weeks": weeks, "label": label},
        "data": data,
        **extra,
    }


def _identifiers() -> dict[str, str]:
    serial = next(_serial)
    return {"doi": f"10.5555/lma.{serial:06d}", "registration_id": f"ISRCTN{10_000_000 + serial}"}


def peer_group_trial(**overrides: Any) -> Body:
    """A peer-led recovery group against a waiting list, reporting empowerment and self-efficacy.

    Empowerment (Boston University Empowerment Scale, 1-4) and self-efficacy (Mental Health
    Confidence Scale, 16-96) as post-intervention means and SDs at 12 weeks; both scales are
    higher-is-better, so the effects are not flipped.
    """
    body: Body = {
        "title": "A peer-led recovery group for adults with severe mental illness: a randomized "
        "controlled trial",
        "authors": "Jansen A, de Vries M, Bakker L, Visser R",
        "year": 2016,
        **_identifiers(),
        "pmid": "27000001",
        "country": "Netherlands",
        "design": "randomized",
        "category": "peer-group",
        "intervention_name": "Recovery group led by trained peer facilitators",
        "intervention_description": "Twelve weekly two-hour sessions on recovery, strengths and "
        "self-management, facilitated by two peers with lived experience.",
        "comparator": "waiting-list",
        "population": "Adults with severe mental illness in outpatient care",
        "setting": "Community mental health teams in three cities",
        "total_randomized": 138,
        "quality_rating": "moderate",
        "quality_appraisal": "Adequate randomization; outcome assessors not blinded.",
        "source": {"extracted_by": "reviewer-1", "document": "Full text", "location": "Table 2"},
        "tags": ["recovery", "group"],
        "arms": [
            {"label": "Peer group", "role": "intervention", "n_randomized": 70},
            {"label": "Waiting list", "role": "control", "n_randomized": 68},
        ],
        "outcome_results": [
            result(
                "empowerment", "boston-empowerment-scale", means(2.89, 0.31, 65, 2.79, 0.32, 60)
            ),
            result(
                "self-efficacy",
                "mental-health-confidence-scale",
                means(67.5, 12.0, 56, 64.8, 14.5, 50),
            ),
        ],
    }
    body.update(overrides)
    return body


def one_to_one_stigma_trial(**overrides: Any) -> Body:
    """One-to-one peer support against usual care, reporting internalized stigma on the ISMI.

    The ISMI is lower-is-better: the intervention arm's lower mean (2.10 against 2.35) is a raw
    negative difference, which the service flips into a positive effect.
    """
    body: Body = {
        "title": "Peer mentoring to reduce self-stigma after psychiatric hospitalisation",
        "authors": "Morgan K, Ellis T, Okafor N",
        "year": 2019,
        **_identifiers(),
        "country": "United States",
        "design": "randomized",
        "category": "one-to-one",
        "intervention_name": "Peer mentor visits",
        "comparator": "treatment-as-usual",
        "population": "Adults discharged from inpatient psychiatric care",
        "total_randomized": 90,
        "quality_rating": "strong",
        "source": {"extracted_by": "reviewer-2", "location": "p. 7, Table 3"},
        "arms": [
            {"label": "Peer mentor", "role": "intervention", "n_randomized": 45},
            {"label": "Usual care", "role": "control", "n_randomized": 45},
        ],
        "outcome_results": [
            result("internalized-stigma", "ismi", means(2.10, 0.45, 40, 2.35, 0.50, 42)),
        ],
    }
    body.update(overrides)
    return body


def cluster_peer_service_trial(**overrides: Any) -> Body:
    """A cluster-randomized trial of peer-run services (sites randomized), with its ICC."""
    body: Body = {
        "title": "Peer-run drop-in centres: a cluster randomized trial",
        "authors": "Lindqvist S, Haddad R",
        "year": 2021,
        **_identifiers(),
        "country": "Sweden",
        "design": "cluster-randomized",
        "category": "peer-run-service",
        "intervention_name": "Peer-run drop-in centre",
        "comparator": "treatment-as-usual",
        "population": "Service users of community mental health centres",
        "total_randomized": 240,
        "quality_rating": "weak",
        "source": {"extracted_by": "reviewer-1"},
        "arms": [
            {"label": "Drop-in centre", "role": "intervention", "n_randomized": 120},
            {"label": "Usual services", "role": "control", "n_randomized": 120},
        ],
        "outcome_results": [
            result(
                "empowerment",
                "empowerment-scale",
                means(2.95, 0.40, 110, 2.85, 0.42, 112),
                weeks=26,
                cluster={"icc": 0.05, "mean_cluster_size": 20},
            ),
        ],
    }
    body.update(overrides)
    return body


def fresh(body: Body) -> Body:
    """A deep copy of ``body`` with new identifiers (for a second, distinct study)."""
    clone = copy.deepcopy(body)
    clone.update(_identifiers())
    return clone
