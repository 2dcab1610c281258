"""Kubernetes-grade shutdown: stop delay, stop command, rewrite, termination message, JSON log."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from helpers import Running, reporter, run_pyinit, sleep_until

pytestmark = pytest.mark.integration


def _written(path: Path) -> bool:
    """Has the reporter written a whole line to `path`?"""
    try:
        return path.read_text().endswith("\n")
    except FileNotFoundError:
        return False


def _got(line: str) -> tuple[str, float]:
    _, name, stamp = line.split()
    return name, float(stamp)


def test_stop_delay_keeps_serving_then_forwards() -> None:
    """--stop-delay: SIGTERM reaches the app only after the delay; other signals flow meanwhile."""
    delay = 0.6
    app = reporter("--exit-on", "TERM")
    with Running(["--stop-delay", str(delay), "--grace-period", "5", "--", *app]) as run:
        run.ready()
        sent = time.monotonic()
        run.send(signal.SIGTERM)
        run.send(signal.SIGUSR1)
        first = _got(run.expect("got "))
        assert first[0] == "SIGUSR1", "forwarding goes on during the delay"
        _, received = _got(run.expect("got SIGTERM"))
        assert delay <= received - sent < delay + 1.5
        assert run.wait() == 0


def test_second_stop_signal_cuts_the_delay_short() -> None:
    """An impatient second SIGINT ends the stop delay at once."""
    with Running(
        ["--stop-delay", "20", "--grace-period", "30", "--", *reporter("--exit-on", "INT")]
    ) as run:
        run.ready()
        sent = time.monotonic()
        run.send(signal.SIGINT)
        # Two SIGINTs pending at once are one. The app seeing SIGUSR1 proves pyinit took the
        # first SIGINT (the kernel hands out lower-numbered signals first).
        run.send(signal.SIGUSR1)
        run.expect("got SIGUSR1")
        run.send(signal.SIGINT)
        run.expect("cleanup SIGINT")
        assert run.wait() == 0
        assert time.monotonic() - sent < 5


def test_stop_command_replaces_the_signal(tmp_path: Path) -> None:
    """--stop-command runs instead of forwarding: the app sees the command's doing, no SIGTERM."""
    ready = tmp_path / "ready"
    app = reporter("--exit-on", "USR2", "--write-file", str(ready))
    stop = f"sh -c 'echo stop-command-ran; kill -USR2 $(cut -d\" \" -f2 {ready})'"
    with Running(["--stop-command", stop, "--grace-period", "5", "--", *app]) as run:
        run.ready()
        # The reporter writes the file after its stdout line: the stop command reads the file.
        sleep_until(lambda: _written(ready))
        run.send(signal.SIGTERM)
        run.expect("stop-command-ran")
        run.expect("cleanup SIGUSR2")
        assert run.wait() == 0
        assert not any(line.startswith("got SIGTERM") for line in run.lines)


@pytest.mark.parametrize("command", ["false", "no-such-stop-command-xyz"], ids=["fails", "missing"])
def test_failing_stop_command_falls_back_to_the_signal(command: str) -> None:
    """A stop command that cannot run or exits non-zero: log it and forward SIGTERM after all."""
    with Running(["--stop-command", command, "--", *reporter("--exit-on", "TERM")]) as run:
        run.ready()
        run.send(signal.SIGTERM)
        run.expect("cleanup SIGTERM")
        assert run.wait() == 0
        assert "forwarding" in run.stderr()


def test_rewrite_changes_what_is_forwarded_not_what_starts_the_stop() -> None:
    """--rewrite TERM:QUIT: nginx gets QUIT, and the grace period still runs from the SIGTERM."""
    with Running(["--rewrite", "TERM:QUIT", "--grace-period", "0.5", "--", *reporter()]) as run:
        run.ready()
        run.send(signal.SIGTERM)
        assert run.expect("got ").split()[1] == "SIGQUIT"
        assert run.wait() == 137


def test_rewrite_to_drop_swallows_the_signal() -> None:
    """--rewrite WINCH:DROP: the app never sees SIGWINCH."""
    # The marker is numbered above SIGWINCH: pyinit takes pending signals lowest first, so a
    # forwarded SIGWINCH would reach the app before it.
    with Running(["--rewrite", "WINCH:DROP", "--", *reporter("--exit-on", "RTMIN")]) as run:
        run.ready()
        run.send(signal.SIGWINCH)
        run.send(signal.SIGRTMIN)
        run.expect("cleanup SIGRTMIN")
        assert run.wait() == 0
        assert not any("SIGWINCH" in line for line in run.lines)


def test_rewrite_from_the_environment() -> None:
    """PYINIT_REWRITE takes a comma-separated list."""
    import os

    env = {**os.environ, "PYINIT_REWRITE": "USR1:USR2,WINCH:DROP"}
    with Running(["--", *reporter("--exit-on", "USR2")], env=env) as run:
        run.ready()
        run.send(signal.SIGWINCH)
        run.send(signal.SIGUSR1)
        run.expect("cleanup SIGUSR2")
        assert run.wait() == 0


# -- termination message -------------------------------------------------------------------


def _message(tmp_path: Path, args: list[str], signum: int | None = None) -> tuple[int, str]:
    path = tmp_path / "termination-log"
    path.touch()  # as the kubelet does
    with Running(["--termination-log", str(path), *args]) as run:
        if signum is not None:
            run.ready()
            run.send(signum)
        code = run.wait()
    text = path.read_text()
    assert len(text.encode()) <= 4096
    return code, text


def test_termination_message_for_a_child_that_exited_by_itself(tmp_path: Path) -> None:
    """It says the exit code and that the app ended on its own."""
    code, text = _message(tmp_path, ["--", "sh", "-c", "exit 3"])
    assert code == 3
    assert "exit code 3" in text
    assert "exited by itself" in text


def test_termination_message_for_a_stop(tmp_path: Path) -> None:
    """It names the stop signal and how long the stop took."""
    code, text = _message(tmp_path, ["--", *reporter("--exit-on", "TERM")], signal.SIGTERM)
    assert code == 0
    assert "stopped by SIGTERM" in text
    assert "stop took" in text


def test_termination_message_after_escalation_names_the_killed(tmp_path: Path) -> None:
    """It says the grace period ran out and which processes were SIGKILLed."""
    args = ["--grace-period", "0.3", "--", *reporter("--ignore", "TERM")]
    code, text = _message(tmp_path, args, signal.SIGTERM)
    assert code == 137
    assert "killed after the 0.3s grace period" in text
    assert "SIGKILLed:" in text
    assert "python" in text


def test_termination_message_when_the_command_is_missing(tmp_path: Path) -> None:
    """It says the command could not start, and why."""
    code, text = _message(tmp_path, ["--", "no-such-command-xyz"])
    assert code == 127
    assert "could not start" in text
    assert "no-such-command-xyz" in text


def test_termination_message_leaves_the_apps_own_alone(tmp_path: Path) -> None:
    """If the app wrote its own message, pyinit keeps its hands off."""
    path = tmp_path / "termination-log"
    path.touch()
    result = run_pyinit(
        ["--termination-log", str(path), "--", "sh", "-c", f"echo app-said-this > {path}; exit 2"]
    )
    assert result.returncode == 2
    assert path.read_text() == "app-said-this\n"


def test_unwritable_termination_log_does_not_change_the_exit_code(tmp_path: Path) -> None:
    """A failure to write the message is logged; the exit code stays the app's."""
    result = run_pyinit(
        ["--termination-log", str(tmp_path / "no" / "dir"), "--", "sh", "-c", "exit 6"]
    )
    assert result.returncode == 6
    assert "termination" not in result.stdout


# -- JSON log ------------------------------------------------------------------------------


def test_json_log_has_one_object_per_line_with_lifecycle_events_in_order() -> None:
    """--log-format json: every line parses, each has an ISO-8601 ts and an event name."""
    with Running(["--log-format", "json", "--", *reporter("--exit-on", "TERM")]) as run:
        run.ready()
        run.send(signal.SIGTERM)
        assert run.wait() == 0
        lines = run.stderr().splitlines()
    records = [json.loads(line) for line in lines]
    events = [r["event"] for r in records]
    expected = [
        "child_started",
        "signal_received",
        "stop_begun",
        "signal_forwarded",
        "child_exited",
        "pyinit_exit",
    ]
    assert [e for e in events if e in expected] == expected
    for record in records:
        assert record["ts"].endswith("Z")
        time.strptime(record["ts"][:19], "%Y-%m-%dT%H:%M:%S")
    assert records[-1]["exit_code"] == 0


def test_json_log_records_escalation_with_the_killed_processes() -> None:
    """The escalation event lists each killed process with pid and name."""
    args = ["--log-format", "json", "--grace-period", "0.3", "--", *reporter("--ignore", "TERM")]
    with Running(args) as run:
        pid, _ = run.ready()
        run.send(signal.SIGTERM)
        assert run.wait() == 137
        records = [json.loads(line) for line in run.stderr().splitlines()]
    escalations = [r for r in records if r["event"] == "escalated"]
    assert len(escalations) == 1
    assert pid in [p["pid"] for p in escalations[0]["killed"]]
