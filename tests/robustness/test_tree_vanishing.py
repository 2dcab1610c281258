"""Part 4, in process: processes that vanish (or hide) between pyinit's scan and its signal.
`tree` must skip them, signal the rest, and never raise."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator

import psutil
import pytest

from pyinit import procfs, tree
from pyinit.log import DEBUG, Log

pytestmark = pytest.mark.robustness


@pytest.fixture
def vanished() -> psutil.Process:
    """A psutil handle on a real process that has since exited and been reaped."""
    child = subprocess.Popen(["true"])
    handle = psutil.Process(child.pid)
    child.wait(10)
    return handle


@pytest.fixture
def live() -> Iterator[subprocess.Popen[bytes]]:
    child = subprocess.Popen(["sleep", "60"])
    yield child
    child.kill()
    child.wait(10)


def test_scan_skips_vanished_and_unreadable_processes(
    monkeypatch: pytest.MonkeyPatch, vanished: psutil.Process, live: subprocess.Popen[bytes]
) -> None:
    hidden = live.pid + 1_000_000  # a /proc entry whose stat cannot be read (hidepid)
    monkeypatch.setattr(procfs, "_pids", lambda: [vanished.pid, hidden, live.pid])
    assert [info.pid for info in procfs.list_processes(is_pid1=False)] == [live.pid]


def test_recycled_pid_is_not_signalled(live: subprocess.Popen[bytes]) -> None:
    """A scan entry whose pid now has another start time is somebody else: no signal."""
    info = procfs.read_stat(live.pid)
    assert info is not None
    assert info.starttime is not None
    info.starttime -= 1
    assert tree._send(info, signal.SIGTERM) == "it has exited"
    assert live.poll() is None


def test_signalling_a_process_that_vanished_after_the_scan_is_logged_not_raised(
    monkeypatch: pytest.MonkeyPatch,
    vanished: psutil.Process,
    live: subprocess.Popen[bytes],
    capfd: pytest.CaptureFixture[str],
) -> None:
    found = [
        procfs.ProcessInfo(vanished.pid, "gone", [], vanished.pid + 1),
        procfs.ProcessInfo(live.pid, "sleep", [], live.pid),
    ]  # both outside the group signalled below, so each is signalled by pid
    monkeypatch.setattr(tree, "list_processes", lambda is_pid1: found)
    # The group of a process that no longer exists: killpg says ESRCH.
    result = tree.signal_everything(signal.SIGTERM, vanished.pid, False, Log(DEBUG))
    assert result == found
    assert live.wait(10) == -signal.SIGTERM
    assert f"failed to send SIGTERM to {vanished.pid} (gone)" in capfd.readouterr().err


def test_whole_scan_failing_gives_an_empty_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "listdir", _fail_listdir)
    assert procfs.list_processes(is_pid1=False) == []


def _fail_listdir(path: str) -> list[str]:
    raise PermissionError(path)
