"""As PID 1, one TERM_ALL/KILL_ALL must reach each process once, not once per kill call."""

from __future__ import annotations

import signal

import pytest

from pyinit import tree
from pyinit.log import Log


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL])
def test_pid1_signals_the_namespace_with_one_kill(
    monkeypatch: pytest.MonkeyPatch, signum: int
) -> None:
    sent: list[tuple[str, int, int]] = []
    monkeypatch.setattr(tree, "list_processes", lambda is_pid1: [])
    monkeypatch.setattr(tree.os, "kill", lambda pid, sig: sent.append(("kill", pid, sig)))
    monkeypatch.setattr(tree.os, "killpg", lambda pgid, sig: sent.append(("killpg", pgid, sig)))
    tree.signal_everything(signum, 42, is_pid1=True, log=Log(40, False))
    # kill(-1) already reaches the main child's group; a killpg too would signal it twice.
    assert sent == [("kill", -1, signum)]
