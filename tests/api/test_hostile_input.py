"""Hostile input: every case is refused with a 4xx problem+json and the database is unchanged.

Each case runs on SQLite and PostgreSQL against a database holding one study, and compares a
dump of every table (all rows, ordered by primary key) taken before and after the request.
Text that is merely odd (SQL, markup) is accepted as plain text where a field takes free text;
``test_sql_and_markup_in_free_text_are_stored_verbatim`` checks that separately.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection

from tests.api.conftest import Auth, MakeKey
from tests.api.hostile_support import database_dumper
from tests.factories import peer_group_trial

pytestmark = [pytest.mark.db, pytest.mark.unconcluded]

PROBLEM = "application/problem+json"
STUDY = "{study_id}"
MARK = "__HOSTILE__"
FIVE_MIB = 5 * 1024 * 1024
HUGE = "9" * 30
BIGINT_OVERFLOW = str(2**63)


def _raw(value: Any) -> bytes:
    return json.dumps(value).encode()


def _literal(body: dict[str, Any], literal: str) -> bytes:
    """``body`` as JSON with the string ``MARK`` replaced by a raw JSON literal."""
    text = json.dumps(body)
    assert f'"{MARK}"' in text
    return text.replace(f'"{MARK}"', literal).encode()


def _study(**overrides: Any) -> dict[str, Any]:
    return peer_group_trial(**overrides)


def _with_mean(value: Any) -> dict[str, Any]:
    body = _study()
    body["outcome_results"][0]["data"]["intervention"]["mean"] = value
    return body


def _with_arm(key: str, value: Any) -> dict[str, Any]:
    body = _study()
    body["outcome_results"][0]["data"]["control"][key] = value
    return body


def _nested(depth: int) -> bytes:
    return b'{"title": ' + b"[" * depth + b"]" * depth + b"}"


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@dataclass(frozen=True)
class Case:
    id: str
    method: str
    path: str
    status: int
    body: bytes | None = None
    content_type: str = "application/json"
    params: dict[str, str] = field(default_factory=dict)


COMPARISON = {"label": "a", "n1": 10, "mean1": 1, "sd1": 0, "n2": 10, "mean2": 0, "sd2": 1}
EFFECTS = [{"label": "a", "yi": 0.2, "vi": 0.01}, {"label": "b", "yi": 0.4, "vi": 0.02}]


def _analysis(**changes: Any) -> dict[str, Any]:
    return {"effects": [dict(e) for e in EFFECTS], **changes}


def _effect_yi(literal: str) -> bytes:
    body = _analysis()
    body["effects"][0]["yi"] = MARK
    return _literal(body, literal)


def _effect_vi(literal: str) -> bytes:
    body = _analysis()
    body["effects"][1]["vi"] = MARK
    return _literal(body, literal)


def _study_cases() -> list[Case]:
    post = "/v1/studies"
    cases = [
        Case("malformed-json", "POST", post, 422, b'{"title": "x",'),
        Case("json-array", "POST", post, 422, b"[1, 2]"),
        Case("json-null", "POST", post, 422, b"null"),
        Case("empty-body", "POST", post, 422, b""),
        Case("text-plain", "POST", post, 422, _raw(_study()), content_type="text/plain"),
        Case("title-number", "POST", post, 422, _raw(_study(title=123))),
        Case("year-string", "POST", post, 422, _raw(_study(year="twenty sixteen"))),
        Case("arms-object", "POST", post, 422, _raw(_study(arms={"a": 1}))),
        Case("total-float", "POST", post, 422, _raw(_study(total_randomized=12.5))),
        Case("mean-nan", "POST", post, 422, _literal(_with_mean(MARK), "NaN")),
        Case("mean-infinity", "POST", post, 422, _literal(_with_mean(MARK), "Infinity")),
        Case("mean-minus-inf", "POST", post, 422, _literal(_with_mean(MARK), "-Infinity")),
        Case("mean-1e309", "POST", post, 422, _literal(_with_mean(MARK), "1e309")),
        Case("sd-negative", "POST", post, 422, _raw(_with_arm("sd", -1.5))),
        Case("sd-zero", "POST", post, 422, _raw(_with_arm("sd", 0))),
        Case("sd-nan", "POST", post, 422, _literal(_with_arm("sd", MARK), "NaN")),
        Case("n-zero", "POST", post, 422, _raw(_with_arm("n", 0))),
        Case("n-negative", "POST", post, 422, _raw(_with_arm("n", -10))),
        Case("total-zero", "POST", post, 422, _raw(_study(total_randomized=0))),
        Case("total-enormous", "POST", post, 422, _raw(_study(total_randomized=10**30))),
        Case("means-overflow", "POST", post, 422, _raw(_with_mean(1.7e308))),
        Case("integer-5000-digits", "POST", post, 400, _literal(_study(year=MARK), "9" * 5000)),
        Case("title-1mb", "POST", post, 422, _raw(_study(title="x" * 1_000_000))),
        Case("nested-100000", "POST", post, 400, _nested(100_000)),
        Case("nested-500", "POST", post, 422, _nested(500)),
        Case("over-size-limit", "POST", post, 413, _raw(_study()) + b" " * FIVE_MIB),
        Case("unknown-field", "POST", post, 422, _raw(_study(is_admin=True))),
        Case("mass-assign-status", "POST", post, 422, _raw(_study(status="included"))),
        Case("mass-assign-id", "POST", post, 422, _raw(_study(id=1))),
        Case("invalid-utf8", "POST", post, 400, b'{"title": "\xff\xfe\xfd"}'),
        Case("lone-surrogate", "POST", post, 422, _literal(_study(title=MARK), '"a\\ud800b"')),
        Case("nul-in-text", "POST", post, 422, _literal(_study(title=MARK), '"a\\u0000b"')),
        Case("sql-in-slug", "POST", post, 422, _raw(_study(category="x'; DROP TABLE study;--"))),
        Case("sql-in-tag", "POST", post, 422, _raw(_study(tags=["a'); DELETE FROM study;--"]))),
        Case("sql-in-doi", "POST", post, 422, _raw(_study(doi="10.1000/x' OR '1'='1"))),
        Case("script-in-slug", "POST", post, 422, _raw(_study(comparator="<script>x</script>"))),
    ]
    batch = "/v1/studies/batch"
    cases += [
        Case("batch-malformed", "POST", batch, 422, b'{"studies": [}'),
        Case("batch-empty", "POST", batch, 422, _raw({"studies": []})),
        Case("batch-not-list", "POST", batch, 422, _raw({"studies": {"a": 1}})),
        Case("batch-unknown-field", "POST", batch, 422, _raw({"studies": [_study()], "x": 1})),
        Case(
            "batch-one-bad", "POST", batch, 422, _raw({"studies": [_study(), _with_arm("sd", 0)]})
        ),
        Case(
            "batch-one-nan",
            "POST",
            batch,
            422,
            _literal({"studies": [_study(), _with_mean(MARK)]}, "NaN"),
        ),
        Case("batch-1001", "POST", batch, 422, _raw({"studies": [_study()] * 1001})),
    ]
    one = f"/v1/studies/{STUDY}"
    cases += [
        Case("patch-malformed", "PATCH", one, 422, b'{"title": '),
        Case("patch-title-number", "PATCH", one, 422, _raw({"title": 5})),
        Case("patch-total-nan", "PATCH", one, 422, _literal({"total_randomized": MARK}, "NaN")),
        Case("patch-title-null", "PATCH", one, 422, _raw({"title": None})),
        Case("patch-unknown-field", "PATCH", one, 422, _raw({"status": "included"})),
        Case("patch-id", "PATCH", one, 422, _raw({"id": 999})),
        Case("patch-title-1mb", "PATCH", one, 422, _raw({"title": "y" * 1_000_000})),
        Case("patch-nul", "PATCH", one, 422, _literal({"title": MARK}, '"a\\u0000"')),
        Case("patch-sql-in-slug", "PATCH", one, 422, _raw({"design": "1' OR '1'='1"})),
        Case("patch-traversal", "PATCH", "/v1/studies/..%2F..%2Fetc%2Fpasswd", 404, b"{}"),
        Case("patch-huge-id", "PATCH", f"/v1/studies/{HUGE}", 422, _raw({"title": "x"})),
    ]
    return cases


def _analysis_and_query_cases() -> list[Case]:
    post = "/v1/analyses"
    cases = [
        Case("analysis-malformed", "POST", post, 422, b'{"effects": [{"yi": 1,'),
        Case("analysis-yi-nan", "POST", post, 422, _effect_yi("NaN")),
        Case("analysis-yi-infinity", "POST", post, 422, _effect_yi("Infinity")),
        Case("analysis-vi-1e309", "POST", post, 422, _effect_vi("1e309")),
        Case("analysis-vi-zero", "POST", post, 422, _effect_vi("0")),
        Case("analysis-vi-negative", "POST", post, 422, _effect_vi("-0.5")),
        Case("analysis-level", "POST", post, 422, _raw(_analysis(level=1.5))),
        Case("analysis-estimator", "POST", post, 422, _raw(_analysis(estimator="REML; --"))),
        Case("analysis-unknown-field", "POST", post, 422, _raw(_analysis(debug=True))),
        Case("analysis-empty", "POST", post, 422, _raw({"effects": []})),
        Case("analysis-sd-zero", "POST", post, 422, _raw({"comparisons": [COMPARISON]})),
    ]
    studies = "/v1/studies"
    for name, params, status in [
        ("limit-zero", {"limit": "0"}, 422),
        ("limit-negative", {"limit": "-1"}, 422),
        ("limit-huge", {"limit": HUGE}, 422),
        ("limit-text", {"limit": "ten"}, 422),
        ("as-of-negative", {"as_of": "-1"}, 422),
        ("as-of-huge", {"as_of": HUGE}, 422),
        ("as-of-bigint", {"as_of": BIGINT_OVERFLOW}, 422),
        ("year-text", {"year_from": "1' OR '1'='1"}, 422),
        ("cursor-garbage", {"cursor": "!!not-a-cursor!!"}, 422),
        ("cursor-huge", {"cursor": _cursor(HUGE)}, 422),
        ("outcome-traversal", {"outcome": "../../etc/passwd"}, 422),
        ("status-unknown", {"status": "deleted"}, 422),
        ("doi-script", {"doi": "<script>alert(1)</script>"}, 422),
        ("q-too-short", {"q": "x"}, 422),
    ]:
        cases.append(Case(f"list-{name}", "GET", studies, status, params=params))
    for name, path, status in [
        ("study-text-id", "/v1/studies/abc", 422),
        ("study-zero-id", "/v1/studies/0", 422),
        ("study-traversal", "/v1/studies/..%2F..%2Fetc%2Fpasswd", 404),
        ("study-dot-dot", "/v1/studies/%2e%2e", 422),
        ("study-nul", "/v1/studies/1%00", 400),
        ("study-huge-id", f"/v1/studies/{HUGE}", 422),
        ("study-bigint-id", f"/v1/studies/{BIGINT_OVERFLOW}", 422),
        ("study-int32-overflow", f"/v1/studies/{2**31}", 422),
        ("version-huge", f"/v1/versions/{HUGE}", 422),
        ("version-traversal", "/v1/versions/%2e%2e%2f%2e%2e", 404),
        ("include-huge-id", f"/v1/studies/{HUGE}/include", 422),
    ]:
        cases.append(Case(f"get-{name}", "GET" if "include" not in name else "POST", path, status))
    for name, path, params, status in [
        ("audit-study-huge", "/v1/audit", {"study_id": HUGE}, 422),
        ("audit-cursor-huge", "/v1/audit", {"cursor": _cursor(HUGE)}, 422),
        ("audit-actor-nul", "/v1/audit", {"actor": "a\x00b"}, 400),
        ("versions-cursor-huge", "/v1/versions", {"cursor": _cursor(HUGE)}, 422),
        ("versions-outcome-nul", "/v1/versions", {"outcome": "\x00"}, 400),
        ("instruments-long", "/v1/instruments", {"outcome": "x" * 65}, 422),
        ("instruments-nul", "/v1/instruments", {"outcome": "empowerment\x00"}, 400),
        ("list-q-nul", "/v1/studies", {"q": "peer\x00support"}, 400),
    ]:
        cases.append(Case(f"get-{name}", "GET", path, status, params=params))
    cases.append(
        Case("get-study-as-of-huge", "GET", f"/v1/studies/{STUDY}", 422, params={"as_of": HUGE})
    )
    return cases


def _groups() -> dict[str, list[Case]]:
    groups: dict[str, list[Case]] = {}
    for case in _study_cases() + _analysis_and_query_cases():
        path = case.path.removeprefix("/v1/")
        if case.method == "GET":
            group = "GET"
        elif path.startswith("studies/") and path != "studies/batch":
            group = f"{case.method} studies/{{id}}"
        else:
            group = f"{case.method} {path}"
        groups.setdefault(group, []).append(case)
    return groups


GROUPS = _groups()


@pytest.fixture
def admin(make_key: MakeKey, auth: Auth) -> dict[str, str]:
    return auth(make_key(["admin"]))


@pytest.fixture
def existing(client: TestClient, admin: dict[str, str]) -> dict[str, str]:
    """One stored study: its id and ETag."""
    response = client.post("/v1/studies", json=_study(), headers=admin)
    assert response.status_code == 201, response.text
    study_id = str(response.json()["study"]["id"])
    etag = client.get(f"/v1/studies/{study_id}").headers["etag"]
    return {"id": study_id, "etag": etag}


def _refusal_problems(response: Any, case: Case) -> list[str]:
    """What is wrong with ``response`` as the answer to ``case`` (nothing, ideally)."""
    found = []
    if response.status_code != case.status:
        found.append(f"status {response.status_code}: {response.text[:300]}")
    if response.headers.get("content-type") != PROBLEM:
        found.append(f"content-type {response.headers.get('content-type')}")
    elif response.json().get("status") != response.status_code:
        found.append("problem status differs from the HTTP status")
    if "Traceback" in response.text:
        found.append("a traceback in the body")
    return found


# Grouped by target so that the app, the key and the study are made once per group; every
# case still gets its own before/after dump.
@pytest.mark.parametrize("group", list(GROUPS))
def test_hostile_input_is_refused_and_writes_nothing(
    client: TestClient,
    connection: Connection,
    admin: dict[str, str],
    existing: dict[str, str],
    group: str,
) -> None:
    headers = admin | {"If-Match": existing["etag"]}
    dump = database_dumper(connection)
    assert dump()["study"], "the dump must see what the app wrote in the test's transaction"
    failures: dict[str, list[str]] = {}
    for case in GROUPS[group]:
        before = dump()
        response = client.request(
            case.method,
            case.path.replace(STUDY, existing["id"]),
            content=case.body,
            params=case.params,
            headers=headers | {"content-type": case.content_type},
        )
        found = _refusal_problems(response, case)
        if dump() != before:
            found.append("the database changed")
        if found:
            failures[case.id] = found
    assert failures == {}


@pytest.mark.parametrize(
    "text",
    [
        "Robert'); DROP TABLE study; --",
        "<script>alert('x')</script> & <img src=x onerror=alert(1)>",
        "1 OR 1=1; SELECT * FROM api_key",
        "%_\\ LIKE wildcards",
    ],
)
def test_sql_and_markup_in_free_text_are_stored_verbatim(
    client: TestClient, admin: dict[str, str], text: str
) -> None:
    created = client.post("/v1/studies", json=_study(title=text, authors=text), headers=admin)
    assert created.status_code == 201, created.text
    study_id = created.json()["study"]["id"]
    read = client.get(f"/v1/studies/{study_id}")
    assert read.headers["content-type"] == "application/json"
    assert read.headers["x-content-type-options"] == "nosniff"
    assert (read.json()["title"], read.json()["authors"]) == (text, text)
    found = client.get("/v1/studies", params={"q": text[:200]})
    assert [s["id"] for s in found.json()["items"]] == [study_id]
    assert client.get("/v1/studies").status_code == 200
