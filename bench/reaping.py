"""Reaping: the table's "reaping CPU" and "zombies left" rows. Targets: <= 3x tini's CPU, 0 left.

The child double-forks N orphans that exit at once; each is re-parented to the init, which has
to reap it. The init's CPU comes from /proc/PID/schedstat (stat's 10 ms ticks are kept as a
cross-check); zombies are the init's zombie children left after `plan.settle` seconds.
"""

from __future__ import annotations

import os
import signal
import statistics
from collections.abc import Callable, Sequence
from contextlib import suppress

from cells import Row, Verdicts, fmt, mark, num, row, verdict, with_ratio
from harness import READ_TIMEOUT, Plan, Session, wait_for
from procfs import children, cpu_ns, zombie_children
from stats import median_or_none, ratio, summary

CPU_LIMIT = 3.0


def measure_reaping(
    active: Sequence[Session], plan: Plan, after_first: Callable[[], None]
) -> dict[str, object]:
    """Rounds of `plan.orphans` double-forked orphans per init, interleaved; init CPU per orphan.

    `after_first` runs once every init has had its first round (a memory snapshot).
    """
    cpu: dict[str, list[float]] = {session.init.name: [] for session in active}
    ticks: dict[str, list[float]] = {session.init.name: [] for session in active}
    zombies: dict[str, int] = dict.fromkeys(cpu, 0)
    failures: dict[str, str] = {}
    for turn in range(plan.orphan_rounds):
        start = turn % len(active) if active else 0
        for session in [*active[start:], *active[:start]]:
            name = session.init.name
            try:
                precise, coarse, left = orphan_round(session, plan)
            except (TimeoutError, EOFError) as exc:
                failures[name] = str(exc)
                continue
            cpu[name].append(precise)
            ticks[name].append(coarse)
            zombies[name] = max(zombies[name], left)
        if turn == 0:
            after_first()
    tini = cpu.get("tini")
    tini_median = statistics.median(tini) if tini else None
    results: dict[str, object] = {}
    for name, values in cpu.items():
        median = median_or_none(values)
        results[name] = {
            "cpu_us_per_orphan": summary(values, 2),
            "stat_cpu_us_per_orphan": summary(ticks[name], 2),
            "zombies_left": zombies[name],
            "ratio_to_tini": ratio(median, tini_median),
        }
        if name in failures:
            results[name] = {**results[name], "problem": failures[name]}  # type: ignore[dict-item]
    return {
        "unit": "us of init CPU per orphan",
        "orphans_per_round": plan.orphans,
        "rounds": plan.orphan_rounds,
        "how": "child double-forks N orphans that exit at once; init CPU from /proc/PID/schedstat "
        "(stat utime+stime too, 10 ms ticks); zombies = zombie children of the init left after "
        f"{plan.settle:g}s",
        "results": results,
    }


def orphan_round(session: Session, plan: Plan) -> tuple[float, float, int]:
    """One storm: (CPU us per orphan, same from stat ticks, zombies left after settling)."""
    precise_before, coarse_before = cpu_ns(session.pid)
    os.kill(session.pid, signal.SIGUSR2)
    session.expect("done", timeout=max(READ_TIMEOUT, plan.orphans / 100))
    # Until the agent is the init's only child: "no zombie now" could be read while the last
    # orphans still run, and one that dies before the count below would look unreaped.
    with suppress(TimeoutError):
        wait_for(lambda: len(children(session.pid)) <= 1, plan.settle, "reaped")
    precise_after, coarse_after = cpu_ns(session.pid)
    left = len(zombie_children(session.pid))
    return (
        (precise_after - precise_before) / plan.orphans / 1000,
        (coarse_after - coarse_before) / plan.orphans / 1000,
        left,
    )


def verdicts(metrics: object, name: str = "pyinit") -> Verdicts:
    out: Verdicts = {}
    cpu = num(metrics, "reaping", "results", name, "ratio_to_tini")
    verdict(out, "reap_cpu_x_tini", cpu, f"<= {CPU_LIMIT:g}", CPU_LIMIT)
    zombies = num(metrics, "reaping", "results", name, "zombies_left")
    verdict(out, "zombies_left", zombies, "0", 0)
    return out


def rows(metrics: object, names: list[str], marks: Verdicts) -> list[Row]:
    return [
        row(
            "reaping CPU µs / orphan (x tini)",
            names,
            lambda n: with_ratio(
                metrics, ("reaping", "results", n, "cpu_us_per_orphan", "median"), "ratio_to_tini"
            ),
            "",
            f"≤ {CPU_LIMIT:g}x tini" + mark(marks, "reap_cpu_x_tini"),
        ),
        row(
            "zombies left",
            names,
            lambda n: fmt(num(metrics, "reaping", "results", n, "zombies_left"), 0),
            "",
            "0" + mark(marks, "zombies_left"),
        ),
    ]
