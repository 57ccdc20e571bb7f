"""Contract fuzzing with schemathesis: every operation of the app's own OpenAPI document.

For each operation of the spec (one test each), schemathesis generates requests that
fit the documented schema (positive) and requests that break it (negative), sends them with
an admin key through the ASGI app, and checks that no answer is a 5xx and that every answer
has a documented status, content type and headers and matches its documented schema.
Hypothesis is derandomized, yet the requests still differ a little from run to run:
schemathesis also draws from Python's global ``random`` and reuses values it learns from
earlier answers (ids from the database's sequences). Measured: the 81 cases of ``POST
/v1/studies`` hashed differently in two runs with the same seed. So a line that only this
module reaches is reached in some runs only; such lines get a test of their own (issue 24:
four so far). ``make test`` sends 10 per operation and mode (about 1,600 requests), which
reached the same lines and branches as 35 did (issue 24 measured both) in a third of the
time; ``make fuzz`` sends ``FUZZ_EXAMPLES`` (100) each, for
the longer hunt that a change to the schemas or validators deserves. The positive requests
also get schemathesis' positive-data-acceptance check: a schema-valid request is not refused
(what it allows, and why: tests/api/test_positive_acceptance.py).

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
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
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
from tests.api.test_positive_acceptance import check_acceptance, fresh_idempotency_key
from tests.support.spec import spec_operations

pytestmark = [pytest.mark.db, pytest.mark.dialect_free]

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
REPORT = Path(os.environ.get("FUZZ_REPORT", "var/fuzz-report"))
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
    positive = mode is GenerationMode.POSITIVE

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
        if positive:
            fresh_idempotency_key(case)
        response = case.call(headers=headers)
        case.validate_response(response, checks=CHECKS, headers=headers)
        if positive:  # schema-valid, so not refused (tests/api/test_positive_acceptance.py)
            check_acceptance(case, response, headers, operation.label)

    with _untraced_in_this_thread():
        run()


@contextmanager
def _untraced_in_this_thread() -> Iterator[None]:
    """Coverage's tracer off in this thread only, while Hypothesis generates the cases.

    Generating a case is Hypothesis and schemathesis code, ~100,000 draws for a batch of
    studies: coverage (``--cov=service``) records none of it, yet its C tracer is called on
    every one of their function calls, which made generating take twice as long (issue 24:
    the fuzz tests' CPU down 14 s of 81). The app answers in schemathesis' event-loop thread
    (and its worker threads), whose tracers stay on, so every line of service/ a request runs
    is recorded as before: the coverage data of this module is the same either way (checked
    line by line and branch by branch when this was written). Nothing of service/ runs in this
    thread while the cases run (the key is made before).
    """
    tracer = sys.gettrace()
    sys.settrace(None)
    try:
        yield
    finally:
        sys.settrace(tracer)  # coverage reinstalls its C tracer at the next call


OPERATIONS = spec_operations()


@pytest.fixture(scope="session")
def fuzzed_schema(shared_app: FastAPI) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", shared_app)


# One test per operation, so that pytest-xdist spreads the ~4,000 requests over its workers
# (as one test it was the suite's longest, 4-9 minutes on one worker).
@pytest.mark.slow
@pytest.mark.parametrize("label", OPERATIONS)
def test_every_operation_honours_its_contract(
    app: FastAPI, fuzzed_schema: Any, make_key: MakeKey, auth: Auth, label: str
) -> None:
    method, path = label.split(" ", 1)
    operation = fuzzed_schema[path][method]
    headers = auth(make_key(["admin"]))
    sent: Counter[str] = Counter()
    failures: dict[str, str] = {}
    for mode in MODES:
        try:
            _fuzz_operation(operation, mode, headers, sent)
        except Unsatisfiable:
            pass  # nothing in the operation can be made invalid (GET /health)
        # Hypothesis raises schemathesis' failures as a BaseExceptionGroup.
        except (Exception, BaseExceptionGroup) as exc:
            failures[f"{label} [{mode.value}]"] = str(exc)[:2000]
    _write_report(label, sent, failures)
    assert failures == {}
    assert sent[f"{label} [{GenerationMode.POSITIVE.value}]"] >= 1, sent


def test_the_fuzzed_operations_are_the_apps(fuzzed_schema: Any) -> None:
    labels = {result.ok().label for result in fuzzed_schema.get_all_operations()}
    assert set(OPERATIONS) == labels


def _write_report(label: str, sent: Counter[str], failures: dict[str, str]) -> None:
    """One file per operation under ``REPORT`` (the tests run in several processes)."""
    REPORT.mkdir(parents=True, exist_ok=True)
    lines = [f"{count:6d}  {name}" for name, count in sorted(sent.items())]
    failed = [f"FAILED {name}\n{text}" for name, text in failures.items()]
    name = label.replace("/", "_").replace(" ", "").replace("{", "").replace("}", "")
    (REPORT / f"{name}.txt").write_text("\n".join([*lines, *failed]) + "\n")
