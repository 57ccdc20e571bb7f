"""SIGTERM during a long analysis: the process exits within the graceful-shutdown bound.

The issue's probe found a process that SIGTERM could not stop while an O(k^2) analysis ran.
Here a real uvicorn process, started with ``--timeout-graceful-shutdown`` as ``make run`` and the
Docker image start it, computes an analysis that would run far longer than that bound (its own
deadline and cost ceiling raised out of the way), and is sent SIGTERM while the analysis runs. It
must exit within the bound plus a small allowance for the interpreter's own shutdown; the client
gets no answer.

The server here gets a bound of :data:`BOUND_SECONDS`, not the documented
``GRACEFUL_SHUTDOWN_SECONDS`` (10 s): what is tested is that uvicorn's bound stops a process
busy with an analysis, whatever the number, and every second of the bound is a second of a core
spent on the analysis (issue 24). That the Makefile and the Dockerfile pass the flag, with the
same documented number, is checked from the files.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from service.db.migrate import PROJECT_ROOT
from tests.reliability.servers import Server, fresh_database, migrated_with_keys

pytestmark = pytest.mark.slow

# The bound this server gets (see the module's docstring).
BOUND_SECONDS = 2.0
# Time for the interpreter to exit once uvicorn has given up on the in-flight request.
EXIT_ALLOWANCE_SECONDS = 5.0
# CPU that the server's threads other than its main one (the event loop's) must have spent on
# the request before the SIGTERM: an idle server's background threads spend a few milliseconds.
RUNNING_CPU_SECONDS = 0.5
# A deadline, not a wait: the request body is parsed and validated first (a second or two).
RUNNING_TIMEOUT = 60.0
# Far over the graceful bound at 0.3-2 us per study-fit: 3 sections x 20,000^2 study-fits.
STUDIES = 20_000
SECTIONS = ["leave_one_out", "influence", "cumulative"]


def documented_graceful_seconds() -> float:
    """``GRACEFUL_SHUTDOWN_SECONDS`` as the Makefile sets it and passes to ``make run``'s
    uvicorn, checked against the Dockerfile."""
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    [seconds] = re.findall(r"^GRACEFUL_SHUTDOWN_SECONDS \?= (\d+)$", makefile, re.MULTILINE)
    assert "--timeout-graceful-shutdown $(GRACEFUL_SHUTDOWN_SECONDS)" in makefile
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    assert f"--timeout-graceful-shutdown ${{GRACEFUL_SHUTDOWN_SECONDS:-{seconds}}}" in dockerfile
    return float(seconds)


def long_analysis() -> dict[str, object]:
    effects = [
        {"label": f"s{i}", "yi": 0.1 + 0.5 * ((i * 7919) % 101) / 101, "vi": 0.02 + (i % 13) / 200}
        for i in range(STUDIES)
    ]
    return {"effects": effects, "sections": SECTIONS}


def off_loop_cpu_seconds(pid: int) -> float:
    """CPU seconds spent so far by the threads of process ``pid`` other than its main thread
    (Linux: ``/proc/PID/task/TID/stat``, utime and stime). The analysis runs in uvicorn's thread
    pool, off the event loop's main thread; body parsing and validation run on the main thread."""
    ticks = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        if task.name == str(pid):
            continue
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread has ended
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def wait_until_the_analysis_runs(pid: int, before: float, outcome: list[object]) -> None:
    """Return once the threads off the main one have spent :data:`RUNNING_CPU_SECONDS` more
    than ``before``, the request still unanswered."""
    deadline = time.monotonic() + RUNNING_TIMEOUT
    while off_loop_cpu_seconds(pid) - before < RUNNING_CPU_SECONDS:
        assert not outcome, f"the analysis was not long-running: {outcome}"
        assert time.monotonic() < deadline, "the analysis never ran in the thread pool"
        time.sleep(0.05)


def post_and_record(base_url: str, outcome: list[object]) -> None:
    try:
        outcome.append(httpx.post(f"{base_url}/v1/analyses", json=long_analysis(), timeout=120))
    except httpx.TransportError as exc:
        outcome.append(exc)


def test_sigterm_during_a_long_analysis_exits_within_the_graceful_bound(tmp_path: Path) -> None:
    documented_graceful_seconds()
    graceful = BOUND_SECONDS
    with fresh_database("sqlite", tmp_path) as url:
        migrated_with_keys(url, {})
        server = Server(
            url,
            tmp_path / "server.log",
            options=("--timeout-graceful-shutdown", f"{graceful:g}"),
            environment={
                "ANALYSIS_DEADLINE_SECONDS": "600",
                "MAX_ANALYSIS_COST_ANONYMOUS": str(10 * STUDIES**2),
            },
        )
        try:
            server.wait_until_ready()
            outcome: list[object] = []
            idle = off_loop_cpu_seconds(server.process.pid)
            client = threading.Thread(target=post_and_record, args=(server.base_url, outcome))
            client.start()
            wait_until_the_analysis_runs(server.process.pid, idle, outcome)
            assert not outcome, f"the analysis was not long-running: {outcome}"
            os.killpg(server.process.pid, signal.SIGTERM)
            signalled = time.monotonic()
            try:
                server.process.wait(graceful + EXIT_ALLOWANCE_SECONDS)
            except subprocess.TimeoutExpired:
                pytest.fail(f"still running {graceful + EXIT_ALLOWANCE_SECONDS:g} s after SIGTERM")
            elapsed = time.monotonic() - signalled
            client.join(30)
            assert outcome, "the client thread never finished"
            assert not isinstance(outcome[0], httpx.Response), outcome
            assert elapsed <= graceful + EXIT_ALLOWANCE_SECONDS
        finally:
            server.stop()
            if server.process.returncode is None:
                print(server.log.read_text())
