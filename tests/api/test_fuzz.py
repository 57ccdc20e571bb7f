"""Contract fuzzing with schemathesis: every operation of the app's own OpenAPI document.

For each operation that the app has when the test runs, schemathesis generates requests that
fit the documented schema (positive) and requests that break it (negative), sends them with
an admin key through the ASGI app, and checks that no answer is a 5xx and that every answer
has a documented status, content type and headers and matches its documented schema.
Generation is derandomized, so every run sends the same requests; ``FUZZ_EXAMPLES`` raises
the number per operation and mode for a longer run.

schemathesis' ``negative_data_rejection`` check is left out: its negative cases include
unknown query parameters, which the read routes ignore as HTTP allows, and a removed
``Authorization`` header, which this test puts back. That invalid input is refused with a
4xx is what tests/api/test_hostile_input.py checks, case by case.

Runs on PostgreSQL only: the contract is the same on both backends (the same app, schemas and
serialisation), PostgreSQL is the stricter store (it is where NUL characters and 32-bit
overflows surfaced), and SQLite's differences are covered by the hostile input catalogue
and the rest of the API tests, which run on both. This keeps the run within its time budget.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import Auth, MakeKey

pytestmark = pytest.mark.db

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "35"))
MINIMUM_REQUESTS = 1000
REPORT = Path(os.environ.get("FUZZ_REPORT", "var/fuzz-report.txt"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)


def _fuzz_operation(
    operation: Any, mode: GenerationMode, headers: dict[str, str], sent: Counter[str]
) -> None:
    label = f"{operation.label} [{mode.value}]"

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        sent[label] += 1
        response = case.call(headers=headers)
        case.validate_response(response, checks=CHECKS, headers=headers)

    run()


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["postgresql"], scope="session")
def test_every_operation_honours_its_contract(app: FastAPI, make_key: MakeKey, auth: Auth) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    headers = auth(make_key(["admin"]))
    sent: Counter[str] = Counter()
    failures: dict[str, str] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        for mode in MODES:
            try:
                _fuzz_operation(operation, mode, headers, sent)
            except Unsatisfiable:
                pass  # nothing in the operation can be made invalid (GET /health)
            # Hypothesis raises schemathesis' failures as a BaseExceptionGroup.
            except (Exception, BaseExceptionGroup) as exc:
                failures[f"{operation.label} [{mode.value}]"] = str(exc)[:2000]
    _write_report(sent, len(operations), failures)
    assert failures == {}
    assert sum(sent.values()) >= MINIMUM_REQUESTS, sent


def _write_report(sent: Counter[str], operations: int, failures: dict[str, str]) -> None:
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"{count:6d}  {label}" for label, count in sorted(sent.items())]
    total = f"{sum(sent.values())} requests over {operations} operations, {EXAMPLES} examples each"
    failed = [f"FAILED {label}\n{text}" for label, text in failures.items()]
    REPORT.write_text("\n".join([total, *lines, *failed]) + "\n")
