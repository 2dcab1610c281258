"""Memory: the table's "VmHWM idle", "RssAnon idle", "VmHWM after storms" and "RssAnon growth"
rows. Targets (issue 15): idle RssAnon <= floor + 0.8 MiB, idle VmHWM <= floor + 1 MiB, where the
floor is the same interpreter blocked in a read (`python -c`, with site); no growth over the signal
storm, nor over the orphan storms after the first (a first-round high-water mark is not a leak).

Snapshots of /proc/PID/status are taken by runtime.py on the long-lived sessions: idle, after the
latency rounds (warm), after the signal storm, after the first and after all orphan rounds.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable

from cells import Row, Verdicts, fmt, get, mark, mib, num, row, verdict
from harness import READ_TIMEOUT, Plan, environment
from procfs import memory_status

RSS_ANON_LIMIT_KIB = 819  # 0.8 MiB
VM_HWM_LIMIT_KIB = 1024
GROWTH = (
    ("signals", "signals storm"),
    ("orphans", "orphan storms"),
    ("orphans_after_first_round", "orphan storms after the first"),
)


def measure_floor_memory(python: str) -> dict[str, int | None]:
    """VmHWM/RssAnon of the bare interpreter (with site), blocked in a read."""
    proc = subprocess.Popen(
        [python, "-c", "import os; os.read(0, 1)"], stdin=subprocess.PIPE, env=environment()
    )
    try:
        time.sleep(0.3)  # nothing to handshake with without importing more than the floor
        return memory_status(proc.pid)
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(READ_TIMEOUT)


def memory_report(
    snapshots: dict[str, dict[str, object]], floor: dict[str, int | None], plan: Plan
) -> dict[str, object]:
    results: dict[str, object] = {}
    for name, stages in snapshots.items():
        entry: dict[str, object] = dict(stages)
        idle = stages["idle"]
        assert isinstance(idle, dict)
        entry["over_floor_kib"] = {
            key: _minus(idle.get(key), floor.get(key)) for key in ("VmHWM", "RssAnon")
        }
        warm, signals, first, orphans = (
            _anon(stages.get(k))
            for k in ("after_latency", "after_signals", "after_first_orphans", "after_orphans")
        )
        entry["rss_anon_growth_kib"] = {
            "signals": _minus(signals, warm),
            "orphans": _minus(orphans, signals),
            # after the first round, i.e. growth that would go on: a leak
            "orphans_after_first_round": _minus(orphans, first),
            "since_idle": _minus(orphans, _anon(idle)),
        }
        results[name] = entry
    return {
        "unit": "KiB",
        "how": "/proc/PID/status of the init: idle, after the latency rounds (warm), after "
        f"{plan.signal_storm} more forwarded signals, after the first {plan.orphans} and after "
        f"all {plan.orphans * plan.orphan_rounds} orphans; floor = `python -c` blocked in a read",
        "floor": floor,
        "results": results,
    }


def _anon(stage: object) -> int | None:
    value = stage.get("RssAnon") if isinstance(stage, dict) else None
    return value if isinstance(value, int) else None


def _minus(a: object, b: object) -> int | None:
    return a - b if isinstance(a, int) and isinstance(b, int) else None


def verdicts(metrics: object, name: str = "pyinit") -> Verdicts:
    out: Verdicts = {}
    for key, limit, text in (
        ("VmHWM", VM_HWM_LIMIT_KIB, "<= floor + 1 MiB"),
        ("RssAnon", RSS_ANON_LIMIT_KIB, "<= floor + 0.8 MiB"),
    ):
        over = num(metrics, "memory", "results", name, "over_floor_kib", key)
        verdict(out, f"{key}_over_floor_kib", over, text, limit)
    for key, _ in GROWTH:
        grown = num(metrics, "memory", "results", name, "rss_anon_growth_kib", key)
        verdict(out, f"rss_anon_growth_{key}_kib", grown, "0", 0)
    return out


def rows(metrics: object, names: list[str], marks: Verdicts) -> list[Row]:
    def cell(*path: str, digits: int = 1, in_mib: bool = True) -> Callable[[str], str]:
        def show(name: str) -> str:
            value = num(metrics, "memory", "results", name, *path)
            return fmt(mib(value) if in_mib else value, digits)

        return show

    floor = get(metrics, "memory", "floor")
    lines = [
        row(
            "VmHWM idle, MiB",
            names,
            cell("idle", "VmHWM"),
            fmt(mib(num(floor, "VmHWM"))),
            "≤ floor + 1" + mark(marks, "VmHWM_over_floor_kib"),
        ),
        row(
            "RssAnon idle, MiB",
            names,
            cell("idle", "RssAnon"),
            fmt(mib(num(floor, "RssAnon"))),
            "≤ floor + 0.8" + mark(marks, "RssAnon_over_floor_kib"),
        ),
        row("VmHWM after storms, MiB", names, cell("after_orphans", "VmHWM"), "", ""),
    ]
    for key, label in GROWTH:
        lines.append(
            row(
                f"RssAnon growth over the {label}, KiB",
                names,
                cell("rss_anon_growth_kib", key, digits=0, in_mib=False),
                "",
                "0" + mark(marks, f"rss_anon_growth_{key}_kib"),
            )
        )
    return lines
