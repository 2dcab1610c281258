"""Stop latency: the table's "stop latency" row. Target: p50 <= tini's + 2 ms.

SIGTERM to the init, whose child has default dispositions and dies of the forwarded signal at
once, until the init itself has exited (poll on its pidfd): what a runtime waits for.
"""

from __future__ import annotations

import os
import select
import signal
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

from cells import Row, Verdicts, fmt, mark, num, row, signed, verdict
from harness import READ_TIMEOUT, Init, Plan, Session, Tools
from stats import rotated, summary

OVER_TINI_LIMIT_MS = 2.0

# The child for stop latency: default dispositions, so the forwarded SIGTERM kills it at once.
SLEEPER = r"""
import os, time
os.write(1, b"ready\n")
time.sleep(3600)
"""


def measure_stop(
    tools: Tools, inits: Sequence[Init], plan: Plan, errors: Path
) -> dict[str, object]:
    """SIGTERM to the init, whose child dies of it at once, until the init has exited."""
    samples: dict[str, list[float]] = {init.name: [] for init in inits}
    codes: dict[str, set[int]] = {init.name: set() for init in inits}
    for turn in range(plan.stop):
        for init in rotated(inits, turn):
            elapsed, code = stop_once(tools, init, errors)
            samples[init.name].append(elapsed * 1000)
            codes[init.name].add(code)
    tini = samples.get("tini")
    tini_median = statistics.median(tini) if tini else None
    results: dict[str, object] = {}
    for name, values in samples.items():
        median = statistics.median(values)
        results[name] = {
            "ms": summary(values),
            "over_tini_ms": None if tini_median is None else round(median - tini_median, 3),
            "exit_codes": sorted(codes[name]),
        }
    return {
        "unit": "ms",
        "how": "harness stamps, kill(init, SIGTERM), poll(pidfd of the init) until it exits",
        "results": results,
    }


def stop_once(tools: Tools, init: Init, errors: Path) -> tuple[float, int]:
    session = Session(tools, init, tools.child(SLEEPER), errors)
    try:
        session.start()
        pidfd = os.pidfd_open(session.pid)
        try:
            poller = select.poll()
            poller.register(pidfd, select.POLLIN)
            sent = time.monotonic()
            os.kill(session.pid, signal.SIGTERM)
            if not poller.poll(READ_TIMEOUT * 1000):
                raise TimeoutError(f"{init.name} did not stop in {READ_TIMEOUT:g}s")
            elapsed = time.monotonic() - sent
        finally:
            os.close(pidfd)
        return elapsed, session.proc.wait(READ_TIMEOUT)
    finally:
        session.close()


def verdicts(metrics: object, name: str = "pyinit") -> Verdicts:
    out: Verdicts = {}
    over = num(metrics, "stop_latency", "results", name, "over_tini_ms")
    verdict(out, "stop_over_tini_ms", over, f"<= {OVER_TINI_LIMIT_MS:g}", OVER_TINI_LIMIT_MS)
    return out


def rows(metrics: object, names: list[str], marks: Verdicts) -> list[Row]:
    return [
        row(
            "stop latency p50, ms (over tini)",
            names,
            lambda n: (
                fmt(num(metrics, "stop_latency", "results", n, "ms", "median"), 2)
                + signed(num(metrics, "stop_latency", "results", n, "over_tini_ms"))
            ),
            "",
            f"≤ tini + {OVER_TINI_LIMIT_MS:g}" + mark(marks, "stop_over_tini_ms"),
        )
    ]
