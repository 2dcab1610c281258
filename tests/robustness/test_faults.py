"""Part 4: faults around pyinit: closed or broken standard streams, unwritable outcome files,
vanished processes, EINTR, a child that closes its fds, and signals blocked or ignored by whoever
started pyinit. pyinit must keep supervising and exit with the contract's code."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from robustlib import robust_program, signal_set
from test_signal_storm import counts_after_marker

from helpers import PYINIT, TIMEOUT, Running, reporter, sleep_until

pytestmark = [pytest.mark.robustness, pytest.mark.integration]


def closing(*fds: int) -> Callable[[], None]:
    def close() -> None:
        for fd in fds:
            os.close(fd)

    return close


def run_raw(args: list[str], **popen: object) -> subprocess.CompletedProcess[bytes]:
    result: subprocess.CompletedProcess[bytes] = subprocess.run(
        [*PYINIT, *args],
        timeout=TIMEOUT,
        start_new_session=True,
        check=False,
        **popen,  # type: ignore[call-overload]
    )
    return result


@pytest.mark.parametrize("closed", [(2,), (1, 2), (0, 1, 2)])
@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--no-such-option", "--", "true"], 125),  # click's error path
        (["--grace-period", "soon", "--", "true"], 125),  # Config.build's error path
        (["-vv", "--", "sh", "-c", "exit 3"], 3),
        (["-vv", "--", "/nonexistent"], 127),
    ],
)
def test_closed_standard_streams_keep_the_exit_code(
    closed: tuple[int, ...], args: list[str], code: int
) -> None:
    assert run_raw(args, preexec_fn=closing(*closed)).returncode == code


def test_termination_log_fifo_without_reader_does_not_hang_pyinit(tmp_path: Path) -> None:
    """open(O_WRONLY) on a FIFO waits for a reader: pyinit hung at exit, immune to SIGTERM."""
    fifo = tmp_path / "termination-log"
    os.mkfifo(fifo)
    result = run_raw(
        ["--termination-log", str(fifo), "--", "sh", "-c", "exit 4"], capture_output=True
    )
    assert result.returncode == 4
    assert result.stderr.startswith(b"pyinit: warning: failed to open")


def test_a_log_reader_that_stops_reading_does_not_stall_pyinit() -> None:
    """stderr is a pipe nobody drains (a stuck log driver): -vv fills it with a debug line per
    reaped orphan, yet SIGTERM must still be handled and the exit code come through."""
    churn = 4000  # ~40 bytes of log each for 2000 orphans: more than a 64 KiB pipe holds
    with Running(["-vv", "--", *robust_program("forker.py", "churn", str(churn))]) as run:
        run.expect(f"done {churn}", timeout=60)
        run.send(signal.SIGTERM)
        assert run.wait() == 7


BOTH = pytest.mark.parametrize(
    "pidns",
    [pytest.param(False, id="wrapper"), pytest.param(True, id="pid1", marks=pytest.mark.pidns)],
)


@BOTH
def test_broken_stderr_pipe_sigpipe_stays_with_pyinit(pidns: bool, tmp_path: Path) -> None:
    """-vv logs every forward into a pipe whose reader is gone: each write raises SIGPIPE at
    pyinit itself, which must not reach the child nor count as a received signal. (The child
    is counter.py, which takes signals with sigwaitinfo: a child with Python handlers writing
    to the same broken stderr would raise SIGPIPEs of its own.)"""
    report = tmp_path / "report.json"
    args = ["-vv", "--report", str(report), "--", *robust_program("counter.py")]
    with Running(args, pidns=pidns) as run:
        assert run.proc.stderr is not None
        run.proc.stderr.close()
        run.ready()
        for _ in range(20):
            run.send(signal.SIGUSR1)
        # Taken lowest number first: by the time pyinit forwards the marker (SIGRTMAX), any
        # SIGPIPE (13) it raised at itself was taken before, and so was anything it forwarded.
        counts = counts_after_marker(run, run.pyinit_pid)
        run.send(signal.SIGTERM)
        run.expect("bye")
        assert run.wait() == 0
    assert counts.get(signal.SIGUSR1, 0) >= 1
    assert signal.SIGPIPE not in counts
    outcome = json.loads(report.read_text())
    assert "SIGPIPE" not in outcome["signals_received"]
    assert "SIGPIPE" not in outcome["signals_forwarded"]


@pytest.mark.parametrize(
    ("option", "path"),
    [
        ("--report", "{tmp}/missing/report.json"),  # ENOENT
        ("--report", "/etc/hostname/report.json"),  # ENOTDIR
        ("--report", "{tmp}"),  # EISDIR on the final rename
        ("--report", "/proc/version"),  # cannot create the temporary file in /proc
        ("--termination-log", "{tmp}/missing/log"),
        ("--termination-log", "{tmp}"),  # EISDIR
        ("--termination-log", "/dev/full"),  # ENOSPC on write
        ("--termination-log", "/proc/version"),
    ],
)
def test_unwritable_outcome_files_only_warn(option: str, path: str, tmp_path: Path) -> None:
    target = path.format(tmp=tmp_path)
    result = run_raw([option, target, "--", "sh", "-c", "exit 4"], capture_output=True)
    assert result.returncode == 4
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("pyinit: warning: failed to "), lines
    assert list(tmp_path.iterdir()) == []  # no temporary file left behind


def _state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as stream:
        return stream.read().rsplit(")", 1)[1].split()[0]


def test_stop_and_continue_storm_eintr_changes_nothing() -> None:
    """SIGSTOP + SIGCONT make a sleeping sigtimedwait return EINTR; the deadline must hold."""
    timeout, grace = 1.5, 1.0
    args = ["--timeout", f"{timeout:g}", "--grace-period", f"{grace:g}", "--", *reporter()]
    with Running(args) as run:
        run.ready()
        began = time.monotonic()
        pid = run.pyinit_pid
        for _ in range(30):
            os.kill(pid, signal.SIGSTOP)
            sleep_until(lambda: _state(pid) == "T")
            os.kill(pid, signal.SIGCONT)
            sleep_until(lambda: _state(pid) != "T")
        run.send(signal.SIGUSR1)
        run.expect("got SIGUSR1")  # still forwarding
        # The reporter catches the timeout's SIGTERM: the grace period's SIGKILL ends it.
        assert run.wait() == 124
        ended = time.monotonic()
    # pyinit's deadlines count from its own start: after run.started, before the ready line.
    # Each bound is measured from the side of that span that keeps it sound however long the
    # start-up took (from the ready line, a 1.2 s start-up failed the lower bound).
    assert ended - run.started >= timeout + grace
    assert ended - began < timeout + grace + 1


def test_child_that_closes_and_redirects_its_fds_is_still_supervised() -> None:
    script = (
        "import os, signal\n"
        "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})\n"
        "print('ready', os.getpid(), os.getpgrp(), flush=True)\n"
        "os.closerange(0, 1024)\n"
        "null = os.open('/dev/null', os.O_RDWR)\n"
        "os.dup2(null, 1); os.dup2(null, 2)\n"
        "signal.sigwait({signal.SIGTERM})\n"
        "os._exit(4)\n"
    )
    with Running(["--", sys.executable, "-c", script]) as run:
        pid, _ = run.ready()
        sleep_until(lambda: os.readlink(f"/proc/{pid}/fd/2") == "/dev/null")
        run.send(signal.SIGTERM)
        assert run.wait() == 4


BLOCKED = [signal.SIGTERM, signal.SIGCHLD, signal.SIGINT, signal.SIGPIPE, signal.SIGHUP]
# Ignores a child must not inherit: CHLD (pyinit needs it), PIPE (Python ignores it itself, so an
# inherited ignore cannot be told apart) and faults, which pyinit never handles.
NOT_KEPT_IGNORED = [signal.SIGCHLD, signal.SIGPIPE, signal.SIGTRAP, signal.SIGSYS]


def _hostile_parent() -> None:
    """preexec_fn: the worst a careless parent (a shell, a CI runner) can hand down."""
    signal.pthread_sigmask(signal.SIG_BLOCK, BLOCKED)
    for signum in [*NOT_KEPT_IGNORED, signal.SIGHUP]:
        signal.signal(signum, signal.SIG_IGN)


@BOTH
def test_the_child_gets_an_empty_mask_and_only_the_callers_meaningful_ignores(
    pidns: bool,
) -> None:
    """Blocked signals are cleared; an ignored HUP stays ignored (nohup); CHLD, PIPE and the
    faults are back at default."""
    with Running(
        ["--", "cat", "/proc/self/status"], pidns=pidns, preexec_fn=_hostile_parent
    ) as run:
        run.expect("SigQ")
        status = dict(run.read_line().split(":\t") for _ in range(5))
        assert run.wait() == 0
    assert signal_set(status["SigBlk"]) == set()
    assert signal_set(status["SigIgn"]) == {signal.SIGHUP}


@BOTH
def test_signals_blocked_and_ignored_by_the_parent_still_stop_the_child(pidns: bool) -> None:
    """SIGTERM reaches the child and, with SIGCHLD no longer ignored, its exit code comes back;
    the ignored SIGHUP is not passed on."""
    args = ["--", *reporter("--exit-on", "TERM", "--code", "6")]
    with Running(args, pidns=pidns, preexec_fn=_hostile_parent) as run:
        run.ready()
        run.send(signal.SIGHUP)
        run.send(signal.SIGTERM)
        run.expect("cleanup SIGTERM")
        assert run.wait() == 6
    assert not any("SIGHUP" in line for line in run.lines)
