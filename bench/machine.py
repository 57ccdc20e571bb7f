"""What the figures were measured on: cores, memory, CPU, Python and library versions, load."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path


def _meminfo_gib() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024**2:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def r_version() -> str:
    """``R 4.2.2, metafor 3.8.1``, or why metafor figures are missing."""
    if shutil.which("Rscript") is None:
        return "not installed (metafor figures skipped)"
    script = 'cat(R.version$major, R.version$minor, as.character(packageVersion("metafor")))'
    try:
        out = subprocess.run(
            ["Rscript", "-e", script], capture_output=True, text=True, timeout=60, check=True
        ).stdout.split()
    except (subprocess.SubprocessError, OSError):
        return "R installed, metafor missing (metafor figures skipped)"
    return f"R {out[0]}.{out[1]}, metafor {out[2]}"


def code_version() -> str:
    """The commit measured, and whether the working tree differed from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "service", "migrations"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (subprocess.SubprocessError, OSError):
        return "unknown (not a git checkout)"
    return f"{head} + uncommitted changes in service/" if dirty else head


def describe() -> list[tuple[str, str]]:
    """Rows of (what, value) for the report's header."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return [
        ("date", datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")),
        ("code", code_version()),
        ("cores", str(os.cpu_count())),
        ("memory", _meminfo_gib()),
        ("cpu", _cpu_model()),
        ("os", platform.platform()),
        ("python", platform.python_version()),
        ("numpy / scipy", f"{version('numpy')} / {version('scipy')}"),
        ("statsmodels / PyMARE", f"{version('statsmodels')} / {version('pymare')}"),
        ("R", r_version()),
        ("load average at start", " ".join(f"{x:.2f}" for x in load)),
    ]
