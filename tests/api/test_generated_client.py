"""A Python client generated from the spec with openapi-python-client, and used (both
databases): one type per enum and no ``Type0`` names; a public read with an unauthenticated
client; a plot download and a CSV import through it.

Before: 216 models, an enum type per use (``GetPooledEstimator``, ``GetForestSvgEstimator``),
``...Type0`` names, public reads typed as needing an authenticated client, and no operations
for plots and imports (their media types were not described)."""

from __future__ import annotations

import ast
import importlib
import io
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Auth, MakeKey
from tests.api.pooled_support import add_batch, trial
from tests.api.studies_support import Actors
from tests.api.test_exchange_import import CSV
from tests.support.spec import SPEC

pytestmark = [pytest.mark.db, pytest.mark.dialect_free]
CONFIG = Path(__file__).resolve().parents[1] / "support" / "client-config.yml"
PACKAGE = "lma_generated_client"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The client generated from the committed document, as a user would generate it
    (tests/test_openapi.py holds it equal to the app's; building it anew costs 1-2 s)."""
    folder = tmp_path_factory.mktemp("client")
    command = [
        str(Path(sys.executable).with_name("openapi-python-client")),
        "generate", "--path", str(SPEC), "--meta", "none", "--config", str(CONFIG),
        "--output-path", str(folder / PACKAGE),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "WARNING" not in done.stdout, done.stdout
    sys.path.insert(0, str(folder))
    try:
        yield folder / PACKAGE
    finally:
        sys.path.remove(str(folder))


def _module(name: str) -> ModuleType:
    return importlib.import_module(f"{PACKAGE}.{name}")


def _enum_classes(package: Path) -> dict[str, tuple[str, ...]]:
    """Each generated Enum class and its values."""
    enums = {}
    for path in (package / "models").glob("*.py"):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ClassDef) and any(
                isinstance(base, ast.Name) and base.id.endswith("Enum") for base in node.bases
            ):
                values = [
                    ast.literal_eval(item.value)
                    for item in node.body
                    if isinstance(item, ast.Assign) and isinstance(item.value, ast.Constant)
                ]
                enums[node.name] = tuple(sorted(map(str, values)))
    return enums


def test_one_type_per_enum_and_no_type0_names(generated: Path) -> None:
    enums = _enum_classes(generated)
    assert "EstimatorName" in enums
    by_values: dict[tuple[str, ...], list[str]] = {}
    for name, values in enums.items():
        by_values.setdefault(values, []).append(name)
    assert [names for names in by_values.values() if len(names) > 1] == []
    public = (generated / "api" / "pooled" / "get_pooled.py").read_text()
    assert "client: AuthenticatedClient | Client," in public  # no key needed
    imports = (generated / "api" / "imports" / "create_import.py").read_text()
    assert "client: AuthenticatedClient," in imports  # the curate scope
    models = [path.stem for path in (generated / "models").glob("*.py")]
    assert [m for m in models if "type_0" in m or "type0" in m] == []
    # 216 before issue 25 (153 after it, at 60 operations); RoB 2, surveillance and dependent
    # effects added about 50 models of their own since, and the vocabulary's five named
    # enums (OutcomeSlug...) five more. A relapse to inlined enums adds ~60.
    assert len(models) < 220
    assert (generated / "api" / "analyses" / "analyse.py").exists()  # see AnalysisRequest


@pytest.mark.slow  # 4-5 s: generates a client and runs it
def test_the_client_reads_plots_and_imports(
    generated: Path, client: TestClient, make_key: MakeKey, auth: Auth
) -> None:
    actors = Actors(make_key, auth)
    add_batch(client, actors.trusted, [trial(s, n=40) for s in (0.5, 0.3, 0.4, 0.1)])
    api = _module("client")
    models = _module("models")
    anonymous = api.Client(base_url="http://testserver").set_httpx_client(client)

    pooled = _module("api.pooled.get_pooled").sync(
        "empowerment", client=anonymous, estimator=models.EstimatorName.DL
    )
    assert isinstance(pooled, models.PooledRead), pooled
    assert pooled.result.k == 4

    svg = _module("api.plots.get_forest_svg").sync_detailed("empowerment", client=anonymous)
    assert svg.status_code == 200
    assert svg.content.lstrip().startswith((b"<?xml", b"<svg"))

    curator = make_key(["curate"])
    keyed = api.AuthenticatedClient(base_url="http://testserver", token=curator)
    keyed.set_httpx_client(client)
    keyed.get_httpx_client().headers["Authorization"] = f"Bearer {curator}"
    upload = _module("types").File(payload=io.BytesIO(CSV.encode()), file_name="trials.csv")
    report = _module("api.imports.create_import").sync(
        client=keyed, body=upload, format_=models.ImportFormatName.CSV, dry_run=True
    )
    assert isinstance(report, models.ImportReportRead), report
    assert (report.rows, report.studies) == (3, 2)
