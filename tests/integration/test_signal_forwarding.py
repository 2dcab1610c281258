"""Every catchable signal but CHLD and the faults reaches the main child: by default its whole
group while the main child leaves the signal at its default action, else the main child alone."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pyinit.signals import DEFAULT_STOP_SIGNALS, FORWARDED, signal_name

from helpers import (
    PYINIT,
    Running,
    blocked_at_start,
    draining_master,
    reloading_master,
    reporter,
)

pytestmark = pytest.mark.integration

STANDARD = sorted(s for s in FORWARDED if s < 32 and s not in DEFAULT_STOP_SIGNALS)


@pytest.mark.parametrize("signum", STANDARD, ids=signal_name)
def test_forwards_each_standard_signal(signum: int) -> None:
    """pyinit should pass every standard catchable signal on to the child unchanged."""
    with Running(["--", *reporter()]) as run:
        run.ready()
        run.send(signum)
        assert run.expect("got ").split()[1] == signal_name(signum)


def test_forwards_real_time_signals_in_order() -> None:
    """Real-time signals are forwarded too, each one (they queue, they do not coalesce)."""
    rt = [signal.SIGRTMIN, signal.SIGRTMIN + 1, signal.SIGRTMIN + 5, signal.SIGRTMAX]
    with Running(["--", *reporter()]) as run:
        run.ready()
        for signum in rt:
            run.send(signum)
            assert run.expect("got ").split()[1] == signal_name(signum)


@pytest.mark.parametrize("signum", sorted(DEFAULT_STOP_SIGNALS), ids=signal_name)
def test_forwards_stop_signals_and_returns_the_childs_code(signum: int) -> None:
    """TERM and INT reach the app, and its own exit code comes back."""
    with Running(["--", *reporter("--exit-on", signal_name(signum), "--code", "3")]) as run:
        run.ready()
        run.send(signum)
        assert run.expect("cleanup") == f"cleanup {signal_name(signum)}"
        assert run.wait() == 3


def test_sigterm_reaches_the_app_behind_sh_c() -> None:
    """`sh -c 'app; echo done'`: the app gets SIGTERM because pyinit signals the whole group."""
    app = " ".join(reporter("--exit-on", "TERM", "--code", "0"))
    with Running(["--", "sh", "-c", f"{app}; echo shell-done"]) as run:
        run.ready()
        run.send(signal.SIGTERM)
        assert run.expect("cleanup") == "cleanup SIGTERM"
        assert run.wait() in (0, 143)  # the shell itself may die of the TERM first


def _wait_for_master_and_worker(run: Running) -> tuple[int, int]:
    """Both ready lines, in either order; the worker's (pid, pgid)."""
    worker: tuple[int, int] | None = None
    master = False
    while worker is None or not master:
        line = run.read_line()
        master = master or line == "master-ready"
        if line.startswith("ready "):
            _, pid, pgid = line.split()
            worker = int(pid), int(pgid)
    return worker


def test_signal_the_main_child_traps_reaches_it_alone() -> None:
    """A shell that traps SIGUSR1 gets it; its worker in the same group does not (it would die:
    USR1 is at its default action there), as under tini without -g (`docker run --init`)."""
    with Running(reloading_master()) as run:
        _wait_for_master_and_worker(run)
        run.send(signal.SIGUSR1)
        run.expect("reload")
        assert run.expect("worker exit") == "worker exit 0"
        assert run.wait() == 0


def test_signal_group_sends_even_a_trapped_signal_to_the_whole_group() -> None:
    """-g (tini -g, dumb-init's default): the worker gets the SIGUSR1 the shell traps, and dies."""
    with Running(reloading_master("-g")) as run:
        _wait_for_master_and_worker(run)
        run.send(signal.SIGUSR1)
        assert run.expect("worker exit") == "worker exit 138"


def test_entrypoint_that_drains_its_worker_on_sigterm_is_not_overtaken() -> None:
    """The master traps SIGTERM and asks its worker to drain (SIGUSR1): the worker must not get
    the SIGTERM as well (it would die of it, 143), and the master exits as it chooses."""
    with Running(draining_master()) as run:
        _wait_for_master_and_worker(run)
        run.send(signal.SIGTERM)
        assert run.expect("master:") == "master: worker exit 0"
        assert run.wait() == 0


def test_dispositions_are_read_when_the_signal_arrives() -> None:
    """A main child that installs its handler after start: before, its group gets the signal;
    after, the main child alone. SIGURG's default action is to ignore it, so the shell lives."""
    worker = " ".join(reporter())
    script = (
        f"{worker} & w=$!; echo master-ready; read go; "
        # A trapped signal ends a `wait` early (POSIX), and the shell would then exit and have
        # its worker stopped as a leftover: the second `wait` keeps the master there.
        "trap 'echo master-got-urg' URG; echo trapped; wait $w; wait $w"
    )
    with Running(["--", "sh", "-c", script], stdin=subprocess.PIPE) as run:
        worker_pid, _ = _wait_for_master_and_worker(run)
        run.send(signal.SIGURG)
        run.expect("got SIGURG")  # the worker: the group got it
        assert run.proc.stdin is not None
        run.proc.stdin.write(b"go\n")
        run.proc.stdin.flush()
        run.expect("trapped")
        run.send(signal.SIGURG)
        run.expect("master-got-urg")
        # A marker straight to the worker, numbered above SIGURG: were a SIGURG on its way, the
        # worker would report it first (lower signals first, in the kernel and in Python).
        os.kill(worker_pid, signal.SIGRTMIN)
        run.expect("got SIGRTMIN")
        got = [line.split()[1] for line in run.lines if line.startswith("got ")]
        assert got == ["SIGURG", "SIGRTMIN"], run.lines


def test_rewritten_signal_is_checked_against_the_main_child(tmp_path: Path) -> None:
    """--rewrite TERM:USR1: the main child traps SIGUSR1, so the SIGUSR1 pyinit sends in place
    of SIGTERM goes to it alone, and its worker (SIGUSR1 at its default action) survives."""
    with Running(reloading_master("--rewrite", "TERM:USR1")) as run:
        _wait_for_master_and_worker(run)
        run.send(signal.SIGTERM)
        run.expect("reload")
        assert run.expect("worker exit") == "worker exit 0"


def test_leftovers_of_a_main_child_that_handled_the_stop_get_sigterm() -> None:
    """The main child traps SIGTERM (so it alone got it) and exits, leaving its worker: the
    worker, which never got the stop signal, gets the leftovers' SIGTERM, once."""
    worker = " ".join(reporter("--exit-on", "TERM", "--code", "0"))
    script = f"{worker} & trap 'echo master-stops; exit 3' TERM; echo master-ready; wait"
    with Running(["--", "sh", "-c", script]) as run:
        _wait_for_master_and_worker(run)
        run.send(signal.SIGTERM)
        while not {"master-stops", "cleanup SIGTERM"} <= set(run.lines):
            run.read_line()
        assert run.wait() == 3
        got = [line.split()[1] for line in run.lines if line.startswith("got ")]
        # The leftovers' SIGTERM comes with a SIGCONT (a stopped leftover must be able to act on
        # it), which the worker may report before it exits, or not.
        assert got.count("SIGTERM") == 1, run.lines
        assert set(got) <= {"SIGTERM", "SIGCONT"}, run.lines


@pytest.mark.parametrize(
    "stop",
    [
        pytest.param(["--rewrite", "TERM:DROP"], id="dropped"),
        pytest.param(["--stop-command", "true"], id="stop-command"),
    ],
)
def test_leftovers_of_a_stop_that_never_reached_the_group_get_sigterm(stop: list[str]) -> None:
    """The stop signal was dropped or replaced by a --stop-command, so the group never got it;
    when the main child then exits, its worker gets the leftovers' SIGTERM at once, not only the
    deadline's SIGKILL."""
    worker = " ".join(reporter("--exit-on", "TERM", "--code", "0"))
    script = f"{worker} & trap 'echo master-stops; exit 3' USR2; echo master-ready; wait"
    with Running([*stop, "--", "sh", "-c", script]) as run:
        _wait_for_master_and_worker(run)
        run.send(signal.SIGTERM)
        run.send(signal.SIGUSR2)
        run.expect("master-stops")
        # "At once": without the leftovers' SIGTERM the worker would only meet the SIGKILL 10 s
        # after the master's exit; 5 s tells the two apart with room for a loaded machine.
        assert run.expect("cleanup", timeout=5) == "cleanup SIGTERM"
        assert run.wait() == 3


def test_a_timeout_stop_outside_the_stop_signals_reaches_leftovers_once() -> None:
    """--stop-signals INT --timeout: the time limit still sends SIGTERM, to the whole group here
    (the shell leaves it at default); the worker draining it must not get a second one as a
    leftover when the shell exits."""
    # The limit counts from pyinit's start: the worker's SIGTERM waits for the end of its start-up.
    worker = " ".join([*blocked_at_start("TERM"), *reporter("--code", "0")])
    script = f"{worker} & echo master-ready; wait"
    # 1.5 s: the shell must print its ready line, and env block TERM, before the limit.
    args = ["--stop-signals", "INT", "--timeout", "1.5", "--grace-period", "10", "-v"]
    with Running([*args, "--", "sh", "-c", script], merge_stderr=True) as run:
        worker_pid, _ = _wait_for_master_and_worker(run)

        # The worker's lines and pyinit's come down one pipe from two processes, in any order
        # (pyinit's may even come before the worker's ready line, if its start-up was slow).
        def seen(prefix: str) -> list[str]:
            return [line for line in run.lines if line.startswith(prefix)]

        while not (seen("got SIGTERM") and seen("pyinit: info: sent SIGTERM to")):
            run.read_line()
        leftovers = seen("pyinit: info: sent SIGTERM to")
        assert leftovers[0].startswith("pyinit: info: sent SIGTERM to 0 leftover"), run.lines
        # pyinit logs after signalling: a second SIGTERM would be pending at the worker now, and
        # delivered before this marker (numbered above SIGTERM).
        os.kill(worker_pid, signal.SIGRTMIN)
        run.expect("got SIGRTMIN")
        got = [line.split()[1] for line in run.lines if line.startswith("got ")]
        assert got == ["SIGTERM", "SIGRTMIN"], run.lines


def test_single_child_signals_only_the_main_child(tmp_path: Path) -> None:
    """--single-child: the shell gets SIGUSR1, its child in the same group does not."""
    app = " ".join(reporter())
    script = f"trap 'echo shell-got-usr1' USR1; {app} & wait; wait"
    with Running(["--single-child", "--grace-period", "5", "--", "sh", "-c", script]) as run:
        run.ready()
        run.send(signal.SIGUSR1)
        run.expect("shell-got-usr1")
        run.send(signal.SIGTERM)  # kills the shell; the reporter then gets SIGTERM as a leftover
        run.expect("got SIGTERM")
        assert not any("SIGUSR1" in line for line in run.lines if line.startswith("got"))


def test_does_not_forward_sigchld() -> None:
    """SIGCHLD sent to pyinit is pyinit's business (it reaps), not the app's."""
    with Running(["--", *reporter("--catch-chld")]) as run:
        run.ready()
        run.send(signal.SIGCHLD)
        # A marker numbered above SIGCHLD: a forwarded SIGCHLD would be reported before it.
        run.send(signal.SIGRTMIN)
        assert run.expect("got ") == run.lines[-1]
        assert run.lines[-1].split()[1] == "SIGRTMIN"


def test_child_runs_in_its_own_process_group() -> None:
    """The main child leads a new process group, apart from pyinit's."""
    with Running(["--", *reporter()]) as run:
        pid, pgid = run.ready()
        assert pid == pgid
        import os

        assert os.getpgid(run.proc.pid) != pgid


def test_child_starts_with_clean_signal_state() -> None:
    """Empty mask, nothing ignored: not even SIGPIPE/SIGXFSZ, which Python itself ignores.
    (A caller that ignores nothing; run_pyinit's subprocess resets PIPE and XFSZ.)"""
    result_lines = _child_status_lines([])
    assert result_lines["SigBlk"] == 0
    assert result_lines["SigIgn"] == 0


def test_child_signal_state_is_clean_even_if_pyinit_inherited_a_mess() -> None:
    """A parent that blocked and ignored signals: the mask is cleared, the ignores the caller
    meant (HUP, INT, USR2) are kept, as under tini; an ignored CHLD is not."""

    def mess() -> None:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGUSR1, signal.SIGCHLD})
        for signum in (signal.SIGHUP, signal.SIGINT, signal.SIGCHLD, signal.SIGUSR2):
            signal.signal(signum, signal.SIG_IGN)

    result_lines = _child_status_lines([], preexec_fn=mess)
    assert result_lines["SigBlk"] == 0
    kept = (signal.SIGHUP, signal.SIGINT, signal.SIGUSR2)
    assert result_lines["SigIgn"] == sum(1 << (signum - 1) for signum in kept)


def _child_status_lines(args: list[str], **kwargs: Any) -> dict[str, int]:
    from helpers import run_pyinit

    result = run_pyinit([*args, "--", "cat", "/proc/self/status"], **kwargs)
    assert result.returncode == 0, result.stderr
    fields = dict(line.split(":\t", 1) for line in result.stdout.splitlines() if ":\t" in line)
    return {key: int(fields[key], 16) for key in ("SigBlk", "SigIgn")}


def test_self_inflicted_sigpipe_is_not_forwarded() -> None:
    """pyinit writing logs into a closed pipe raises SIGPIPE at itself: the app must not get it."""
    import os
    import subprocess

    read_end, write_end = os.pipe()
    os.close(read_end)
    proc = subprocess.Popen(
        [*PYINIT, "-vv", "--", *reporter("--exit-on", "TERM")],
        stdout=subprocess.PIPE,
        stderr=write_end,
        stdin=subprocess.DEVNULL,
    )
    os.close(write_end)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith(b"ready")
        proc.send_signal(signal.SIGUSR1)  # -vv logs it: EPIPE, SIGPIPE at pyinit itself
        assert proc.stdout.readline().split()[1] == b"SIGUSR1"
        # Numbered above SIGPIPE: were the SIGPIPE still pending at pyinit, pyinit would take
        # it first, and a forwarded one would reach the app first.
        proc.send_signal(signal.SIGRTMIN)
        assert proc.stdout.readline().split()[1] == b"SIGRTMIN", "SIGPIPE must not be forwarded"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    finally:
        proc.kill()
        proc.wait(10)
        assert proc.stdout is not None
        proc.stdout.close()
