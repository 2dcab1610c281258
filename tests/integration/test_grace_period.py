"""Stop and escalation: SIGTERM, the grace period, SIGKILL for whatever is left."""

from __future__ import annotations

import signal
import time

import pytest

from helpers import Running, reporter

pytestmark = pytest.mark.integration
GRACE = 0.5


def test_child_that_handles_sigterm_exits_with_its_own_code() -> None:
    """A well-behaved app finishes its cleanup and its code comes back, with no escalation."""
    with Running(
        ["--grace-period", "5", "--", *reporter("--exit-on", "TERM", "--code", "0")]
    ) as run:
        run.ready()
        started = time.monotonic()
        run.send(signal.SIGTERM)
        run.expect("cleanup SIGTERM")
        assert run.wait() == 0
        assert time.monotonic() - started < 2


def test_escalates_to_sigkill_after_grace_period() -> None:
    """A child that ignores SIGTERM is SIGKILLed at the deadline: exit 137, logged by name."""
    with Running(["--grace-period", str(GRACE), "--", *reporter("--ignore", "TERM")]) as run:
        run.ready()
        started = time.monotonic()
        run.send(signal.SIGTERM)
        assert run.wait() == 137
        elapsed = time.monotonic() - started
        assert GRACE <= elapsed < GRACE + 2
        err = run.stderr()
        assert "SIGKILLed" in err
        assert "python" in err


def test_second_sigterm_is_forwarded_but_does_not_extend_the_grace() -> None:
    """Each SIGTERM reaches the app; the deadline stays where the first one put it."""
    grace, second_at = 4.0, 2.0
    with Running(["--grace-period", str(grace), "--", *reporter()]) as run:
        run.ready()
        started = time.monotonic()
        run.send(signal.SIGTERM)
        run.expect("got SIGTERM")
        # The second signal is the scenario's input, not a synchronisation. It comes halfway:
        # the app has 2 s to report it before the fixed deadline (4 s) kills it, and pyinit 2 s
        # to act on that deadline before a deadline moved by it (2 + 4 s) could have. The rule
        # itself is unit-tested with a fake clock.
        while time.monotonic() < started + second_at:
            time.sleep(0.05)
        second = time.monotonic()
        run.send(signal.SIGTERM)
        run.expect("got SIGTERM")
        assert run.wait() == 137
        ended = time.monotonic()
        assert ended - started >= grace
        # A deadline moved by the second SIGTERM would be `grace` after pyinit got it, and pyinit
        # got it after `second`.
        assert ended - second < grace


def test_sigint_starts_the_stop_too() -> None:
    """INT is a stop signal by default: forwarded, and it arms the deadline."""
    with Running(["--grace-period", str(GRACE), "--", *reporter()]) as run:
        run.ready()
        run.send(signal.SIGINT)
        run.expect("got ")
        assert run.wait() == 137


def test_sigquit_is_forwarded_but_does_not_start_the_stop() -> None:
    """QUIT is not a stop signal by default (a JVM thread dump): forwarded, nothing killed."""
    args = ["--grace-period", str(GRACE), "--", *reporter("--exit-on", "USR2")]
    with Running(args) as run:
        run.ready()
        run.send(signal.SIGQUIT)
        run.expect("got SIGQUIT")
        # Well past the grace period a stop would have armed, the app must still answer; the
        # pause paces the probes, it synchronises nothing.
        deadline = time.monotonic() + GRACE + 0.5
        while time.monotonic() < deadline:
            run.send(signal.SIGHUP)
            run.expect("got SIGHUP")
            time.sleep(0.05)
        run.send(signal.SIGUSR2)
        run.expect("cleanup SIGUSR2")
        assert run.wait() == 0


def test_other_signals_do_not_start_the_stop() -> None:
    """SIGHUP (a reload, for many apps) is forwarded and nothing is killed."""
    with Running(["--grace-period", "0.2", "--", *reporter("--exit-on", "USR2")]) as run:
        run.ready()
        run.send(signal.SIGHUP)
        run.expect("got SIGHUP")
        run.send(signal.SIGUSR2)
        run.expect("cleanup SIGUSR2")
        assert run.wait() == 0
