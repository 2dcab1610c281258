"""Every process gets each stop signal once: an app may take a second SIGTERM mid-drain as
"quit now" (Go's signal.NotifyContext restores the default action after the first)."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

import psutil
import pytest

from helpers import Running, reporter, sleep_until, until_ready_sh


def _job(tmp_path: Path) -> tuple[str, list[Path]]:
    """A shell whose group holds one reporter, with a second reporter in its own session. Both
    outlive every SIGTERM, so a second one would be seen, and leave on the test's SIGRTMIN."""
    files = [tmp_path / "in-group", tmp_path / "setsid"]
    in_group = " ".join(reporter("--exit-on", "RTMIN", "--write-file", str(files[0])))
    detached = " ".join(reporter("--exit-on", "RTMIN", "--write-file", str(files[1])))
    waits = "; ".join(until_ready_sh(f) for f in files)
    return f"{in_group} & setsid {detached} & {waits}; echo job-ready; ", files


def _end_the_leftovers(run: Running, files: list[Path]) -> None:
    """Once pyinit says it sent the leftovers' SIGTERM and each reporter has reported one, end
    each with SIGRTMIN: a second SIGTERM would be pending by then and is delivered first (it is
    numbered lower), so the count is final. No deadline decides whether a reporter had the time
    to report (a SIGRTMIN handled in the middle of the SIGTERM's handler would exit first)."""
    run.expect("pyinit: info: sent SIGTERM to")
    sleep_until(lambda: all(_terms(path) for path in files))
    for path in files:
        _, pid, _ = path.read_text().splitlines()[0].split()
        os.kill(_host_pid(run, int(pid)), signal.SIGRTMIN)


def _host_pid(run: Running, pid: int) -> int:
    """The test's pid for the process that calls itself `pid` (in pyinit's PID namespace)."""
    if not run.pidns:
        return pid
    for process in psutil.Process(run.pyinit_pid).children(recursive=True):
        with contextlib.suppress(OSError):
            status = Path(f"/proc/{process.pid}/status").read_text()
            nspid = next(line for line in status.splitlines() if line.startswith("NSpid:"))
            if nspid.split()[-1] == str(pid):
                return process.pid
    raise AssertionError(f"no process {pid} in pyinit's namespace")


def _terms(path: Path) -> int:
    return sum(line.startswith("got SIGTERM") for line in path.read_text().splitlines())


@pytest.mark.parametrize(
    "pidns",
    [
        pytest.param(False, marks=pytest.mark.integration),
        pytest.param(True, marks=pytest.mark.pidns),
    ],
    ids=["wrapper", "pid1"],
)
def test_leftovers_get_one_sigterm_when_the_main_child_exits(tmp_path: Path, pidns: bool) -> None:
    """Main child exits on its own: group members and setsid daemons get exactly one SIGTERM."""
    job, files = _job(tmp_path)
    args = ["-v", "--grace-period", "5", "--", "sh", "-c", job + "exit 3"]
    with Running(args, pidns=pidns, merge_stderr=True) as run:
        _end_the_leftovers(run, files)
        assert run.wait() == 3
    assert [_terms(f) for f in files] == [1, 1]


@pytest.mark.parametrize(
    "pidns",
    [
        pytest.param(False, marks=pytest.mark.integration),
        pytest.param(True, marks=pytest.mark.pidns),
    ],
    ids=["wrapper", "pid1"],
)
def test_stop_signal_is_not_repeated_when_the_main_child_dies_of_it(
    tmp_path: Path, pidns: bool
) -> None:
    """SIGTERM kills the shell; its group already got that SIGTERM and must not get another,
    while the setsid daemon, which got nothing, gets one."""
    job, files = _job(tmp_path)
    args = ["-v", "--grace-period", "5", "--", "sh", "-c", job + "wait"]
    with Running(args, pidns=pidns, merge_stderr=True) as run:
        run.expect("job-ready")
        run.send(signal.SIGTERM)
        _end_the_leftovers(run, files)
        assert run.wait() == 143
    assert [_terms(f) for f in files] == [1, 1]
