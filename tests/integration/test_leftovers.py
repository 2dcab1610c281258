"""When the main child exits first, its leftovers get SIGTERM, the grace period, then SIGKILL;
pyinit reaps them all and exits with the main child's code (subreaper mode, not PID 1)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import psutil
import pytest

from helpers import Running, reporter, sleep_until, until_ready_sh

pytestmark = pytest.mark.integration


def _pids_alive(pids: list[int]) -> list[int]:
    return [
        pid for pid in pids if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"
    ]


@pytest.mark.parametrize("detach", ["", "setsid "], ids=["same-group", "setsid"])
def test_leftover_gets_sigterm_and_cleans_up_before_pyinit_exits(
    detach: str, tmp_path: Path
) -> None:
    """A background worker left behind (even one that called setsid) is stopped gracefully."""
    log = tmp_path / "worker.log"
    worker = " ".join(reporter("--exit-on", "TERM", "--write-file", str(log)))
    script = f"{detach}{worker} & {until_ready_sh(log)}; exit 3"
    with Running(["--grace-period", "5", "--", "sh", "-c", script]) as run:
        pid, _ = run.ready()
        started = time.monotonic()
        assert run.wait() == 3
        assert time.monotonic() - started < 3
        assert "cleanup SIGTERM" in log.read_text()
        assert not _pids_alive([pid])


def test_leftover_that_ignores_sigterm_is_killed_after_the_grace(tmp_path: Path) -> None:
    """A stubborn leftover is SIGKILLed at the deadline; the main child's code still wins."""
    worker = " ".join(reporter("--ignore", "TERM"))
    # The main child exits when told: the deadline then counts from after `started`.
    script = f"setsid {worker} & read go; exit 4"
    with Running(["--grace-period", "0.5", "--", "sh", "-c", script], stdin=subprocess.PIPE) as run:
        pid, _ = run.ready()
        started = time.monotonic()
        assert run.proc.stdin is not None
        run.proc.stdin.write(b"go\n")
        run.proc.stdin.flush()
        assert run.wait() == 4
        assert 0.5 <= time.monotonic() - started < 2.5
        assert not _pids_alive([pid])
        assert "SIGKILLed" in run.stderr()


def test_keep_orphans_leaves_leftovers_running(tmp_path: Path) -> None:
    """--keep-orphans: pyinit exits with the main child and does not touch the rest."""
    ready = tmp_path / "ready"
    worker = " ".join(reporter("--write-file", str(ready)))
    script = f"setsid {worker} & {until_ready_sh(ready)}; exit 0"
    with Running(["--keep-orphans", "--", "sh", "-c", script]) as run:
        pid, _ = run.ready()
        assert run.wait() == 0
        try:
            assert _pids_alive([pid]) == [pid]
        finally:
            psutil.Process(pid).kill()


def test_double_forked_orphans_are_reaped_while_the_main_child_runs() -> None:
    """As a subreaper, pyinit collects orphans that die under it: no zombies pile up."""
    spawn = "for i in $(seq 50); do (sh -c 'exit 0' &) ; done"
    app = " ".join(reporter("--exit-on", "TERM"))
    with Running(["--", "sh", "-c", f"{spawn}; exec {app}"]) as run:
        pid, _ = run.ready()
        pyinit = psutil.Process(run.proc.pid)

        # Until the app alone is left: an orphan may still be running (not yet a zombie) when
        # the app is ready, and any child may be reaped between two looks at it.
        sleep_until(lambda: [child.pid for child in pyinit.children()] == [pid])
        run.send(15)
        assert run.wait() == 0


def test_nothing_of_the_job_survives_pyinit(tmp_path: Path) -> None:
    """A tree of daemons, some ignoring SIGTERM, is gone when pyinit returns."""
    files = [tmp_path / f"ready{i}" for i in range(3)]
    stubborn = [" ".join(reporter("--ignore", "TERM", "--write-file", str(f))) for f in files]
    polite = " ".join(reporter("--exit-on", "TERM", "--write-file", str(files[1])))
    waits = "; ".join(until_ready_sh(f) for f in files)
    script = (
        f"setsid {stubborn[0]} & {polite} & (setsid sh -c '{stubborn[2]} & wait' &) ; "
        f"{waits}; exit 0"
    )
    with Running(["--grace-period", "0.5", "--", "sh", "-c", script]) as run:
        pids = [run.ready()[0] for _ in range(3)]
        assert run.wait() == 0
        assert _pids_alive(pids) == []
