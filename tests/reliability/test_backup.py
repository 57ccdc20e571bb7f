"""``lma export`` and ``lma import``: a lossless round trip, on SQLite and PostgreSQL.

A history of creations, a batch, curation, an update and a withdrawal is written through the
API into a real database, exported, and imported into a fresh one (of the same backend, and of
the other). The restored database holds the same rows, answers every ``as_of`` query the same
(studies, versions, pooled results and their ETags),
exports the same document again, and goes on numbering versions and ids where the original
stopped. An import refuses a database holding evidence, an old schema, a damaged or foreign
file, and vocabulary it does not know, and then writes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.cli import main
from service.db.engine import Database
from service.db.models import EvidenceVersion
from service.db.repositories.backup import BackupRepository
from service.main import create_app
from service.schemas.studies import StudyCreate
from service.settings import Settings, get_settings
from service.usecases.operations.backup import export_evidence
from service.usecases.studies.evidence import WriteContext
from service.usecases.studies.service import create_study
from tests.api.studies_support import committed_key, committed_settings
from tests.factories import cluster_peer_service_trial, one_to_one_stigma_trial, peer_group_trial
from tests.reliability.support import evidence_answers, pooled_answers, table_rows

# One worker runs the whole module (make test's --dist loadgroup): the module-scoped history is
# written through the API once per backend (seconds each), not once on each worker, and again
# each time a worker comes back to the module after another one (issue 24).
pytestmark = [pytest.mark.db, pytest.mark.slow, pytest.mark.xdist_group("backup")]

OTHER = {"sqlite": "postgresql", "postgresql": "sqlite"}


@pytest.fixture
def databases() -> Iterator[ExitStack]:
    with ExitStack() as stack:
        yield stack


@dataclass(frozen=True)
class History:
    """A database holding :func:`_write_history`'s evidence, and its export."""

    settings: Settings
    client: TestClient
    backup: Path

    @cached_property
    def answers(self) -> dict[str, Any]:
        """What the source database answers and holds, as :func:`_answers` reads it: read once,
        since no test changes its evidence (the refused import checks that it writes nothing)."""
        return _answers(self.client, self.settings)


@pytest.fixture(scope="module")
def history(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[History]:
    folder = tmp_path_factory.mktemp(f"history-{backend}")
    with ExitStack() as stack, pytest.MonkeyPatch.context() as monkeypatch:
        settings = _database(stack, backend, folder, "source")
        client = _client(stack, settings)
        _write_history(client, settings)
        backup = folder / "evidence.json"
        monkeypatch.setenv("DATABASE_URL", settings.database_url)
        get_settings.cache_clear()
        try:
            assert main(["export", str(backup)]) == 0
        finally:
            get_settings.cache_clear()
        yield History(settings, client, backup)


def _database(stack: ExitStack, backend: str, tmp_path: Path, name: str) -> Settings:
    folder = tmp_path / name
    folder.mkdir()
    return stack.enter_context(committed_settings(backend, folder))


def _client(stack: ExitStack, settings: Settings) -> TestClient:
    return stack.enter_context(TestClient(create_app(settings), raise_server_exceptions=False))


def _lma(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], url: str, *argv: str
) -> tuple[int, str, str]:
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        code = main(list(argv))
    finally:
        get_settings.cache_clear()
    out, err = capsys.readouterr()
    return code, out, err


def _ok(response: Any, status: int = 201) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def _write_history(client: TestClient, settings: Settings) -> None:
    """Fourteen versions: creations by a trusted and an untrusted key, two batches, curation,
    an update with new results, a withdrawal, a certainty judgement, a second extraction and
    the resolution of its discrepancy."""
    keys = {
        name: {"Authorization": f"Bearer {committed_key(settings, scopes, name=name)}"}
        for name, scopes in (("trusted-bot", ["submit"]), ("volunteer", ["submit"]))
    }
    keys["curator"] = {
        "Authorization": f"Bearer {committed_key(settings, ['submit', 'curate'], name='curator')}"
    }
    post = client.post
    ids = [
        _ok(post("/v1/studies", json=body, headers=keys["curator"]))["study"]["id"]
        for body in (peer_group_trial(), one_to_one_stigma_trial(), cluster_peer_service_trial())
    ]
    pending = [
        _ok(post("/v1/studies", json=peer_group_trial(year=2012 + i), headers=keys["volunteer"]))
        for i in range(2)
    ]
    batch = [one_to_one_stigma_trial(title=f"Batch trial {i}") for i in range(5)]
    _ok(post("/v1/studies/batch", json={"studies": batch}, headers=keys["curator"]))
    first, second = (p["study"]["id"] for p in pending)
    _ok(post(f"/v1/studies/{first}/include", headers=keys["curator"]), 200)
    exclusion = {"reason": "Not randomized after all"}
    _ok(post(f"/v1/studies/{second}/exclude", json=exclusion, headers=keys["curator"]), 200)
    etag = client.get(f"/v1/studies/{ids[0]}").headers["etag"]
    change = {"title": "Peer-led recovery groups: final report", "year": 2017}
    headers = {**keys["curator"], "If-Match": etag, "Idempotency-Key": "patch-1"}
    _ok(client.patch(f"/v1/studies/{ids[0]}", json=change, headers=headers), 200)
    withdrawal = {"reason": "Retracted by the journal"}
    _ok(post(f"/v1/studies/{ids[1]}/withdraw", json=withdrawal, headers=keys["curator"]), 200)
    batch = [cluster_peer_service_trial(title=f"Late batch {i}") for i in range(3)]
    _ok(post("/v1/studies/batch", json={"studies": batch}, headers=keys["volunteer"]))
    judgement = {"domain": "indirectness", "downgrade": 1, "reason": "Inpatients only"}
    _ok(
        post("/v1/outcomes/internalized-stigma/judgements", json=judgement, headers=keys["curator"])
    )
    second = cluster_peer_service_trial()  # a second extraction that differs in one number
    second["total_randomized"] += 2
    stored = client.get(f"/v1/studies/{ids[2]}").json()
    second.update(doi=stored["doi"], registration_id=stored["registration_id"])
    extraction = _ok(post(f"/v1/studies/{ids[2]}/extractions", json=second,
                          headers=keys["volunteer"]))  # fmt: skip
    [discrepancy] = extraction["discrepancies"]
    resolution = {"choice": "first", "reason": "the CONSORT diagram"}
    url = f"/v1/studies/{ids[2]}/discrepancies/{discrepancy['id']}/resolve"
    _ok(post(url, json=resolution, headers=keys["curator"]), 200)
    # Issue 28: a bot's search run and the screening of what it found survive a restore.
    run = _ok(post("/v1/search-runs", json={"source": "ctgov", "query": "peer support"},
                   headers=keys["trusted-bot"]))  # fmt: skip
    found = {"nct_id": "NCT09000001", "title": "Peer mentors and empowerment", "year": 2025}
    posted = _ok(post(f"/v1/search-runs/{run['id']}/candidates", json={"candidates": [found]},
                      headers=keys["trusted-bot"]), 200)  # fmt: skip
    _ok(post(f"/v1/search-runs/{run['id']}/finish", json={"status": "succeeded"},
             headers=keys["trusted-bot"]), 200)  # fmt: skip
    candidate = posted["candidates"][0]["candidate_id"]
    screening = {"decision": "exclude", "reason": "not-randomized"}
    _ok(post(f"/v1/candidates/{candidate}/screening", json=screening, headers=keys["curator"]), 200)


def _answers(client: TestClient, settings: Settings) -> dict[str, Any]:
    """What a database answers through the API about every version (the read API's and the
    pooled results with their ETags), and every row of its evidence tables."""
    database = Database.from_settings(settings)
    try:
        rows = table_rows(database)
    finally:
        database.dispose()
    every_version = range(15)
    return {
        "evidence": evidence_answers(client.get),
        "pooled": pooled_answers(client.get, every_version),
        "rows": rows,
    }


def _audit(client: TestClient, settings: Settings, key_name: str) -> list[Any]:
    admin = {"Authorization": f"Bearer {committed_key(settings, ['admin'], name=key_name)}"}
    return _ok(client.get("/v1/audit", params={"limit": 200}, headers=admin), 200)["items"]


def _without_time_and_keys(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k not in ("exported_at", "api_keys")}


@pytest.mark.parametrize("target", ["same", "other"])
def test_export_then_import_is_lossless(
    backend: str,
    target: str,
    history: History,
    databases: ExitStack,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    restored = _database(
        databases, backend if target == "same" else OTHER[backend], tmp_path, "restored"
    )

    code, out, err = _lma(monkeypatch, capsys, restored.database_url, "import", str(history.backup))
    assert code == 0, err
    assert "imported 13 studies (17 revisions), 14 versions and 20 audit entries" in out
    assert "3 API key(s) listed in the backup were not restored" in out

    copy = _client(databases, restored)
    answers = _answers(copy, restored)
    assert answers["evidence"] == history.answers["evidence"]
    assert answers["pooled"] == history.answers["pooled"]
    assert answers["rows"] == history.answers["rows"]
    assert _audit(copy, restored, "auditor") == _audit(
        history.client, history.settings, f"auditor-{target}"
    )
    again = tmp_path / "again.json"
    code, out, _ = _lma(monkeypatch, capsys, restored.database_url, "export", str(again))
    assert code == 0
    assert out.startswith("exported 13 studies (17 revisions), 14 versions and 20 audit entries")
    first, second = (json.loads(path.read_text()) for path in (history.backup, again))
    assert _without_time_and_keys(second) == _without_time_and_keys(first)


def test_the_restored_database_goes_on_where_the_original_stopped(
    backend: str,
    history: History,
    databases: ExitStack,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    restored = _database(databases, backend, tmp_path, "copy")
    assert _lma(monkeypatch, capsys, restored.database_url, "import", str(history.backup))[0] == 0

    key = committed_key(restored, ["submit", "curate"], name="curator")
    response = _client(databases, restored).post(
        "/v1/studies", json=peer_group_trial(), headers={"Authorization": f"Bearer {key}"}
    )
    created = _ok(response)
    # Ids and versions continue after the restored ones (PostgreSQL's sequences moved on).
    assert created["evidence_version"] == 15
    # (PostgreSQL's ids may have gaps: previews of pending writes take sequence values.)
    studies = json.loads(history.backup.read_text())["studies"]
    assert created["study"]["id"] == max(study["id"] for study in studies) + 1


def test_import_refuses_a_database_that_holds_evidence(
    history: History, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    database = Database.from_settings(history.settings)
    try:
        before = table_rows(database)
        url = history.settings.database_url
        code, _, err = _lma(monkeypatch, capsys, url, "import", str(history.backup))
        assert code == 1
        assert "already holds evidence" in err
        assert table_rows(database) == before
    finally:
        database.dispose()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: d.update(format="something-else"), "is not an lma backup"),
        (lambda d: d["versions"].pop(3), "versions are not 1..14 in order"),
        (
            lambda d: d["studies"][0]["revisions"][0].update(design_slug="crossover"),
            "vocabulary this database does not have: design 'crossover'",
        ),
        (lambda d: d["audit_entries"][-1].update(version_number=99), "backup is inconsistent"),
        (lambda d: d["studies"][2].update(surprise=1), "Extra inputs are not permitted"),
    ],
    ids=["format", "gap", "vocabulary", "dangling-reference", "unknown-field"],
)
def test_import_refuses_a_damaged_backup_and_writes_nothing(
    backend: str,
    damage: Any,
    message: str,
    history: History,
    databases: ExitStack,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    document = json.loads(history.backup.read_text())
    damage(document)
    path = tmp_path / "damaged.json"
    path.write_text(json.dumps(document))
    target = _database(databases, backend, tmp_path, "target")

    code, _, err = _lma(monkeypatch, capsys, target.database_url, "import", str(path))

    assert code == 1
    assert message in err
    database = Database.from_settings(target)
    try:
        assert all(
            rows == [] for name, rows in table_rows(database).items() if name != "evidence_head"
        )
        assert table_rows(database)["evidence_head"] == [{"id": 1, "version": 0}]
    finally:
        database.dispose()


def test_import_refuses_an_unmigrated_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "evidence.json"
    path.write_text("{}")
    url = f"sqlite:///{tmp_path / 'blank.sqlite3'}"
    code, _, err = _lma(monkeypatch, capsys, url, "import", str(path))
    assert code == 1
    assert "is not an lma backup" in err
    empty = {
        "schema_revision": None,
        "exported_at": "2026-01-01T00:00:00Z",
        "head_version": 0,
        "versions": [],
        "studies": [],
        "audit_entries": [],
        "api_keys": [],
    }
    path.write_text(json.dumps(empty))
    code, _, err = _lma(monkeypatch, capsys, url, "import", str(path))
    assert code == 1
    assert "run lma db upgrade first" in err


def test_an_export_reads_one_snapshot_while_writers_commit(
    backend: str, databases: ExitStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write that commits halfway through an export does not tear it: the export holds the
    evidence as of one version, without the new study (PostgreSQL: REPEATABLE READ)."""
    settings = _database(databases, backend, tmp_path, "busy")
    database = Database.from_settings(settings)
    databases.callback(database.dispose)
    curator = WriteContext(actor="curator", request_id=None, may_curate=True, trusted=True)

    def write() -> None:
        with database.session(write=True) as session:
            create_study(session, StudyCreate.model_validate(peer_group_trial()), curator)

    write()
    read_versions = BackupRepository.versions

    def versions_then_a_write(repository: BackupRepository) -> Sequence[EvidenceVersion]:
        versions = read_versions(repository)
        write()  # commits in another transaction while the export is between two reads
        return versions

    monkeypatch.setattr(BackupRepository, "versions", versions_then_a_write)
    with database.session() as session:
        backup = export_evidence(session, schema_revision=None)

    assert backup.head_version == 1
    assert [study.id for study in backup.studies] == [1]
    assert [entry.version_number for entry in backup.audit_entries] == [1]
    with database.session() as session:
        assert len(export_evidence(session, schema_revision=None).studies) == 2
