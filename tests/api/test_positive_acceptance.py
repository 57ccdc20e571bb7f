"""schemathesis' positive-data-acceptance check: a request the spec says is valid is not
refused with a 400 or 422 (PostgreSQL; the contract is the same on both backends).

The check runs in tests/api/test_fuzz.py, on the schema-valid (positive) requests that test
sends to each operation, beside its conformance checks: generating the requests is most of
the time of either, and one set of them serves both (issue 24; here until then, with requests
of its own). This module holds what the check allows and why.

Every operation is checked except those listed in :data:`REFUSES`, each with the rule JSON
Schema cannot state that lets a schema-valid request be refused there. Those are not left
unchecked: a refusal there must be a problem document (RFC 9457) whose ``errors`` name the
fields the rule is about, so it says what to fix. A new operation is checked from the start.
Before issue 25: exclude, withdraw and judgements refused reasons that stripped to under 3
characters, and redeliver refused both or neither of event_id and since, all of which the
spec allowed. Its follow-up took 7 of 33 operations off the list: cursors have a pattern
that every cursor and nothing else matches, an ``as_of`` past the newest version is a 404
(the check allows 404: the request is well formed, the version is not there), registry ids,
DOIs and timepoints have their patterns in the spec; the 26 left, and two that had passed by
the luck of their examples (judgements: vocabulary), refuse only as stated. A second
follow-up took 15 more off: the vocabulary (outcomes, categories, comparators, designs,
quality ratings) is written by migrations alone, so the spec enumerates it; every plain
string of a body states that NUL is refused. A third took the candidates off (a draft is the
recursive NulFreeJsonObject) and stated with if/then/else, which openapi-python-client leaves
alone, analyses' "exactly one of effects and comparisons" and tau prior parameters, RoB by
tool, each outcome's instruments, reported fields that go together, a screening's reason
with exclude, a PATCH's non-nullable fields, and text's length once stripped; the 12 left
refuse only by rules relating values, the clock, DNS, stored state or a file's content.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.support.spec import spec_operations

pytestmark = [pytest.mark.db, pytest.mark.dialect_free]


@dataclass(frozen=True)
class Refusal:
    """Why a schema-valid request may be refused, and the fields such a refusal may name
    (the first part of an error's ``field``; ``None``: any field, but it must name one)."""

    reason: str
    fields: frozenset[str] | None = None


# U+0000 is refused in every string (PostgreSQL cannot store it). Each plain string of a
# body says so with a pattern (service.schemas.common.FreeText), and so does a free-form
# object's schema, at any depth (NulFreeJsonObject, a candidate's draft); RoB domain codes
# are an enum of each tool's.
STUDY = Refusal(
    "rules relating fields by value: the arms adding up to total_randomized; each result's "
    "arms by label and role (a known label, used once, a control and an intervention arm, "
    "named when its role has several); no more analysed than randomized; one result per "
    "instrument, time point and arms; a cluster design only in a cluster-randomized study, "
    "and not 'accounted for' with arm summaries; in reported data, events within total, a "
    "CI around its effect, df within n - 2, ordered quartiles, means and SDs the "
    "instrument's scale allows, an effect size that double precision can derive; and a "
    "year after next year (the bound moves with the clock: the committed spec states 1950 "
    "to 2100). The vocabulary, each outcome's instruments, which reported fields go "
    "together, RoB domains, judgements and the raise to high by tool, and text's length "
    "once stripped are in the spec."
)
WEBHOOK = Refusal(
    "a URL the delivery rules refuse (http without its setting, a host that is not public: "
    "resolved when stored)",
    frozenset({"url"}),
)
REFUSES: dict[str, Refusal] = {
    "PATCH /v1/studies/{study_id}": Refusal(
        "as POST /v1/studies, and a field the patch leaves as it was may break one of those "
        "rules together with one it sends (If-Match is required: 428, allowed)"
    ),
    "POST /v1/studies": STUDY,
    "POST /v1/studies/batch": STUDY,
    "POST /v1/studies/preview": STUDY,
    "POST /v1/studies/{study_id}/extractions": STUDY,
    "POST /v1/candidates/{candidate_id}/screening": Refusal(
        f"as POST /v1/studies for the study sent ({STUDY.reason}) (a reason with exclude is "
        "in the spec)"
    ),
    "POST /v1/studies/{study_id}/discrepancies/{discrepancy_id}/resolve": Refusal(
        "a value for choice=other that the discrepant field does not take, or that breaks "
        "a study rule with the fields kept (the stored discrepancy decides which field, and "
        "the refusal names it; the choice/value rule itself is in the spec)"
    ),
    "POST /v1/analyses": Refusal(
        "labels unique within the list (uniqueItems compares whole items, not one property); "
        "numbers each within range whose results overflow double precision (an SD of 5e-324 "
        "makes the SMD infinite: a rule on the arithmetic, not on one value)",
        frozenset({"effects", "comparisons"}),
    ),
    "POST /v1/sequential/boundaries": Refusal(
        "information fractions strictly increasing (JSON Schema cannot order array items)",
        frozenset({"information_fractions"}),
    ),
    "POST /v1/webhooks": WEBHOOK,
    "PATCH /v1/webhooks/{webhook_id}": WEBHOOK,
    "POST /v1/imports": Refusal("the file's content (a CSV or Metapsy file the body carries)"),
}
OPERATIONS = spec_operations()


@pytest.fixture(scope="session")
def accepted_schema(shared_app: FastAPI) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", shared_app)


def test_the_operations_checked_are_the_apps(accepted_schema: Any) -> None:
    labels = {result.ok().label for result in accepted_schema.get_all_operations()}
    assert set(OPERATIONS) == labels
    assert set(REFUSES) <= labels, set(REFUSES) - labels  # the list names real operations


def _names_the_fields(response: Any, refusal: Refusal) -> None:
    """A refusal is a problem document naming the fields its rule is about."""
    if response.status_code not in (400, 422):
        return  # not a refusal: positive_data_acceptance allows it too
    assert response.headers["content-type"][0].startswith("application/problem+json")
    problem = response.json()
    named = {str(error.get("field", "")).split(".")[0] for error in problem.get("errors", [])}
    assert named, problem
    assert "" not in named, problem
    assert refusal.fields is None or named <= refusal.fields, (named, problem)


def check_acceptance(case: Any, response: Any, headers: dict[str, str], label: str) -> None:
    """The check for a schema-valid request's answer: accepted, or refused as :data:`REFUSES`
    says (tests/api/test_fuzz.py runs it on each operation's positive cases)."""
    refusal = REFUSES.get(label)
    if refusal is None:
        case.validate_response(response, checks=[positive_data_acceptance], headers=headers)
    else:
        _names_the_fields(response, refusal)


def fresh_idempotency_key(case: Any) -> None:
    """A fresh key per request: a key drawn twice for two bodies is a reuse, refused by its
    rule across requests (422), not by anything in this request."""
    if "Idempotency-Key" in (case.headers or {}):
        case.headers["Idempotency-Key"] = uuid.uuid4().hex
