"""CI wrapper mode: time limit (124), exit-code remaps, the JSON report, pdeathsig, and signals
that must never kill pyinit and orphan the job."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import psutil
import pytest

from helpers import Running, blocked_at_start, reporter, run_pyinit, sleep_until

pytestmark = pytest.mark.integration


def test_timeout_stops_a_polite_child_and_exits_124() -> None:
    """At the limit the child gets SIGTERM, cleans up, and pyinit says 124."""
    # The limit counts from pyinit's start: a SIGTERM during the reporter's start-up waits (and
    # 1 s leaves a loaded machine the time to exec env, which blocks it).
    app = [*blocked_at_start("TERM"), *reporter("--exit-on", "TERM", "--code", "0")]
    with Running(["--timeout", "1", "--", *app]) as run:
        run.ready()
        run.expect("cleanup SIGTERM")
        assert run.wait() == 124


def test_timeout_kills_a_stubborn_child_after_the_grace_and_exits_124() -> None:
    """A child ignoring SIGTERM is SIGKILLed at limit + grace; still 124."""
    started = time.monotonic()
    # SIGTERM is blocked until the reporter ignores it, so only the SIGKILL can end it, whether
    # or not its start-up is over by then: no ready line to wait for (it may never come).
    app = [*blocked_at_start("TERM"), *reporter("--ignore", "TERM")]
    args = ["--timeout", "1", "--grace-period", "0.4", "--", *app]
    with Running(args) as run:
        assert run.wait() == 124
    assert 1.4 <= time.monotonic() - started < 4


def test_no_timeout_when_the_child_finishes_first() -> None:
    """Finishing inside the limit returns the child's own code."""
    assert run_pyinit(["--timeout", "30s", "--", "sh", "-c", "exit 5"]).returncode == 5


@pytest.mark.parametrize(
    ("remaps", "script", "expected"),
    [
        (["143:0"], "kill -TERM $$", 0),
        (["143:0", "1:2"], "exit 1", 2),
        (["3:4", "4:5"], "exit 3", 4),  # applied once, not chained
        (["124:0"], "sleep 30", 0),
    ],
    ids=["jvm-143", "two-maps", "not-chained", "timeout-remapped"],
)
def test_remap_exit_applies_last(remaps: list[str], script: str, expected: int) -> None:
    """--remap-exit FROM:TO turns the final code into another, after the timeout rule."""
    args = [arg for remap in remaps for arg in ("--remap-exit", remap)]
    if script.startswith("sleep"):
        args += ["--timeout", "0.2", "--grace-period", "0.2"]
    assert run_pyinit([*args, "--", "sh", "-c", script]).returncode == expected


def _report(path: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads(path.read_text())
    return data


def test_report_for_a_child_that_exits(tmp_path: Path) -> None:
    """The report records the command, pid, timestamps, code and reason."""
    path = tmp_path / "report.json"
    assert run_pyinit(["--report", str(path), "--", "sh", "-c", "exit 3"]).returncode == 3
    report = _report(path)
    assert report["command"] == ["sh", "-c", "exit 3"]
    assert report["exit_code"] == 3
    assert report["reason"] == "exited"
    assert report["main_child"] == {"code": 3, "signal": None, "signal_number": None}
    assert isinstance(report["pid"], int)
    assert report["stop"] is None
    assert report["started_at"] <= report["ended_at"]  # type: ignore[operator]
    assert not list(tmp_path.glob("*.tmp"))


@pytest.mark.parametrize(
    ("args", "signum", "reason", "code"),
    [
        (["--", "sh", "-c", "kill -KILL $$"], None, "signalled", 137),
        (["--timeout", "0.3", "--", "REPORTER"], None, "timed_out", 124),
        (["--grace-period", "0.3", "--", "STUBBORN"], signal.SIGTERM, "escalated", 137),
        (["--", "REPORTER"], signal.SIGTERM, "stopped", 0),
        (["--", "no-such-command-xyz"], None, "exec_failed", 127),
    ],
    ids=["signalled", "timed_out", "escalated", "stopped", "exec_failed"],
)
def test_report_reason_for_each_ending(
    tmp_path: Path, args: list[str], signum: int | None, reason: str, code: int
) -> None:
    """Each way a run can end has its own reason, and the report is valid JSON even when pyinit
    itself was signalled."""
    path = tmp_path / "report.json"
    swap = {
        "REPORTER": reporter("--exit-on", "TERM"),
        "STUBBORN": reporter("--ignore", "TERM"),
    }
    argv = [part for arg in args for part in swap.get(arg, [arg])]
    with Running(["--report", str(path), *argv]) as run:
        if signum is not None:
            run.ready()
            run.send(signum)
        assert run.wait() == code
    report = _report(path)
    assert report["reason"] == reason
    assert report["exit_code"] == code
    if signum is not None:
        assert report["signals_received"] == {"SIGTERM": 1}
        stop = report["stop"]
        assert isinstance(stop, dict)
        assert stop["signal"] == "SIGTERM"
    if reason == "escalated":
        killed = report["killed"]
        assert isinstance(killed, list)
        assert killed
        assert {"pid", "name", "cmdline"} <= set(killed[0])


def test_report_counts_forwarded_signals(tmp_path: Path) -> None:
    """signals_forwarded counts what reached the child, after rewrites."""
    path = tmp_path / "report.json"
    args = ["--report", str(path), "--rewrite", "USR2:HUP", "--", *reporter("--exit-on", "TERM")]
    with Running(args) as run:
        run.ready()
        for signum in (signal.SIGUSR1, signal.SIGUSR2):
            run.send(signum)
            run.expect("got ")
        run.send(signal.SIGTERM)
        assert run.wait() == 0
    report = _report(path)
    assert report["signals_forwarded"] == {"SIGHUP": 1, "SIGUSR1": 1, "SIGTERM": 1}


def test_unwritable_report_keeps_the_exit_code(tmp_path: Path) -> None:
    """A report that cannot be written is logged; the code is still the child's."""
    result = run_pyinit(
        ["--report", str(tmp_path / "missing" / "r.json"), "--", "sh", "-c", "exit 9"]
    )
    assert result.returncode == 9
    assert "report" in result.stderr


def test_pdeathsig_kills_the_child_when_pyinit_dies() -> None:
    """--pdeathsig KILL: if pyinit is SIGKILLed, the child does not live on."""
    with Running(["--pdeathsig", "KILL", "--", *reporter()]) as run:
        pid, _ = run.ready()
        child = psutil.Process(pid)
        run.proc.kill()
        run.proc.wait(10)

        def gone() -> bool:
            # Reaped (by init) at any moment, between two questions too.
            try:
                return child.status() == psutil.STATUS_ZOMBIE
            except psutil.NoSuchProcess:
                return True

        sleep_until(gone)


def test_without_pdeathsig_the_child_outlives_a_killed_pyinit() -> None:
    """The control case: the same child survives when no parent-death signal is set."""
    with Running(["--", *reporter()]) as run:
        pid, _ = run.ready()
        run.proc.kill()
        run.proc.wait(10)
        assert psutil.Process(pid).status() != psutil.STATUS_ZOMBIE


def test_sigusr1_to_the_wrapper_is_forwarded_and_pyinit_keeps_running() -> None:
    """GNU timeout dies of SIGUSR1 and orphans the job; pyinit passes it on and stays."""
    with Running(["--", *reporter("--exit-on", "TERM")]) as run:
        run.ready()
        for signum in (signal.SIGUSR1, signal.SIGHUP, signal.SIGALRM, signal.SIGPIPE):
            run.send(signum)
            run.expect("got ")
        assert run.proc.poll() is None
        run.send(signal.SIGTERM)
        assert run.wait() == 0
