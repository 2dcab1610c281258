"""--parent-death-signal (tini's -p): the race in which the parent dies before prctl() holds."""

from __future__ import annotations

import os
import signal

import pytest

from pyinit import prctl, signals, state, supervisor
from pyinit.cli import build_config
from pyinit.log import Log


def supervising(args: list[str], monkeypatch: pytest.MonkeyPatch) -> supervisor.Supervisor:
    monkeypatch.setattr(prctl, "set_pdeathsig", lambda signum: None)
    sup = supervisor.Supervisor(build_config([*args, "--", "true"], {}), Log())
    sup.is_pid1 = False
    sup.main_pid, sup.main_alive = 4242, True
    return sup


def test_a_parent_that_died_before_prctl_counts_as_the_signal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """pyinit was re-parented before it asked for the signal: it stops as if SIGTERM came."""
    sent: list[tuple[int, int]] = []
    monkeypatch.setattr(os, "killpg", lambda pgid, signum: sent.append((pgid, signum)))
    sup = supervising(["--parent-death-signal", "TERM"], monkeypatch)
    monkeypatch.setattr(os, "getppid", lambda: signals.PARENT_AT_START + 1)
    assert sup._watch_parent()
    sup._on_parent_gone()
    assert sup.state.phase == state.STOPPING
    assert sent == [(4242, signal.SIGTERM)]


def test_a_living_parent_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The usual case: prctl() is set and the signal will come from the kernel."""
    sup = supervising(["--parent-death-signal", "TERM"], monkeypatch)
    monkeypatch.setattr(os, "getppid", lambda: signals.PARENT_AT_START)
    assert not sup._watch_parent()


def test_pid_1_sets_the_parent_death_signal_without_the_race_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As PID 1 the parent (the runtime's shim, unshare) is outside the namespace and getppid()
    is 0: the signal is still asked for, as tini -p does, but nothing is synthesised."""
    calls: list[int] = []
    monkeypatch.setattr(prctl, "set_pdeathsig", calls.append)
    monkeypatch.setattr(os, "getppid", lambda: 0)
    sup = supervisor.Supervisor(build_config(["-p", "TERM", "--", "true"], {}), Log())
    sup.is_pid1 = True
    assert not sup._watch_parent()
    assert calls == [signal.SIGTERM]


def test_a_signal_the_kernel_already_queued_is_not_synthesised(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The parent died after prctl: the kernel sent the signal, so pyinit must not act twice."""
    sup = supervising(["--parent-death-signal", "TERM"], monkeypatch)
    monkeypatch.setattr(os, "getppid", lambda: signals.PARENT_AT_START + 1)
    # The module the supervisor calls (it uses _signal, not signal: see pyinit.signals).
    monkeypatch.setattr("pyinit.supervisor.signal.sigpending", lambda: {signal.SIGTERM})
    assert not sup._watch_parent()
