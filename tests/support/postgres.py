"""Print the URL of a reachable PostgreSQL server for the tests, or fail loudly.

In order: ``TEST_DATABASE_URL`` when set; the local server on 127.0.0.1:5432 (started with
``pg_ctlcluster`` when it is installed but down); otherwise a throwaway server from the
``pgserver`` wheel (PostgreSQL binaries on PyPI), kept under ``var/pgserver``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

LOCAL_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PGSERVER_DIR = Path("var") / "pgserver"


def reachable(url: str, *, attempts: int = 1) -> bool:
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    for attempt in range(attempts):
        try:
            with psycopg.connect(dsn, connect_timeout=3):
                return True
        except psycopg.OperationalError:
            if attempt + 1 < attempts:
                time.sleep(1)
    return False


def start_local_cluster() -> bool:
    clusters = Path("/etc/postgresql")
    if shutil.which("pg_ctlcluster") is None or not clusters.is_dir():
        return False
    for version in sorted(p.name for p in clusters.iterdir()):
        command = ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"]
        subprocess.run(command, check=False, capture_output=True)
    return reachable(LOCAL_URL, attempts=15)


def start_pgserver() -> str:
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "pgserver"],
        check=True,
    )
    import pgserver  # type: ignore[import-not-found]

    PGSERVER_DIR.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(str(PGSERVER_DIR.resolve()), cleanup_mode=None)
    uri: str = server.get_uri()
    return uri.replace("postgresql://", "postgresql+psycopg://", 1)


def main() -> int:
    explicit = os.environ.get("TEST_DATABASE_URL")
    if explicit:
        if reachable(explicit, attempts=10):
            print(explicit)
            return 0
        print(f"TEST_DATABASE_URL={explicit} is not reachable", file=sys.stderr)
        return 1
    if reachable(LOCAL_URL) or start_local_cluster():
        print(LOCAL_URL)
        return 0
    print("no local PostgreSQL: starting a throwaway server from pgserver", file=sys.stderr)
    print(start_pgserver())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
