"""Forwarding a plain signal does only the work it needs: it is pyinit's hot path.

A signal name is built only for a log line that is written; building it for every forwarded
signal cost a few microseconds of forwarding latency (an enum lookup on a cold cache).
"""

from __future__ import annotations

import os
import signal

import pytest

from pyinit import procfs, signals, supervisor
from pyinit.cli import build_config
from pyinit.log import Log


class Calls:
    def __init__(self) -> None:
        self.killpg: list[tuple[int, int]] = []
        self.names: list[int] = []


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Calls:
    seen = Calls()
    monkeypatch.setattr(os, "killpg", lambda pgid, signum: seen.killpg.append((pgid, signum)))
    real_name = signals.signal_name

    def counting_name(signum: int) -> str:
        seen.names.append(signum)
        return real_name(signum)

    monkeypatch.setattr(supervisor, "signal_name", counting_name)
    return seen


def supervising(args: list[str], level: int) -> supervisor.Supervisor:
    sup = supervisor.Supervisor(build_config([*args, "--", "true"], {}), Log(level))
    sup.main_pid, sup.main_alive = 4242, True
    return sup


def test_plain_forward_builds_no_signal_name(calls: Calls) -> None:
    sup = supervising([], Log().level)
    sup._forward(signal.SIGUSR1)
    assert calls.killpg == [(4242, signal.SIGUSR1)]
    assert calls.names == []
    assert sup.record.forwarded == {signal.SIGUSR1: 1}


def test_rewritten_forward_still_names_both_signals_when_logging(calls: Calls) -> None:
    sup = supervising(["--rewrite", "USR1:USR2"], 10)
    sup._forward(signal.SIGUSR1)
    assert calls.killpg == [(4242, signal.SIGUSR2)]
    assert signal.SIGUSR1 in calls.names
    assert signal.SIGUSR2 in calls.names


def test_dropped_signal_is_not_sent(calls: Calls) -> None:
    sup = supervising(["--rewrite", "WINCH:DROP"], 10)
    sup._forward(signal.SIGWINCH)
    assert calls.killpg == []
    assert calls.names == [signal.SIGWINCH]


class FakeDispositions(procfs.Dispositions):
    """The main child's dispositions as a set of handled signals; counts the questions."""

    def __init__(self, handled: set[int]) -> None:
        super().__init__(-1)
        self.handled, self.asked = handled, 0

    def handles(self, signum: int) -> bool:
        self.asked += 1
        return signum in self.handled


def test_a_signal_the_main_child_handles_goes_to_it_alone(
    calls: Calls, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Default forwarding: one question per signal; handled -> kill(main), default -> killpg."""
    killed: list[tuple[int, int]] = []
    monkeypatch.setattr(os, "kill", lambda pid, signum: killed.append((pid, signum)))
    sup = supervising([], Log().level)
    sup.dispositions = fake = FakeDispositions({signal.SIGUSR1})
    sup._forward(signal.SIGUSR1)
    sup._forward(signal.SIGUSR2)
    assert killed == [(4242, signal.SIGUSR1)]
    assert calls.killpg == [(4242, signal.SIGUSR2)]
    assert fake.asked == 2


def test_sigcont_goes_to_the_group_without_asking(calls: Calls) -> None:
    """Resuming ends nothing, and Ctrl-Z stopped the whole group: SIGCONT always goes to it."""
    sup = supervising([], Log().level)
    sup.dispositions = fake = FakeDispositions({signal.SIGCONT})
    sup._forward(signal.SIGCONT)
    assert calls.killpg == [(4242, signal.SIGCONT)]
    assert fake.asked == 0
