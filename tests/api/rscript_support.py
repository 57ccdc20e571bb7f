"""Running an exported R script: its ``name = value`` lines as numbers."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest


def run_r(script: str, tmp_path: Path) -> dict[str, float]:
    """Run ``script`` with Rscript (required: a missing R fails, never skips)."""
    rscript = shutil.which("Rscript")
    if rscript is None:
        pytest.fail("Rscript is required (Debian r-base-core and r-cran-metafor; make system-deps)")
    path = tmp_path / "pooled.R"
    path.write_text(script, encoding="utf-8")
    run = subprocess.run(
        [rscript, str(path)], capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0, run.stderr
    return {
        name: float(value)
        for name, value in re.findall(r"^(\w+) = (\S+)$", run.stdout, flags=re.MULTILINE)
    }
