"""Idle wake-ups: the table's "idle wake-ups" row. Target: 0.

All inits idle at the same time, each with a child that sleeps in sigwaitinfo; a wake-up is a
context switch of the init (voluntary or not) while nothing happens.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from cells import Row, Verdicts, fmt, mark, num, row, verdict
from harness import Session
from procfs import context_switches


def measure_idle(active: Sequence[Session], seconds: float) -> dict[str, object]:
    """Context switches of each init while its child sleeps; all inits idle at the same time."""
    time.sleep(0.2)  # let the start-up's last wake-ups (the child's exec) pass
    before = {session.init.name: context_switches(session.pid) for session in active}
    time.sleep(seconds)
    results: dict[str, object] = {}
    for session in active:
        count = context_switches(session.pid) - before[session.init.name]
        results[session.init.name] = {
            "switches": count,
            "per_10s": round(count * 10.0 / seconds, 1),
        }
    return {
        "unit": "context switches",
        "seconds": seconds,
        "how": "/proc/PID/status voluntary+nonvoluntary_ctxt_switches of the init",
        "results": results,
    }


def verdicts(metrics: object, name: str = "pyinit") -> Verdicts:
    out: Verdicts = {}
    wake = num(metrics, "idle_wakeups", "results", name, "per_10s")
    verdict(out, "idle_wakeups_per_10s", wake, "0", 0)
    return out


def rows(metrics: object, names: list[str], marks: Verdicts) -> list[Row]:
    seconds = num(metrics, "idle_wakeups", "seconds") or 0
    return [
        row(
            f"idle wake-ups / {seconds:g} s",
            names,
            lambda n: fmt(num(metrics, "idle_wakeups", "results", n, "switches"), 0),
            "",
            "0" + mark(marks, "idle_wakeups_per_10s"),
        )
    ]
