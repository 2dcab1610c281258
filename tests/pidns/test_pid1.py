"""pyinit as a true PID 1 (`unshare --pid --fork --mount-proc`): kernel signal protection,
orphans re-parented to it, kill(-1) reaching the namespace."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from helpers import (
    PYINIT,
    LineReader,
    Running,
    draining_master,
    reloading_master,
    reporter,
    run_pyinit,
    sleep_until,
    until_ready_sh,
)

pytestmark = pytest.mark.pidns


def test_child_runs_as_pid_2_under_pyinit_as_pid_1() -> None:
    """Sanity of the set-up: pyinit is PID 1, the app is its child."""
    result = run_pyinit(["--", "sh", "-c", 'echo "$$ $PPID"'], pidns=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["2", "1"]


def test_kill_term_1_from_inside_stops_the_app() -> None:
    """The PID-1 trap: a shell as PID 1 would drop this SIGTERM; pyinit forwards it (143)."""
    result = run_pyinit(["--", "sh", "-c", "kill -TERM 1; exec sleep 30"], pidns=True)
    assert result.returncode == 143


def test_sigterm_from_outside_the_namespace_reaches_the_app() -> None:
    """`docker stop` sends SIGTERM to PID 1 from outside: the app gets it and cleans up."""
    with Running(["--", *reporter("--exit-on", "TERM", "--code", "0")], pidns=True) as run:
        pid, _ = run.ready()
        assert pid == 2
        run.send(signal.SIGTERM)
        run.expect("cleanup SIGTERM")
        assert run.wait() == 0


def test_non_stop_signals_sent_to_pid_1_are_forwarded() -> None:
    """PID 1 has no default actions: without pyinit's forwarding, SIGUSR1 would vanish."""
    with Running(["--", *reporter()], pidns=True) as run:
        run.ready()
        run.send(signal.SIGUSR1)
        assert run.expect("got ").split()[1] == "SIGUSR1"


def _wait_for_master_and_worker(run: LineReader) -> None:
    seen = {"master": False, "worker": False}
    while not all(seen.values()):
        line = run.read_line()
        seen["master"] = seen["master"] or line == "master-ready"
        seen["worker"] = seen["worker"] or line.startswith("ready ")


@pytest.mark.parametrize(
    ("args", "worker_exit"), [([], 0), (["-g"], 143)], ids=["default", "signal-group"]
)
def test_master_that_drains_its_worker_on_sigterm(args: list[str], worker_exit: int) -> None:
    """`docker stop` of a master that traps SIGTERM and drains its worker itself (SIGUSR1): the
    worker does not get the SIGTERM too, as under `docker run --init` (tini without -g). With -g
    (tini -g) the whole group gets it, and the worker dies of it (143)."""
    with Running(draining_master(*args), pidns=True) as run:
        _wait_for_master_and_worker(run)
        run.send(signal.SIGTERM)
        assert run.expect("master:") == f"master: worker exit {worker_exit}"
        assert run.wait() == 0


@pytest.mark.parametrize(
    ("args", "worker_exit"), [([], 0), (["-g"], 138)], ids=["default", "signal-group"]
)
def test_signal_a_pid_1_shell_traps_reaches_it_alone(args: list[str], worker_exit: int) -> None:
    """`docker kill -s USR1` of a shell that traps it: its worker (SIGUSR1 at its default action)
    is not hit; with -g it is, and dies (138)."""
    with Running(reloading_master(*args), pidns=True) as run:
        _wait_for_master_and_worker(run)
        run.send(signal.SIGUSR1)
        assert run.expect("worker exit") == f"worker exit {worker_exit}"


def test_without_its_own_proc_signals_go_to_the_group() -> None:
    """`unshare --pid --fork` without --mount-proc: /proc is the host's, so pyinit cannot read
    the main child's dispositions there and falls back to the whole group (the worker dies)."""
    argv = ["unshare", "--pid", "--fork", "--kill-child", *PYINIT, *reloading_master()]
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, start_new_session=True
    )
    run = LineReader(proc.stdout)
    try:
        _wait_for_master_and_worker(run)
        pyinit_pid = sleep_until(lambda: psutil.Process(proc.pid).children())
        assert isinstance(pyinit_pid, list)
        os.kill(pyinit_pid[0].pid, signal.SIGUSR1)
        assert run.expect("worker exit") == "worker exit 138"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        assert proc.stdout is not None
        proc.stdout.close()


@pytest.mark.parametrize("shell", [["sh"], ["bash"], ["busybox", "sh"]], ids=" ".join)
def test_sigterm_reaches_the_app_behind_a_pid_1_shell_form(shell: list[str]) -> None:
    """`CMD app; echo done` (shell form): the shell leaves SIGTERM at its default action, so
    pyinit sends it to the whole group and the app behind the shell cleans up at once."""
    if shutil.which(shell[0]) is None:
        pytest.skip(f"{shell[0]} is not installed")
    app = " ".join(reporter("--exit-on", "TERM", "--code", "0"))
    with Running(["--", *shell, "-c", f"{app}; echo shell-done"], pidns=True) as run:
        run.ready()
        started = time.monotonic()
        run.send(signal.SIGTERM)
        assert run.expect("cleanup") == "cleanup SIGTERM"
        assert run.wait() in (0, 143)  # the shell itself may die of the TERM first
        assert time.monotonic() - started < 2


def test_many_double_forked_orphans_leave_no_zombie() -> None:
    """Orphans re-parented to PID 1 are all reaped."""
    spawn = "for i in $(seq 300); do (sleep 0.01 &) ; done"
    app = " ".join(reporter("--exit-on", "TERM"))
    with Running(["--", "sh", "-c", f"{spawn}; exec {app}"], pidns=True) as run:
        run.ready()
        pyinit = psutil.Process(run.pyinit_pid)

        # A child may be reaped between listing it and asking its state: count them only. The
        # app is always one of them, so one child means every orphan was reaped.
        sleep_until(lambda: len(pyinit.children()) == 1)
        run.send(signal.SIGTERM)
        assert run.wait() == 0


def test_escalation_kills_everything_in_the_namespace() -> None:
    """At the deadline kill(-1) reaches every process, setsid daemons included."""
    stubborn = " ".join(reporter("--ignore", "TERM"))
    script = f"setsid {stubborn} & (setsid {stubborn} &) ; exec {stubborn}"
    with Running(["--grace-period", "0.5", "--", "sh", "-c", script], pidns=True) as run:
        for _ in range(3):
            run.ready()
        host_pids = [p.pid for p in psutil.Process(run.pyinit_pid).children(recursive=True)]
        started = time.monotonic()
        run.send(signal.SIGTERM)
        assert run.wait() == 137
        assert time.monotonic() - started < 2.5
        assert not [pid for pid in host_pids if psutil.pid_exists(pid)]


def test_main_child_exit_stops_leftovers_in_the_namespace(tmp_path: Path) -> None:
    """As PID 1 too, leftovers get SIGTERM and time to clean up before pyinit exits."""
    ready = tmp_path / "ready"
    worker = " ".join(reporter("--exit-on", "TERM", "--code", "0", "--write-file", str(ready)))
    script = f"setsid {worker} & {until_ready_sh(ready)}; exit 5"
    with Running(["--", "sh", "-c", script], pidns=True) as run:
        run.ready()
        run.expect("cleanup SIGTERM")
        assert run.wait() == 5
