"""POST /v1/imports: metafor-style CSV and Metapsy files through the studies' own validation."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Auth, MakeKey
from tests.api.exchange_support import newest_version, post_import
from tests.api.studies_support import Actors

pytestmark = [pytest.mark.db, pytest.mark.unconcluded]

CSV_HEADER = (
    "study,year,doi,category,design,comparator,quality,outcome,instrument,timepoint,weeks,"
    "m1i,sd1i,n1i,m2i,sd2i,n2i"
)
JANSEN = '"Jansen, 2016",2016,10.5555/imp.1,peer-group,randomized,waiting-list,strong'
CSV = "\n".join(
    [
        CSV_HEADER,
        f"{JANSEN},empowerment,empowerment-scale,post,12,2.9,0.5,40,2.7,0.5,42",
        f"{JANSEN},self-efficacy,general-self-efficacy-scale,post,12,28,5,40,26.5,5.5,42",
        '"Okafor, 2019",2019,,one-to-one,randomized,treatment-as-usual,moderate,'
        "internalized-stigma,ismi,post,8,2.1,0.45,30,2.35,0.5,31",
    ]
)
# Row 2: an SD of zero; row 3: an instrument that measures another outcome; row 4: "n/a" as n.
BROKEN = """\
study,year,category,quality,outcome,instrument,weeks,m1i,sd1i,n1i,m2i,sd2i,n2i
"Lee, 2020",2020,peer-group,strong,empowerment,empowerment-scale,12,2.9,0,40,2.7,0.5,42
"Lee, 2020",2020,peer-group,strong,empowerment,ismi,12,2.9,0.5,40,2.7,0.5,42
"Mora, 2021",2021,peer-group,strong,empowerment,empowerment-scale,12,2.9,0.5,n/a,2.7,0.5,42
"""


@pytest.fixture
def actors(make_key: MakeKey, auth: Auth) -> Actors:
    return Actors(make_key, auth)


def test_a_dry_run_reports_what_it_would_store_and_writes_nothing(
    client: TestClient, actors: Actors
) -> None:
    response = post_import(client, actors.curator, CSV, fmt="csv", dry_run=True)

    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["rows"], report["studies"], report["results"]) == (3, 2, 3)
    assert (report["new_studies"], report["new_results"]) == (2, 3)
    assert report["problems"] == []
    assert report["evidence_version"] is None
    assert newest_version(client) == 0
    assert client.get("/v1/studies").json()["items"] == []


def test_an_import_is_one_version_and_importing_again_changes_nothing(
    client: TestClient, actors: Actors
) -> None:
    first = post_import(client, actors.curator, CSV, fmt="csv")

    assert first.status_code == 201, first.text
    report = first.json()
    assert report["evidence_version"] == 1
    assert first.headers["Location"] == "/v1/versions/1"
    studies = client.get("/v1/studies").json()["items"]
    assert [s["id"] for s in studies] == report["created_study_ids"]
    jansen = next(s for s in studies if s["authors"] == "Jansen")
    assert jansen["status"] == "included"
    assert len(jansen["outcome_results"]) == 2
    assert jansen["outcome_results"][0]["effect"]["conversion"] == "smd_from_means"

    again = post_import(client, actors.curator, CSV, fmt="csv")

    assert again.status_code == 200, again.text
    assert again.json()["new_studies"] == 0
    assert again.json()["evidence_version"] is None
    matched = {m["source_study_id"]: m["matched_by"] for m in again.json()["matched"]}
    # Jansen carries a DOI; Okafor has none and is found by the stored source study id.
    assert matched == {"Jansen, 2016 (2016)": "doi", "Okafor, 2019 (2019)": "source_study_id"}
    assert newest_version(client) == 1


def test_problems_are_reported_by_row_column_and_value_and_nothing_is_stored(
    client: TestClient, actors: Actors
) -> None:
    dry = post_import(client, actors.curator, BROKEN, fmt="csv", dry_run=True)

    assert dry.status_code == 200, dry.text
    problems = {(p["row"], p["column"]): p for p in dry.json()["problems"]}
    assert set(problems) == {(2, "sd1i"), (3, "instrument"), (4, "n1i")}
    assert problems[(2, "sd1i")]["value"] == "0"
    assert "greater than 0" in problems[(2, "sd1i")]["problem"]
    assert "measures internalized-stigma" in problems[(3, "instrument")]["problem"]
    assert "GET /v1/instruments" in problems[(3, "instrument")]["suggestion"]
    assert problems[(4, "n1i")]["value"] == "n/a"
    assert dry.json()["new_studies"] == 0

    real = post_import(client, actors.curator, BROKEN, fmt="csv")

    assert real.status_code == 422
    assert real.headers["content-type"].startswith("application/problem+json")
    assert {(e["row"], e["column"]) for e in real.json()["errors"]} == set(problems)
    assert newest_version(client) == 0


def test_imports_need_the_curate_scope_and_a_csv_body(client: TestClient, actors: Actors) -> None:
    assert post_import(client, actors.trusted, CSV, fmt="csv").status_code == 403
    assert post_import(client, {}, CSV, fmt="csv").status_code == 401
    as_json = client.post(
        "/v1/imports", params={"format": "csv"}, json={"studies": []}, headers=actors.curator
    )
    assert as_json.status_code == 415
    not_utf8 = client.post(
        "/v1/imports",
        params={"format": "csv"},
        content=b"study,year\n\xff\xfe,2019\n",
        headers={**actors.curator, "Content-Type": "text/csv"},
    )
    assert not_utf8.status_code == 422
    assert post_import(client, actors.curator, "", fmt="csv").status_code == 422
    assert post_import(client, actors.curator, CSV, fmt="xlsx").status_code == 422
    assert newest_version(client) == 0


# Metapsy's conventions: ';', decimal commas, NA, double-encoded UTF-8 ("RÃ¼sch"), one row per
# outcome; a derived .g that must not be trusted (row 3 says 9,99).
METAPSY_COLUMNS = (
    '"";"study";"condition_arm1";"condition_arm2";"multi_arm1";"multi_arm2";"outcome_type";'
    '"instrument";"outcome_subcategory";"time";"time_weeks";".g";".g_se";"mean_arm1";'
    '"sd_arm1";"n_arm1";"mean_arm2";"sd_arm2";"n_arm2";"mean_change_arm1";"mean_change_arm2";'
    '"sd_change_arm1";"sd_change_arm2";"n_change_arm1";"n_change_arm2";"precalc_g";'
    '"precalc_g_se";"year";"country";"disorder";"format";"RoB_D1";"overall_RoB"'
)
NO_CHANGE = ";".join(["NA"] * 6)
RUSCH = '"RÃ¼sch, 2014";"Peer support";"CAU";NA;NA;"msd"'
RUSCH_TAIL = '2014;"DE";"SMI";"Group";"Low risk";"High risk"'
METAPSY_ROWS = [
    f'"1";{RUSCH};"CES-D";"Depression";"post";3;0,1;0,2;10;5;40;11;5;41;{NO_CHANGE};NA;NA;'
    + RUSCH_TAIL,
    f'"2";{RUSCH};"Empowerment Scale";"Empowerment/Self-efficacy";"post";3;9,99;0,2;'
    f"2,91;0,4;39;2,8;0,45;41;{NO_CHANGE};NA;NA;" + RUSCH_TAIL,
    '"3";"Shorey, 2019";"Peer support";"WL";NA;NA;"msd";"General Self-Efficacy Scale (GSE)";'
    '"Self-efficacy";"post";6;NA;NA;NA;NA;NA;NA;NA;NA;1,5;0,5;2;2,1;30;31;NA;NA;'
    '2019;"SG";"depression";"Individual";"Some concerns";"Low risk"',
    '"4";"Cruz, 2020";"Peer support";"WL";NA;NA;"msd";"Some Unknown Scale";'
    f'"Empowerment/Self-efficacy";"post";6;NA;NA;NA;NA;30;NA;NA;31;{NO_CHANGE};0,3;0,2;'
    '2020;"US";"SMI";"Group";"Low risk";"Low risk"',
]
METAPSY = "\n".join([METAPSY_COLUMNS, *METAPSY_ROWS]) + "\n"


def test_a_metapsy_file_is_read_by_its_own_conventions(client: TestClient, actors: Actors) -> None:
    dry = post_import(client, actors.curator, METAPSY, fmt="metapsy", dry_run=True)

    report = dry.json()
    assert report["skipped"] == {"outcome not in the review: Depression": 1}
    [unknown] = report["problems"]
    assert (unknown["row"], unknown["column"]) == (5, "instrument")
    assert "--map" in unknown["suggestion"]
    assert post_import(client, actors.curator, METAPSY, fmt="metapsy").status_code == 422

    known = "\n".join(METAPSY.splitlines()[:4]) + "\n"
    stored = post_import(client, actors.curator, known, fmt="metapsy")

    assert stored.status_code == 201, stored.text
    studies = {s["authors"]: s for s in client.get("/v1/studies").json()["items"]}
    rusch, shorey = studies["Rüsch"], studies["Shorey"]
    assert rusch["title"].startswith("Rüsch, 2014")
    assert rusch["quality_rating"] == "weak"
    assert "D1 randomization: Low risk" in rusch["quality_appraisal"]
    assert [a["n_randomized"] for a in rusch["arms"]] == [39, 41]
    [empowerment] = rusch["outcome_results"]
    assert empowerment["data"]["intervention"] == {"mean": 2.91, "sd": 0.4, "n": 39}
    assert empowerment["effect"]["yi"] < 1  # recomputed from the means, not the file's 9,99
    assert shorey["category"] == "one-to-one"
    assert shorey["comparator"] == "waiting-list"
    assert shorey["outcome_results"][0]["data"]["form"] == "change_scores"
    assert shorey["outcome_results"][0]["timepoint"] == {"weeks": 6.0, "label": "post"}


def test_hostile_files_are_refused_or_reported_and_change_nothing(
    client: TestClient, actors: Actors
) -> None:
    nul = post_import(client, actors.curator, CSV.replace("Okafor", "Oka\x00for"), fmt="csv")
    assert nul.status_code == 422
    assert "NUL" in nul.json()["detail"]
    long_name = CSV.replace("Okafor, 2019", "O" * 400)
    report = post_import(client, actors.curator, long_name, fmt="csv", dry_run=True).json()
    assert [p["column"] for p in report["problems"]] == ["study"]
    ragged = post_import(client, actors.curator, CSV + "\na,b\n", fmt="csv")
    assert ragged.status_code == 422
    assert "row 5" in ragged.json()["detail"]
    markup = CSV.replace("Okafor, 2019", "<script>alert(1)</script>")
    assert post_import(client, actors.curator, markup, fmt="csv").status_code == 201
    stored = client.get("/v1/studies", params={"q": "script"}).json()["items"]
    assert stored[0]["title"] == "<script>alert(1)</script>"  # verbatim, as JSON
    assert newest_version(client) == 1


UNKNOWN_SCALE_MAP = {"Some Unknown Scale": "empowerment-scale"}


def _multipart(
    client: TestClient, headers: dict[str, str], files: dict[str, Any], **params: str
) -> Any:
    return client.post(
        "/v1/imports", params={"format": "metapsy", **params}, files=files, headers=headers
    )


def test_an_instrument_map_is_sent_as_a_multipart_part_beside_the_file(
    client: TestClient, actors: Actors
) -> None:
    file = ("metapsy.csv", METAPSY.encode(), "text/csv")
    without = _multipart(client, actors.curator, {"file": file}, dry_run="true")
    assert [p["column"] for p in without.json()["problems"]] == ["instrument"]

    mapped = _multipart(
        client,
        actors.curator,
        {"file": file, "map": ("map.json", json.dumps(UNKNOWN_SCALE_MAP), "application/json")},
    )

    assert mapped.status_code == 201, mapped.text
    assert (mapped.json()["new_studies"], mapped.json()["problems"]) == (3, [])
    cruz = next(s for s in client.get("/v1/studies").json()["items"] if s["authors"] == "Cruz")
    assert cruz["outcome_results"][0]["instrument"] == "empowerment-scale"


@pytest.mark.parametrize(
    ("files", "field"),
    [
        ({"map": (None, json.dumps(UNKNOWN_SCALE_MAP))}, "file"),
        ({"file": ("m.csv", METAPSY.encode()), "map": (None, '["not", "an", "object"]')}, "map"),
        ({"file": ("m.csv", METAPSY.encode()), "map": (None, '{"Some Unknown Scale": 3}')}, "map"),
        ({"file": ("m.csv", METAPSY.encode()), "map": (None, "{not json")}, "map"),
        ({"file": ("m.csv", METAPSY.encode()), "extra": (None, "x")}, "extra"),
        ({"file": ("m.csv", b"study\n\xff\n")}, "file"),
    ],
    ids=["no-file", "map-a-list", "map-a-number", "map-not-json", "unknown-part", "not-utf8"],
)
def test_a_multipart_import_names_the_part_that_is_wrong(
    client: TestClient, actors: Actors, files: dict[str, Any], field: str
) -> None:
    response = _multipart(client, actors.curator, files)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert field in response.json()["detail"]
    assert newest_version(client) == 0


def test_the_spec_says_a_multipart_import_takes_no_other_part(client: TestClient) -> None:
    """A generated request with an extra part would be refused (above): the spec says so."""
    body = client.get("/openapi.json").json()["paths"]["/v1/imports"]["post"]["requestBody"]
    schema = body["content"]["multipart/form-data"]["schema"]
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == {"file", "map"}
