"""schemathesis' positive-data-acceptance check: a request the spec says is valid is not
refused with a 400 or 422 (PostgreSQL; the contract is the same on both backends, as in
tests/api/test_fuzz.py).

Every operation is checked except those listed in :data:`NOT_YET`, each with why a
schema-valid request can still be refused there; a new operation is checked from the start.
Before issue 25: exclude, withdraw and judgements refused reasons that stripped to under 3
characters, and redeliver refused both or neither of event_id and since, all of which the
spec allowed.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.api.conftest import Auth, MakeKey

pytestmark = pytest.mark.db

NOT_YET = {
    # Depends on the data: an as_of past the newest version, vocabulary not in the database,
    # an opaque cursor this service did not hand out, an If-Match precondition.
    "GET /v1/studies": "as_of past the newest version; cursors",
    "GET /v1/studies/{study_id}": "as_of past the newest version",
    "PATCH /v1/studies/{study_id}": "If-Match is required (428)",
    "GET /v1/versions": "cursors",
    "GET /v1/audit": "cursors",
    "GET /v1/events": "cursors",
    "GET /v1/webhooks": "cursors",
    "GET /v1/webhooks/{webhook_id}/deliveries": "cursors",
    "GET /v1/outcomes/{outcome}/pooled": "as_of; vocabulary",
    "GET /v1/pooled": "vocabulary",
    "GET /v1/outcomes/{outcome}/history": "as_of",
    "GET /v1/outcomes/{outcome}/pooled/script.R": "vocabulary",
    "GET /v1/outcomes/{outcome}/forest.svg": "vocabulary",
    "GET /v1/outcomes/{outcome}/forest.png": "vocabulary",
    "GET /v1/outcomes/{outcome}/funnel.svg": "vocabulary",
    "GET /v1/outcomes/{outcome}/history.svg": "as_of",
    "GET /v1/outcomes/{outcome}/monitoring": "vocabulary",
    "GET /v1/outcomes/{outcome}/risk-of-bias.svg": "vocabulary",
    "GET /v1/outcomes/{outcome}/risk-of-bias.png": "vocabulary",
    "GET /v1/outcomes/{outcome}/risk-of-bias-summary.svg": "vocabulary",
    "GET /v1/outcomes/{outcome}/risk-of-bias-summary.png": "vocabulary",
    # Rules JSON Schema cannot state, or not yet stated.
    "POST /v1/studies": "year up to next year; cross-field rules of reported data",
    "POST /v1/studies/batch": "as POST /v1/studies",
    "POST /v1/studies/preview": "as POST /v1/studies",
    "POST /v1/studies/{study_id}/extractions": "as POST /v1/studies",
    "POST /v1/candidates/{candidate_id}/screening": "as POST /v1/studies",
    "POST /v1/search-runs/{run_id}/candidates": "a candidate's draft study: as POST /v1/studies",
    "POST /v1/studies/{study_id}/discrepancies/{discrepancy_id}/resolve": "choice=other",
    "POST /v1/analyses": "exactly one of effects and comparisons; cross-field rules",
    "POST /v1/sequential/boundaries": "information fractions strictly increasing",
    "POST /v1/webhooks": "strings are stripped before min_length; http needs a setting",
    "PATCH /v1/webhooks/{webhook_id}": "null means 'omit' for some fields",
    "POST /v1/imports": "the file's content",
}
EXAMPLES = 25


@pytest.mark.parametrize("backend", ["postgresql"], scope="session")
def test_schema_valid_requests_are_accepted(app: FastAPI, make_key: MakeKey, auth: Auth) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    headers = auth(make_key(["admin"]))
    operations = [result.ok() for result in schema.get_all_operations()]
    labels = {operation.label for operation in operations}
    assert set(NOT_YET) <= labels, set(NOT_YET) - labels  # the list names real operations
    failures: dict[str, str] = {}
    for operation in operations:
        if operation.label not in NOT_YET:
            try:
                _accepts(operation, headers)
            except Unsatisfiable:
                pass
            except (Exception, BaseExceptionGroup) as exc:
                failures[operation.label] = str(exc)[:1500]
    assert failures == {}, "\n\n".join(f"{k}: {v}" for k, v in failures.items())


def _accepts(operation: Any, headers: dict[str, str]) -> None:
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
    def run(case: Any) -> None:
        response = case.call(headers=headers)
        case.validate_response(response, checks=[positive_data_acceptance], headers=headers)

    run()
