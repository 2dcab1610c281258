"""Part 3: process storms, each in a pids cgroup of its own that bounds the forks and lists every
process of the job (also those that left pyinit's session or process tree). Each runs with pyinit
as a wrapper (a child subreaper, finding strays with psutil) and as PID 1 of a new PID namespace
(kill(-1) reaches them)."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator

import psutil
import pytest
from robustlib import PidsCgroup, drain_stderr, memory_kib, pids_cgroup_available, robust_program

from helpers import Running, sleep_until

pytestmark = [
    pytest.mark.robustness,
    pytest.mark.integration,
    pytest.mark.skipif(pids_cgroup_available() is not None, reason=str(pids_cgroup_available())),
]
BOTH = pytest.mark.parametrize(
    "pidns",
    [pytest.param(False, id="wrapper"), pytest.param(True, id="pid1", marks=pytest.mark.pidns)],
)


@pytest.fixture
def job(request: pytest.FixtureRequest) -> Iterator[PidsCgroup]:
    cgroup = PidsCgroup(request.node.name.replace("[", "-").rstrip("]"), limit=300)
    yield cgroup
    cgroup.remove()


def start(job: PidsCgroup, args: list[str], pidns: bool) -> Running:
    return Running(args, pidns=pidns, preexec_fn=job.join)


def _only_child(pid: int) -> int | None:
    """pyinit's one child, once every other is gone (a zombie counts until it is reaped)."""
    children = psutil.Process(pid).children()
    return children[0].pid if len(children) == 1 else None


@BOTH
def test_thousands_of_short_lived_processes_and_orphans_are_all_reaped(
    job: PidsCgroup, pidns: bool
) -> None:
    churn = 3000
    args = ["-vv", "--", *robust_program("forker.py", "churn", str(churn))]
    with start(job, args, pidns) as run:
        stderr = drain_stderr(run.proc)  # one debug line per orphan: more than a pipe holds
        run.expect(f"done {churn}", timeout=60)
        pid = run.pyinit_pid
        # All 1500 orphans exited and were reaped: pyinit's one child left is forker.py, and
        # nothing in the job can change any more. (Without waiting for that, the last orphans
        # may still be starting: one that dies and is reaped between two snapshots of the job
        # makes them differ.)
        main = sleep_until(lambda: _only_child(pid))
        assert isinstance(main, int)
        assert job.processes() == sorted([pid, main, *([run.proc.pid] if pidns else [])])
        print(f"churn: pyinit VmRSS/VmHWM {memory_kib(pid)} KiB after {churn} forks")
        run.send(signal.SIGTERM)
        assert run.wait() == 7
        orphans = stderr().count("debug: reaped pid")
    print(f"churn: pyinit reaped {orphans} orphans")
    assert 0 < orphans <= churn // 2
    assert job.processes() == []


@BOTH
def test_fork_bomb_bounded_by_pids_max_is_stopped_and_cleared(job: PidsCgroup, pidns: bool) -> None:
    grace = 1.0
    args = ["--grace-period", f"{grace:g}", "--", *robust_program("forker.py", "bomb")]
    with start(job, args, pidns) as run:
        line = run.expect("full ", timeout=30)
        assert int(line.split()[1]) > 200  # the bomb really filled the cgroup
        began = time.monotonic()
        run.send(signal.SIGTERM)
        assert run.wait() == 128 + signal.SIGTERM
        assert grace <= time.monotonic() - began < grace + 2  # its children ignore SIGTERM
    assert job.processes() == []


@BOTH
def test_main_child_exits_while_hundreds_of_descendants_run(job: PidsCgroup, pidns: bool) -> None:
    grace = 10.0
    args = ["--grace-period", f"{grace:g}", "--", *robust_program("forker.py", "leave", "250")]
    with start(job, args, pidns) as run:
        run.expect("left 250")
        began = time.monotonic()
        assert run.wait() == 3
        assert time.monotonic() - began < grace  # SIGTERM was enough: no escalation
    assert job.processes() == []


@BOTH
def test_descendant_that_ignores_sigterm_and_keeps_forking_is_killed(
    job: PidsCgroup, pidns: bool
) -> None:
    grace = 1.0
    args = ["--grace-period", f"{grace:g}", "-v", "--", *robust_program("forker.py", "stubborn")]
    with start(job, args, pidns) as run:
        run.expect("ready")
        began = time.monotonic()
        run.send(signal.SIGTERM)
        assert run.wait() == 128 + signal.SIGTERM  # the main child's own ending
        assert grace <= time.monotonic() - began < grace + 2
        assert "SIGKILLed" in run.stderr()
    assert job.processes() == []


@BOTH
def test_stop_in_the_middle_of_a_fork_storm_escalates_and_clears_everything(
    job: PidsCgroup, pidns: bool
) -> None:
    """The main child holds SIGTERM back while it keeps forking, so the grace period runs out with
    processes appearing and vanishing under pyinit's scans (psutil meets vanished pids)."""
    grace = 1.0
    args = ["--grace-period", f"{grace:g}", "--", *robust_program("forker.py", "churn", "10000000")]
    with start(job, args, pidns) as run:
        run.expect("churning")
        began = time.monotonic()
        run.send(signal.SIGTERM)
        assert run.wait() == 128 + signal.SIGKILL
        assert grace <= time.monotonic() - began < grace + 2
    assert job.processes() == []
