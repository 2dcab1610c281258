"""The stop sequence as pure transitions, driven by a fake clock."""

from __future__ import annotations

import signal

import pytest

from pyinit import state
from pyinit.state import State

TERM, INT, USR1 = signal.SIGTERM, signal.SIGINT, signal.SIGUSR1


def make(
    grace: float | None = 10.0,
    delay: float = 0.0,
    timeout: float | None = None,
    graces: dict[str, float | None] | None = None,
    stop_signals: frozenset[int] = frozenset({TERM, INT}),
) -> State:
    """A grace period for every cause (an explicit --grace-period), unless `graces` is given."""
    if graces is None:
        graces = dict.fromkeys(("signal", "timeout", "main_exited"), grace)
    return State(now=100.0, graces=graces, delay=delay, timeout=timeout, stop_signals=stop_signals)


def test_first_stop_signal_starts_the_stop_and_the_deadline() -> None:
    """SIGTERM while running: perform the stop action and arm SIGKILL at now + grace."""
    st = make(grace=10)
    assert st.on_signal(TERM, 101.0) == [(state.STOP, TERM)]
    assert st.phase == state.STOPPING
    assert st.next_timeout(101.0) == pytest.approx(10.0)


def test_other_signals_are_forwarded_and_start_nothing() -> None:
    """SIGUSR1 is passed on; pyinit keeps sleeping with no deadline."""
    st = make()
    assert st.on_signal(USR1, 101.0) == [(state.FORWARD, USR1)]
    assert st.phase == state.RUNNING
    assert st.next_timeout(101.0) is None


def test_second_stop_signal_is_forwarded_and_does_not_move_the_deadline() -> None:
    """A repeated SIGTERM reaches the app again but buys no extra time."""
    st = make(grace=10)
    st.on_signal(TERM, 100.0)
    assert st.on_signal(INT, 105.0) == [(state.FORWARD, INT)]
    assert st.kill_at == pytest.approx(110.0)


def test_escalates_to_sigkill_at_the_deadline() -> None:
    """At stop + grace, everything left is SIGKILLed, then pyinit rescans for stragglers."""
    st = make(grace=2)
    st.on_signal(TERM, 100.0)
    assert st.on_tick(101.9) == []
    assert st.on_tick(102.0) == [(state.KILL_ALL, signal.SIGKILL)]
    assert st.escalated
    assert st.main_alive_at_kill
    assert st.next_timeout(102.0) == pytest.approx(state.KILL_RESCAN)
    assert st.on_tick(102.0 + state.KILL_RESCAN) == [(state.KILL_ALL, 0)]


def test_gives_up_when_processes_survive_sigkill() -> None:
    """A process stuck in D state must not keep pyinit waiting forever."""
    st = make(grace=1)
    st.on_signal(TERM, 100.0)
    st.on_tick(101.0)
    assert st.on_tick(101.0 + state.KILL_WAIT) == [(state.GIVE_UP, 0)]
    assert st.done


def test_stop_delay_waits_then_acts() -> None:
    """--stop-delay: nothing happens until the delay is over, then the stop action runs."""
    st = make(grace=10, delay=3)
    assert st.on_signal(TERM, 100.0) == [(state.DELAY_BEGUN, TERM)]
    assert st.next_timeout(100.0) == pytest.approx(3.0)
    assert st.on_tick(102.9) == []
    assert st.on_tick(103.0) == [(state.DELAY_ENDED, TERM), (state.STOP, TERM)]
    assert st.kill_at == pytest.approx(110.0), "grace counts from the signal, not the delay's end"


def test_second_stop_signal_cuts_the_delay_short() -> None:
    """An impatient second Ctrl-C ends the delay at once."""
    st = make(grace=10, delay=5)
    st.on_signal(INT, 100.0)
    assert st.on_signal(INT, 101.0) == [(state.DELAY_ENDED, INT), (state.STOP, INT)]
    assert st.phase == state.STOPPING
    assert st.kill_at == pytest.approx(110.0)


def test_non_stop_signals_are_forwarded_during_the_delay() -> None:
    """While the delay runs, the app still gets every other signal."""
    st = make(grace=10, delay=5)
    st.on_signal(TERM, 100.0)
    assert st.on_signal(USR1, 101.0) == [(state.FORWARD, USR1)]
    assert st.phase == state.DELAYING


def test_timeout_starts_the_stop_like_sigterm() -> None:
    """--timeout: at the limit the stop runs as for SIGTERM and the run counts as timed out."""
    st = make(grace=5, timeout=60)
    assert st.next_timeout(100.0) == pytest.approx(60.0)
    assert st.on_tick(160.0) == [(state.STOP, TERM)]
    assert st.timed_out
    assert st.stop_cause == "timeout"
    assert st.kill_at == pytest.approx(165.0)


def test_timeout_does_not_fire_once_a_stop_began() -> None:
    """A SIGTERM before the limit means the run was stopped, not timed out."""
    st = make(grace=100, timeout=60)
    st.on_signal(TERM, 100.0)
    st.on_tick(170.0)
    assert not st.timed_out


def test_main_child_exit_alone_ends_the_run() -> None:
    """No other process left: done at once."""
    st = make()
    assert st.on_main_exit(0, 101.0, children_left=False, keep_orphans=False) == []
    assert st.done


def test_main_child_exit_with_leftovers_terms_them_with_a_grace() -> None:
    """Leftovers get SIGTERM and the grace period, then SIGKILL; tini and dumb-init exit at once."""
    st = make(grace=4)
    assert st.on_main_exit(0, 101.0, children_left=True, keep_orphans=False) == [
        (state.TERM_ALL, TERM)
    ]
    assert st.phase == state.DRAINING
    assert st.on_tick(105.0) == [(state.KILL_ALL, signal.SIGKILL)]
    assert not st.main_alive_at_kill
    st.on_children_gone()
    assert st.done


def test_keep_orphans_exits_with_the_main_child() -> None:
    """--keep-orphans: leave leftovers alone."""
    st = make()
    assert st.on_main_exit(0, 101.0, children_left=True, keep_orphans=True) == []
    assert st.done


def test_main_exit_during_stop_terms_only_processes_outside_the_group() -> None:
    """Leftovers outside the group (setsid daemons) never saw the stop signal and get SIGTERM;
    the group already did, and a second one mid-drain means "quit now" to many apps."""
    st = make(grace=10)
    st.on_signal(TERM, 100.0)
    assert st.on_main_exit(15, 103.0, children_left=True, keep_orphans=False) == [
        (state.TERM_OUTSIDERS, TERM)
    ]
    assert st.kill_at == pytest.approx(110.0)


def test_main_exit_during_the_delay_terms_everything() -> None:
    """During --stop-delay nobody was told to stop yet: the whole group gets SIGTERM."""
    st = make(grace=10, delay=5)
    st.on_signal(TERM, 100.0)
    assert st.on_main_exit(0, 101.0, children_left=True, keep_orphans=False) == [
        (state.TERM_ALL, TERM)
    ]


def test_children_gone_before_main_status_is_not_done() -> None:
    """Only the main child's status ends the run."""
    st = make()
    st.on_children_gone()
    assert not st.done


DEFAULTS: dict[str, float | None] = {"signal": None, "timeout": 10.0, "main_exited": 10.0}


def test_stop_signal_never_escalates_by_default() -> None:
    """Default grace for a stop signal: no deadline at all, however long the app drains (tini)."""
    st = make(graces=DEFAULTS)
    assert st.on_signal(TERM, 100.0) == [(state.STOP, TERM)]
    assert st.kill_at is None
    assert st.next_timeout(100.0) is None
    assert st.on_tick(100.0 + 3600.0) == []
    assert not st.escalated
    assert st.phase == state.STOPPING


def test_timeout_escalates_after_ten_seconds_by_default() -> None:
    """Default grace for --timeout: 10 s, because no runtime deadline stands behind it."""
    st = make(graces=DEFAULTS, timeout=60)
    assert st.on_tick(160.0) == [(state.STOP, TERM)]
    assert st.kill_at == pytest.approx(170.0)
    assert st.on_tick(169.9) == []
    assert st.on_tick(170.0) == [(state.KILL_ALL, signal.SIGKILL)]


def test_leftovers_after_main_exit_get_ten_seconds_by_default() -> None:
    """Default grace when the main child exits with leftovers: 10 s, then SIGKILL."""
    st = make(graces=DEFAULTS)
    assert st.on_main_exit(0, 101.0, children_left=True, keep_orphans=False) == [
        (state.TERM_ALL, TERM)
    ]
    assert st.kill_at == pytest.approx(111.0)
    assert st.grace == pytest.approx(10.0)


def test_leftovers_after_an_unbounded_signal_stop_get_the_main_exited_grace_from_then() -> None:
    """A signal stop has no deadline; once the main child exits, its leftovers get 10 s from then,
    and the stop keeps its cause and start."""
    st = make(graces=DEFAULTS)
    st.on_signal(TERM, 100.0)
    assert st.on_main_exit(15, 130.0, children_left=True, keep_orphans=False) == [
        (state.TERM_OUTSIDERS, TERM)
    ]
    assert st.kill_at == pytest.approx(140.0)
    assert (st.stop_cause, st.stop_began) == ("signal", 100.0)
    assert st.on_tick(140.0) == [(state.KILL_ALL, signal.SIGKILL)]


def test_explicit_grace_applies_to_a_stop_signal() -> None:
    """An explicit --grace-period (here 25 s) bounds the signal stop as well."""
    st = make(grace=25.0)
    st.on_signal(TERM, 100.0)
    assert st.kill_at == pytest.approx(125.0)


def test_grace_never_means_no_deadline_for_any_cause() -> None:
    """--grace-period 0 (None here) never SIGKILLs: not for a signal, a timeout or leftovers."""
    st = make(grace=None, timeout=5)
    assert st.on_tick(105.0) == [(state.STOP, TERM)]
    assert st.kill_at is None
    assert st.on_main_exit(0, 106.0, children_left=True, keep_orphans=False) == [
        (state.TERM_OUTSIDERS, TERM)
    ]
    assert st.kill_at is None
    assert st.next_timeout(106.0) is None


def test_timeout_stop_starts_at_once_without_the_stop_delay() -> None:
    """--timeout 1s --stop-delay 3s: the stop action runs at the limit, not 3 s later."""
    st = make(grace=10, delay=3, timeout=1)
    assert st.on_tick(101.0) == [(state.STOP, TERM)]
    assert st.phase == state.STOPPING


def test_quit_is_forwarded_and_does_not_stop_by_default() -> None:
    """SIGQUIT (a JVM thread dump) is passed on; the container keeps running, no deadline."""
    st = make()
    assert st.on_signal(signal.SIGQUIT, 101.0) == [(state.FORWARD, signal.SIGQUIT)]
    assert st.phase == state.RUNNING
    assert st.next_timeout(101.0) is None


def test_configured_stop_signals_start_the_stop() -> None:
    """--stop-signals TERM,INT,QUIT: QUIT now gets the stop delay and the deadline."""
    st = make(grace=10, delay=2, stop_signals=frozenset({TERM, INT, signal.SIGQUIT}))
    assert st.on_signal(signal.SIGQUIT, 100.0) == [(state.DELAY_BEGUN, signal.SIGQUIT)]
    assert st.kill_at == pytest.approx(110.0)


def test_a_signal_left_out_of_stop_signals_is_only_forwarded() -> None:
    """--stop-signals TERM: SIGINT is passed on like any other signal."""
    st = make(stop_signals=frozenset({TERM}))
    assert st.on_signal(INT, 100.0) == [(state.FORWARD, INT)]
    assert st.phase == state.RUNNING


def test_time_limit_still_bounds_a_signal_stop_without_a_deadline() -> None:
    """A stop signal sets no deadline by default; --timeout must still end the job: at the limit
    the timeout's grace period starts, and the run counts as timed out."""
    st = make(graces=DEFAULTS, timeout=3)
    st.on_signal(TERM, 101.0)
    assert st.next_timeout(101.0) == pytest.approx(2.0)
    assert st.on_tick(103.0) == []
    assert st.timed_out
    assert st.kill_at == pytest.approx(113.0)
    assert st.on_tick(113.0) == [(state.KILL_ALL, signal.SIGKILL)]


def test_time_limit_ends_a_stop_delay_at_once() -> None:
    """--stop-delay 30s --timeout 5s: the limit does not wait for the delay to run out."""
    st = make(graces=DEFAULTS, delay=30, timeout=5)
    assert st.on_signal(TERM, 101.0) == [(state.DELAY_BEGUN, TERM)]
    assert st.next_timeout(101.0) == pytest.approx(4.0)
    assert st.on_tick(105.0) == [(state.DELAY_ENDED, TERM), (state.STOP, TERM)]
    assert st.kill_at == pytest.approx(115.0)


def test_time_limit_leaves_a_stop_with_its_own_deadline_alone() -> None:
    """An explicit grace period already bounds the stop: the limit changes nothing."""
    st = make(grace=100, timeout=60)
    st.on_signal(TERM, 100.0)
    assert st.next_timeout(100.0) == pytest.approx(100.0)
    assert st.on_tick(170.0) == []
    assert not st.timed_out
    assert st.kill_at == pytest.approx(200.0)
