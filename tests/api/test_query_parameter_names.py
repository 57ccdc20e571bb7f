"""Each route's allowed query parameters are its own, whatever routes lived before it.

They are read once per route. Keyed by ``id(route)``, as they were, a route built after an
earlier application was collected could get a dead route's id and so its names: a request
with the new route's own parameter refused, or an unknown one let through.
"""

from __future__ import annotations

import gc

from fastapi import Depends, FastAPI, Query
from fastapi.testclient import TestClient

from service.api.query_parameters import refuse_unknown_query_parameters


def _app_taking(name: str) -> FastAPI:
    app = FastAPI(dependencies=[Depends(refuse_unknown_query_parameters)])

    async def read(value: str | None = Query(None, alias=name)) -> dict[str, str | None]:
        return {"value": value}

    app.add_api_route("/read", read, methods=["GET"])
    return app


def test_each_new_application_takes_its_own_parameter_names() -> None:
    for round_ in range(40):
        name = f"p{round_}"
        with TestClient(_app_taking(name)) as client:
            assert client.get("/read", params={name: "1"}).status_code == 200, name
            assert client.get("/read", params={"p-none": "1"}).status_code == 422, name
        gc.collect()  # the application and its routes go; their ids may be reused
