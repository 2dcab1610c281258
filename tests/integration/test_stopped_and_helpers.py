"""A stopped process still gets to stop gracefully, and pyinit's own --stop-command is never
stopped by pyinit."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from helpers import Running, reporter, sleep_until, until_ready_sh

pytestmark = pytest.mark.integration


def test_stopped_main_child_is_resumed_so_it_can_handle_sigterm() -> None:
    """kill -STOP on the app, then a stop: pyinit adds SIGCONT, the app cleans up (not 137)."""
    with Running(["--grace-period", "5", "--", *reporter("--exit-on", "TERM")]) as run:
        pid, _ = run.ready()
        os.kill(pid, signal.SIGSTOP)
        sleep_until(lambda: psutil.Process(pid).status() == psutil.STATUS_STOPPED)
        started = time.monotonic()
        run.send(signal.SIGTERM)
        run.expect("cleanup SIGTERM")
        assert run.wait() == 0
        assert time.monotonic() - started < 3


def test_stopped_leftover_is_resumed_when_it_gets_sigterm(tmp_path: Path) -> None:
    """A stopped daemon left behind by the main child also gets to clean up."""
    log = tmp_path / "worker"
    worker = " ".join(reporter("--exit-on", "TERM", "--write-file", str(log)))
    # The main child exits when told, so the bound below times pyinit and the leftover's
    # clean-up, not the start-up of pyinit and of the reporter.
    script = f"setsid {worker} & {until_ready_sh(log)}; kill -STOP $!; read go; exit 2"
    args = ["--grace-period", "5", "--", "sh", "-c", script]
    with Running(args, stdin=subprocess.PIPE) as run:
        run.ready()
        assert run.proc.stdin is not None
        started = time.monotonic()
        run.proc.stdin.write(b"go\n")
        run.proc.stdin.flush()
        assert run.wait() == 2
        assert time.monotonic() - started < 3
    assert "cleanup SIGTERM" in log.read_text()


def test_stop_command_outlives_the_main_child_it_stopped(tmp_path: Path) -> None:
    """The stop command (nginx -s quit style) may still be finishing when the app exits; it is
    pyinit's own helper and must not get the leftovers' SIGTERM."""
    ready, out, go = tmp_path / "ready", tmp_path / "out", tmp_path / "go"
    app = reporter("--exit-on", "USR1", "--write-file", str(ready))
    stop = (
        f'sh -c \'trap "echo got-sigterm >> {out}" TERM; kill -USR1 $(cut -d" " -f2 {ready}); '
        f"until [ -e {go} ]; do sleep 0.01; done; echo finished >> {out}'"
    )
    args = ["-v", "--stop-command", stop, "--grace-period", "5", "--", *app]
    with Running(args, merge_stderr=True) as run:
        run.ready()
        # The reporter writes the file after its stdout line: the stop command reads the file.
        sleep_until(lambda: ready.read_text().endswith("\n") if ready.exists() else False)
        run.send(signal.SIGTERM)
        run.expect("cleanup SIGUSR1")
        run.expect("pyinit: info: sent SIGTERM to")  # the leftovers' SIGTERM has gone out
        go.touch()
        assert run.wait() == 0
    assert out.read_text() == "finished\n"
