"""Forwarding latency: the table's three "forwarding" rows. Target: added p50 <= 2x tini's.

The harness stamps CLOCK_MONOTONIC and sends SIGUSR1 to the init; the child stamps it when its
sigwaitinfo returns. "Added" is minus the same round trip with no init at all (the `no init`
session). Then a storm of forwarded signals, each waited for, so none coalesces (memory.py checks
that it leaves no growth).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence

from cells import Row, Verdicts, fmt, mark, num, row, verdict, with_ratio
from harness import Session
from stats import percentile, ratio, summary

ADDED_LIMIT = 2.0


def measure_latency(active: Sequence[Session], direct: Session, count: int) -> dict[str, object]:
    """Interleaved: one SIGUSR1 per init per round, and one straight to a child with no init."""
    entries = [*active, direct]
    samples: dict[str, list[float]] = {session.init.name: [] for session in entries}
    for _ in range(10):  # warm-up
        for session in entries:
            session.stamp_round_trip()
    for turn in range(count):
        start = turn % len(entries)
        for session in [*entries[start:], *entries[:start]]:
            samples[session.init.name].append(session.stamp_round_trip() * 1e6)
    base_p50 = statistics.median(samples[direct.init.name])
    base_p90 = percentile(samples[direct.init.name], 0.9)
    tini = samples.get("tini")
    tini_p50 = statistics.median(tini) if tini else None
    # The no-init baseline is itself subject to the scheduler (the child may wake on the
    # harness's CPU); when it is not below tini's latency, "added" means nothing.
    tini_added = None if tini_p50 is None or tini_p50 <= base_p50 else tini_p50 - base_p50
    results: dict[str, object] = {}
    for session in entries:
        values = samples[session.init.name]
        p50, p90 = statistics.median(values), percentile(values, 0.9)
        added = p50 - base_p50
        results[session.init.name] = {
            "us": summary(values, 1),
            "added_p50_us": round(added, 1),
            "added_p90_us": round(p90 - base_p90, 1),
            "added_ratio_to_tini": ratio(added, tini_added) if session is not direct else None,
            "p50_ratio_to_tini": ratio(p50, tini_p50),
        }
    return {
        "unit": "us",
        "signals": count,
        "how": "harness stamps CLOCK_MONOTONIC, kill(init, SIGUSR1); the child stamps it after "
        "sigwaitinfo; added = minus the same with no init (`no init` row)",
        "results": results,
    }


def signal_storm(active: Sequence[Session], count: int) -> dict[str, float]:
    """`count` forwarded signals per init (each waited for, so none coalesces); signals/s."""
    chunk = max(1, min(1000, count))
    done = dict.fromkeys((session.init.name for session in active), 0)
    spent = dict.fromkeys(done, 0.0)
    turn = 0
    while any(sent < count for sent in done.values()):
        start = turn % len(active)
        for session in [*active[start:], *active[:start]]:
            batch = min(chunk, count - done[session.init.name])
            began = time.perf_counter()
            for _ in range(batch):
                session.stamp_round_trip()
            spent[session.init.name] += time.perf_counter() - began
            done[session.init.name] += batch
        turn += 1
    return {name: round(count / spent[name]) for name in done if spent[name] > 0}


def verdicts(metrics: object, name: str = "pyinit") -> Verdicts:
    out: Verdicts = {}
    added = num(metrics, "forwarding_latency", "results", name, "added_ratio_to_tini")
    verdict(out, "added_latency_p50_x_tini", added, f"<= {ADDED_LIMIT:g}", ADDED_LIMIT)
    return out


def rows(metrics: object, names: list[str], marks: Verdicts) -> list[Row]:
    def us(n: str, key: str) -> str:
        return fmt(num(metrics, "forwarding_latency", "results", n, "us", key), 0)

    def p50(n: str) -> str:
        path = ("forwarding_latency", "results", n, "us", "median")
        return with_ratio(metrics, path, "p50_ratio_to_tini", 0)

    return [
        row(
            "forwarding p50, µs (x tini)",
            names,
            p50,
            "",
            "",
        ),
        row(
            "forwarding p50 / p90, µs",
            names,
            lambda n: f"{us(n, 'median')} / {us(n, 'p90')}",
            "",
            "",
        ),
        row(
            "added forwarding p50, µs (x tini)",
            names,
            lambda n: with_ratio(
                metrics,
                ("forwarding_latency", "results", n, "added_p50_us"),
                "added_ratio_to_tini",
                0,
            ),
            "",
            f"≤ {ADDED_LIMIT:g}x tini" + mark(marks, "added_latency_p50_x_tini"),
        ),
    ]
