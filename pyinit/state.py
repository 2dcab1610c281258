"""The stop sequence as a pure state machine: events and a clock in, actions out.

    RUNNING --stop signal--> DELAYING (--stop-delay) --> STOPPING --deadline, if any--> KILLING
       |   +----------------------- --timeout -------------/  |                           |
       +---- main child exits, others left: DRAINING (SIGTERM them) --deadline-------------+
    any phase --main child gone and no child left (or --keep-orphans)--> DONE

Which signals start the stop (`stop_signals`) and the grace period of each stop cause (signal,
timeout, main_exited; None: no deadline) come from the configuration. The grace deadline
(`kill_at`) is set once, when the stop begins, and never moves: a second stop signal ends a stop
delay early but does not buy more time. The one exception is a stop with no deadline: when the main
child then exits and leaves processes behind, those get the main_exited grace from then. Only a
stop signal gets the stop delay; a time limit is not a load balancer draining. Time is always
`time.monotonic()`. Nothing here touches a process; the supervisor carries out the actions.
"""

from __future__ import annotations

from pyinit.signals import DEFAULT_STOP_SIGNALS

TYPE_CHECKING = False
if TYPE_CHECKING:
    import signal
    from collections.abc import Mapping, Set
else:
    import _signal as signal  # plain-int constants without enum: see pyinit.signals

RUNNING, DELAYING, STOPPING, DRAINING, KILLING, DONE = (
    "running",
    "delaying",
    "stopping",
    "draining",
    "killing",
    "done",
)

# Actions: (kind, signal number or 0).
FORWARD = "forward"  # pass the signal on to the main child (or its group)
STOP = "stop"  # the stop action: run --stop-command, or forward the signal
DELAY_BEGUN = "delay_begun"
DELAY_ENDED = "delay_ended"
TERM_ALL = "term_all"  # the main child is gone: SIGTERM everything left
TERM_OUTSIDERS = "term_outsiders"  # ... but the group was already asked to stop: only the rest
KILL_ALL = "kill_all"  # the grace period is over: SIGKILL everything left
GIVE_UP = "give_up"  # processes survived SIGKILL for KILL_WAIT (stuck in D state)

Action = tuple[str, int]

# After SIGKILL, look again for stragglers this often: a process that forked in the same instant
# may have been missed by the scan, and it would never send us a SIGCHLD.
KILL_RESCAN = 0.1
KILL_WAIT = 5.0


class State:
    __slots__ = (
        "delay",
        "delay_until",
        "escalated",
        "grace",
        "graces",
        "kill_at",
        "kill_give_up_at",
        "main_alive_at_kill",
        "main_status",
        "next_rescan",
        "phase",
        "stop_began",
        "stop_cause",
        "stop_signal",
        "stop_signals",
        "timed_out",
        "timeout_at",
    )

    def __init__(
        self,
        now: float,
        graces: Mapping[str, float | None],
        delay: float,
        timeout: float | None,
        stop_signals: Set[int] = DEFAULT_STOP_SIGNALS,
    ) -> None:
        self.graces, self.delay, self.stop_signals = graces, delay, stop_signals
        self.grace: float | None = None  # the grace period behind kill_at, for the records
        self.phase = RUNNING
        self.timeout_at = None if timeout is None else now + timeout
        self.stop_began: float | None = None
        self.stop_signal: int | None = None
        self.stop_cause: str | None = None  # "signal", "timeout" or "main_exited"
        self.delay_until: float | None = None
        self.kill_at: float | None = None
        self.next_rescan: float | None = None
        self.kill_give_up_at: float | None = None
        self.main_status: int | None = None
        self.timed_out = False
        self.escalated = False
        self.main_alive_at_kill = False

    # -- events ----------------------------------------------------------------------------
    def on_signal(self, signum: int, now: float) -> list[Action]:
        if signum not in self.stop_signals or self.phase == DONE:
            return [(FORWARD, signum)]
        if self.phase == RUNNING:
            return self._begin_stop(signum, now, "signal")
        if self.phase == DELAYING:
            return self._end_delay()
        return [(FORWARD, signum)]

    def on_tick(self, now: float) -> list[Action]:
        """Called after every wake-up: fire whichever deadline has passed."""
        if self._limit_applies() and self._due(self.timeout_at, now):
            return self._reach_time_limit(now)
        if self.phase in (DELAYING, STOPPING, DRAINING) and self._due(self.kill_at, now):
            return self._escalate(now)
        if self.phase == DELAYING and self._due(self.delay_until, now):
            return self._end_delay()
        if self.phase == KILLING and self._due(self.kill_give_up_at, now):
            self.phase = DONE
            return [(GIVE_UP, 0)]
        if self.phase == KILLING and self._due(self.next_rescan, now):
            self.next_rescan = now + KILL_RESCAN
            return [(KILL_ALL, 0)]
        return []

    def on_main_exit(
        self, status: int, now: float, children_left: bool, keep_orphans: bool
    ) -> list[Action]:
        self.main_status = status
        if not children_left or keep_orphans:
            self.phase = DONE
            return []
        if self.phase == KILLING:
            return []
        if self.stop_began is None:
            self.stop_began, self.stop_cause = now, "main_exited"
        if self.kill_at is None:  # no stop yet, or a stop signal with no deadline
            self._arm_deadline("main_exited", now)
        # In STOPPING the group already got the stop action; a second SIGTERM mid-drain means
        # "quit now" to many apps. Processes that left the group (setsid) never got anything.
        kind = TERM_OUTSIDERS if self.phase == STOPPING else TERM_ALL
        self.phase = DRAINING
        return [(kind, signal.SIGTERM)]

    def on_children_gone(self) -> None:
        """No child is left at all; finished once the main child's status is known."""
        if self.main_status is not None:
            self.phase = DONE

    # -- queries ---------------------------------------------------------------------------
    def next_timeout(self, now: float) -> float | None:
        """Seconds until the next deadline, or None to sleep until a signal comes."""
        deadlines = {
            DELAYING: (self.delay_until, self.kill_at),
            STOPPING: (self.kill_at,),
            DRAINING: (self.kill_at,),
            KILLING: (self.next_rescan, self.kill_give_up_at),
        }.get(self.phase, ())
        if self._limit_applies():
            deadlines = (*deadlines, self.timeout_at)
        pending = [d for d in deadlines if d is not None]
        return max(0.0, min(pending) - now) if pending else None

    @property
    def done(self) -> bool:
        return self.phase == DONE

    def _limit_applies(self) -> bool:
        """--timeout bounds the job until something else does: before any stop, and during a
        stop signal's stop that set no deadline (by default a stop signal sets none, and an app
        ignoring it would otherwise outlive the time limit for ever)."""
        if self.timed_out or self.timeout_at is None:
            return False
        return self.phase == RUNNING or (
            self.phase in (DELAYING, STOPPING) and self.kill_at is None
        )

    # -- transitions -----------------------------------------------------------------------
    def _reach_time_limit(self, now: float) -> list[Action]:
        self.timed_out = True
        if self.phase == RUNNING:
            return self._begin_stop(signal.SIGTERM, now, "timeout")
        # A stop signal came first and set no deadline: the time limit's grace period bounds it,
        # and a stop delay still running ends now (a time limit is not a balancer draining).
        self._arm_deadline("timeout", now)
        return self._end_delay() if self.phase == DELAYING else []

    def _arm_deadline(self, cause: str, now: float) -> None:
        """Set kill_at from the grace period of `cause`; no deadline if it has none."""
        self.grace = self.graces.get(cause)
        self.kill_at = None if self.grace is None else now + self.grace

    def _begin_stop(self, signum: int, now: float, cause: str) -> list[Action]:
        self.stop_began, self.stop_signal, self.stop_cause = now, signum, cause
        self._arm_deadline(cause, now)
        if self.delay > 0 and cause == "signal":
            self.phase = DELAYING
            self.delay_until = now + self.delay
            return [(DELAY_BEGUN, signum)]
        self.phase = STOPPING
        return [(STOP, signum)]

    def _end_delay(self) -> list[Action]:
        assert self.stop_signal is not None
        self.phase = STOPPING
        self.delay_until = None
        return [(DELAY_ENDED, self.stop_signal), (STOP, self.stop_signal)]

    def _escalate(self, now: float) -> list[Action]:
        self.phase = KILLING
        self.escalated = True
        self.main_alive_at_kill = self.main_status is None
        self.next_rescan = now + KILL_RESCAN
        self.kill_give_up_at = now + KILL_WAIT
        return [(KILL_ALL, signal.SIGKILL)]

    @staticmethod
    def _due(deadline: float | None, now: float) -> bool:
        return deadline is not None and now >= deadline
