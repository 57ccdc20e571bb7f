"""A missing key of a study body is explained (issue 12): what the field is and how to fill
it, not pydantic's bare "Field required"; on both databases, and in the import's report."""

from __future__ import annotations

import typing
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel

from service.schemas.reported import ReportedData
from service.schemas.required_fields import missing_field_message
from service.schemas.studies import StudyCreate
from tests.api.conftest import Auth, MakeKey
from tests.api.exchange_support import post_import
from tests.api.studies_support import Actors
from tests.factories import peer_group_trial

pytestmark = [pytest.mark.db, pytest.mark.dialect_free, pytest.mark.unconcluded]

R0 = "outcome_results.0"
Body = dict[str, Any]


@pytest.fixture
def who(make_key: MakeKey, auth: Auth) -> Actors:
    return Actors(make_key, auth)


def _without(*path: str | int) -> Callable[[Body], None]:
    def remove(body: Body) -> None:
        target: Any = body
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return remove


CASES = [
    (
        _without("outcome_results", 0, "data", "control"),
        f"{R0}.data.means.control",
        "'control' is required: the comparator (control) arm as reported, with its mean, sd "
        "and n (form 'means')",
    ),
    (
        _without("outcome_results", 0, "data", "intervention", "sd"),
        f"{R0}.data.means.intervention.sd",
        "'sd' is required: the arm's standard deviation (not the standard error",
    ),
    (_without("title"), "title", "'title' is required: the trial's title as published"),
    (
        _without("category"),
        "category",
        "'category' is required: a slug of GET /v1/categories (e.g. 'peer-group')",
    ),
    (
        _without("arms", 1, "n_randomized"),
        "arms.1.n_randomized",
        "'n_randomized' is required: the number of people randomized to the arm",
    ),
    (
        _without("outcome_results", 0, "timepoint", "weeks"),
        f"{R0}.timepoint.weeks",
        "'weeks' is required: weeks since randomization",
    ),
    (
        _without("source", "extracted_by"),
        "source.extracted_by",
        "'extracted_by' is required: who extracted the data",
    ),
]


@pytest.mark.parametrize(("mutate", "field", "message"), CASES)
def test_a_missing_key_says_what_the_field_is(
    client: TestClient, who: Actors, mutate: Callable[[Body], None], field: str, message: str
) -> None:
    body = peer_group_trial()
    mutate(body)

    response = client.post("/v1/studies", json=body, headers=who.trusted)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    errors = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert errors[field].startswith(message), errors
    assert "Field required" not in response.text
    assert field in response.json()["detail"]  # the unified detail still names the field


def test_a_study_of_a_batch_and_a_preview_are_explained_the_same_way(
    client: TestClient, who: Actors
) -> None:
    body = peer_group_trial()
    del body["outcome_results"][0]["data"]["control"]

    batch = client.post("/v1/studies/batch", json={"studies": [body]}, headers=who.trusted)
    preview = client.post("/v1/studies/preview", json=body, headers=who.trusted)

    for response, field in ((batch, f"studies.0.{R0}.data.means.control"), (preview, None)):
        assert response.status_code == 422, response.text
        messages = [e["message"] for e in response.json()["errors"]]
        assert any(m.startswith("'control' is required: the comparator") for m in messages)
        if field is not None:
            assert [e["field"] for e in response.json()["errors"]] == [field]


def test_other_bodies_keep_the_validators_own_message(client: TestClient, who: Actors) -> None:
    response = client.post("/v1/analyses", json={}, headers=who.trusted)
    assert response.status_code == 422
    assert "is required:" not in response.text


def _required(model: type[BaseModel]) -> Iterator[tuple[str, Any]]:
    for name, info in model.model_fields.items():
        if info.is_required():
            yield name, info.annotation


def _models(annotation: Any) -> list[type[BaseModel]]:
    """The models inside ``annotation`` (``list[ArmCreate]``, ``ArmMeans | None``...)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in typing.get_args(annotation) for model in _models(arg)]


def _paths(model: type[BaseModel], prefix: tuple[str | int, ...]) -> Iterator[tuple[Any, ...]]:
    """The location of every required key under ``model``, as pydantic reports it."""
    for name, annotation in _required(model):
        yield (*prefix, name)
        if name == "data":
            continue  # the forms, below
        for inner in _models(annotation):
            index: tuple[int, ...] = (0,) if typing.get_origin(annotation) is list else ()
            yield from _paths(inner, (*prefix, name, *index))


def _form_paths() -> Iterator[tuple[Any, ...]]:
    for form in _models(typing.get_args(ReportedData)[0]):
        tag = typing.get_args(form.model_fields["form"].annotation)[0]
        for name, annotation in _required(form):
            if name == "form":
                continue
            yield ("outcome_results", 0, "data", tag, name)
            for arm in _models(annotation):
                for inner, _ in _required(arm):
                    yield ("outcome_results", 0, "data", tag, name, inner)


def test_every_required_key_of_the_study_schema_is_explained() -> None:
    paths = [*_paths(StudyCreate, ()), *_form_paths()]
    assert len(paths) > 60  # the forms' keys are in there
    unexplained = [path for path in paths if missing_field_message(("body", *path)) is None]
    assert unexplained == []


def test_an_imported_row_missing_a_key_is_explained_in_the_report(
    client: TestClient, who: Actors
) -> None:
    reported = '"{""form"":""means"",""intervention"":{""mean"":2.9,""sd"":0.5,""n"":40}}"'
    text = (
        "study,year,category,quality,outcome,instrument,weeks,nrand1,nrand2,form,reported\n"
        '"Lee, 2020",2020,peer-group,strong,empowerment,empowerment-scale,12,40,42,means,'
        f"{reported}\n"
    )
    response = post_import(client, who.curator, text, fmt="csv", dry_run=True)

    assert response.status_code == 200, response.text
    [problem] = response.json()["problems"]
    assert (problem["row"], problem["column"]) == (2, "reported")
    assert problem["problem"].startswith("'control' is required: the comparator (control) arm")
