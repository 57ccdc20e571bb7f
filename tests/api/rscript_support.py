"""Running an exported R script in R with metafor: its ``name = value`` lines as numbers.

Each test process keeps one R session for the scripts its tests export (issue 24). Starting
``Rscript`` and loading metafor (with Matrix and metadat) costs ~1.1 s of CPU on this 2-core
machine, paid ~18 times a run when each script had an ``Rscript`` of its own; the session pays
it once per process. It reads a script's path from its standard input and runs the script as
``Rscript`` would, with ``source``: in an environment of its own (one script's variables never
reach the next) and with R's options put back afterwards; the packages a script loads stay
loaded, as they do in a user's own session. After each script it prints a marker line with
``ok`` or the error. A script that raises fails its test with R's message and the session's
recent stderr; one that takes longer than the timeout fails its test and the session is
replaced. R is required: a missing ``Rscript`` fails, never skips.
"""

from __future__ import annotations

import atexit
import os
import re
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

TIMEOUT_SECONDS = 120
_MARKER = "<<lma-script-done>>"
_MARKER_LINE = f"\n{_MARKER} ".encode()
_SERVE = f"""\
input <- file("stdin", open = "r")
repeat {{
  path <- readLines(input, n = 1L)
  if (length(path) == 0L) break
  saved <- options()
  status <- tryCatch({{
    source(path, local = new.env(parent = globalenv()), encoding = "UTF-8")
    "ok"
  }}, error = function(e) paste("error:", gsub("\\n", " ", conditionMessage(e))))
  options(saved)
  cat("\\n{_MARKER} ", status, "\\n", sep = "")
  flush(stdout())
}}
"""


class _RSession:
    """One ``Rscript`` process serving scripts read from its standard input, one at a time."""

    def __init__(self, rscript: str) -> None:
        self._directory = Path(tempfile.mkdtemp(prefix="lma-r-session-"))
        serve = self._directory / "serve.R"
        serve.write_text(_SERVE, encoding="utf-8")
        self.stderr_path = self._directory / "stderr.txt"
        with self.stderr_path.open("wb") as stderr:
            self._process = subprocess.Popen(
                [rscript, str(serve)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
            )

    def run(self, path: Path) -> tuple[str, str]:
        """The script's standard output and its status (``ok`` or ``error: ...``)."""
        assert self._process.stdin is not None
        self._process.stdin.write(f"{path}\n".encode())
        self._process.stdin.flush()
        return self._read_until_marker(time.monotonic() + TIMEOUT_SECONDS)

    def _read_until_marker(self, deadline: float) -> tuple[str, str]:
        # The pipe is read unbuffered (os.read), so that select() sees every byte not yet read.
        assert self._process.stdout is not None
        descriptor, received, marker = self._process.stdout.fileno(), b"", _MARKER_LINE
        while (end := received.find(marker)) < 0 or not received.endswith(b"\n", end + 1):
            ready, _, _ = select.select([descriptor], [], [], max(deadline - time.monotonic(), 0))
            if not ready:
                raise TimeoutError(f"the R script ran longer than {TIMEOUT_SECONDS} s")
            chunk = os.read(descriptor, 65536)
            if not chunk:
                raise RuntimeError(f"R exited (status {self._process.wait()})")
            received += chunk
        printed, status = received[:end], received[end + len(marker) :]
        return printed.decode("utf-8", "replace"), status.decode("utf-8", "replace").strip()

    def stderr_tail(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")[-4000:]

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        shutil.rmtree(self._directory, ignore_errors=True)


_session: _RSession | None = None


def _current_session() -> _RSession:
    """This process's R session, started at its first script."""
    global _session
    if _session is None:
        rscript = shutil.which("Rscript")
        if rscript is None:
            pytest.fail(
                "Rscript is required (Debian r-base-core and r-cran-metafor; make system-deps)"
            )
        _session = _RSession(rscript)
        atexit.register(_session.close)
    return _session


def run_r(script: str, tmp_path: Path) -> dict[str, float]:
    """Run ``script`` in R (this process's session); the ``name = value`` lines it prints."""
    global _session
    path = tmp_path / "pooled.R"
    path.write_text(script, encoding="utf-8")
    session = _current_session()
    try:
        printed, status = session.run(path)
    except (TimeoutError, RuntimeError) as exc:
        stderr = session.stderr_tail()
        session.close()
        _session = None  # the next script starts a new session
        pytest.fail(f"{exc}; R's stderr:\n{stderr}")
    assert status == "ok", f"{status}\nR's stderr:\n{session.stderr_tail()}\n{printed}"
    return {
        name: float(value)
        for name, value in re.findall(r"^(\w+) = (\S+)$", printed, flags=re.MULTILINE)
    }
