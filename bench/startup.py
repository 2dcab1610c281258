"""Start-up and the start-up window: the table's "start-up" and "start-up window" rows.

Start-up is the wall time of `INIT -- true` as PID 1 of a new namespace, minus the namespace
itself, against the Python floor (`python -c pass` of the interpreter that runs pyinit). The window
is the time from the init's execve to its first signal-blocking rt_sigprocmask, under strace: a
SIGTERM that reaches a PID 1 before that is lost. Targets (issue 15): window <= 0.6x the floor
for pyinit as pip installs it, <= 1.0x for `python -m pyinit`; start-up <= 2.5x.
"""

from __future__ import annotations

import re
import statistics
import subprocess
from collections.abc import Sequence
from pathlib import Path

from cells import Row, Verdicts, fmt, mark, num, row, verdict, with_ratio
from harness import Init, Plan, Tools, timed_run
from stats import median_or_none, ratio, rotated, summary

BARE_BLOCK = "import _signal; _signal.pthread_sigmask(_signal.SIG_BLOCK, {_signal.SIGTERM})"
WINDOW_LIMIT = 0.6
WINDOW_LIMIT_M = 1.0
STARTUP_LIMIT = 2.5


def measure_startup(tools: Tools, inits: Sequence[Init], plan: Plan) -> dict[str, object]:
    """Wall of `init -- true` as PID 1; the floor and the namespace itself are measured alike."""
    floor = Init("python floor", [tools.python, "-c", "pass"])
    bare = Init("namespace only", [tools.true])
    entries = [*inits, floor, bare]
    samples: dict[str, list[float]] = {entry.name: [] for entry in entries}
    failures: dict[str, int] = {}
    for entry in entries:  # warm the page cache and the .pyc files
        timed_run(_startup_argv(tools, entry, floor, bare))
    for turn in range(plan.startup):
        for entry in rotated(entries, turn):
            wall, code = timed_run(_startup_argv(tools, entry, floor, bare))
            if code != 0:
                failures[entry.name] = failures.get(entry.name, 0) + 1
            samples[entry.name].append(wall * 1000)
    baseline = statistics.median(samples[bare.name])
    floor_net = statistics.median(samples[floor.name]) - baseline
    results: dict[str, object] = {}
    for entry in entries:
        median = statistics.median(samples[entry.name])
        net = median - baseline
        results[entry.name] = {
            "wall_ms": summary(samples[entry.name]),
            "net_ms": round(net, 3),
            "ratio_to_floor": ratio(net, floor_net) if entry is not bare else None,
            "failures": failures.get(entry.name, 0),
        }
    return {
        "unit": "ms",
        "how": "wall of `unshare ... INIT -- true`; net = minus `unshare ... true`; floor = "
        "`unshare ... python -c pass` with the interpreter that runs pyinit",
        "floor_net_ms": round(floor_net, 3),
        "results": results,
    }


def _startup_argv(tools: Tools, entry: Init, floor: Init, bare: Init) -> list[str]:
    if entry is floor or entry is bare:
        return tools.namespace(entry.argv)
    return tools.namespace([*entry.argv, tools.true])


_STRACE_LINE = re.compile(r"^(\d+)\s+(\d+\.\d+)\s+(?:<\.\.\. )?(\w+)[( ](.*)$")


def measure_window(
    tools: Tools, inits: Sequence[Init], plan: Plan, work: Path
) -> dict[str, object]:
    """Time from the init's execve to its first signal-blocking rt_sigprocmask, under strace.

    strace stops the tracee only at the few traced syscalls (seccomp-bpf), so the cost of tracing
    is small and the same for every init; the floor is execve to exit_group of `python -c pass`
    under the same tracing.
    """
    if tools.strace is None:
        return {"skipped": "strace is not installed", "results": {}}
    floor = Init("python floor", [tools.python, "-c", "pass"])
    # The interpreter's own limit: nothing before the block but `python -IS` itself.
    bare = Init("python -IS block", [tools.python, "-IS", "-c", BARE_BLOCK])
    entries = [*inits, floor, bare]
    samples: dict[str, list[float]] = {entry.name: [] for entry in entries}
    problems: dict[str, str] = {}
    trace = work / "window.strace"
    for turn in range(plan.window + 1):  # the first round only warms up
        for entry in rotated(entries, turn):
            argv = entry.argv if entry in (floor, bare) else [*entry.argv, tools.true]
            command = [
                tools.strace, "-f", "--seccomp-bpf", "-qq", "-ttt", "-o", str(trace),
                "-e", "trace=execve,rt_sigprocmask,exit_group",
                *tools.namespace(argv),
            ]  # fmt: skip
            subprocess.run(
                command, stdin=subprocess.DEVNULL, capture_output=True, timeout=60, check=False
            )
            until = "exit_group" if entry is floor else "rt_sigprocmask"
            window = window_from_trace(trace.read_text(), entry.argv[0], until)
            if window is None:
                problems[entry.name] = "no execve/" + until + " pair found in the trace"
            elif turn > 0:
                samples[entry.name].append(window * 1000)
    floor_median = median_or_none(samples[floor.name])
    results: dict[str, object] = {}
    for entry in entries:
        median = median_or_none(samples[entry.name])
        results[entry.name] = {
            "ms": summary(samples[entry.name]),
            "ratio_to_floor": ratio(median, floor_median),
        }
        if entry.name in problems:
            results[entry.name] = {**results[entry.name], "problem": problems[entry.name]}  # type: ignore[dict-item]
    return {
        "unit": "ms",
        "how": "strace -f --seccomp-bpf: execve of the init -> its first rt_sigprocmask that "
        "blocks signals; floor: execve -> exit_group of `python -c pass`; `python -IS block`: "
        "a bare `python -IS -c` whose first statement blocks SIGTERM",
        "results": results,
    }


def window_from_trace(text: str, program: str, until: str) -> float | None:
    """Seconds from the execve of `program` to `until` in the same process, or None."""
    exec_pid, exec_at = 0, 0.0
    for line in text.splitlines():
        match = _STRACE_LINE.match(line)
        if match is None:
            continue
        pid, stamp, call, rest = int(match[1]), float(match[2]), match[3], match[4]
        if not exec_pid:
            if call == "execve" and rest.startswith(f'"{program}"') and "resumed" not in line:
                exec_pid, exec_at = pid, stamp
            continue
        if pid != exec_pid or call != until or "resumed>" in line:
            continue
        if until == "rt_sigprocmask" and not rest.startswith(("SIG_BLOCK", "SIG_SETMASK, ~")):
            continue
        return stamp - exec_at
    return None


def verdicts(metrics: object, name: str = "pyinit") -> Verdicts:
    out: Verdicts = {}
    start = num(metrics, "startup", "results", name, "ratio_to_floor")
    verdict(out, "startup_x_floor", start, f"<= {STARTUP_LIMIT}", STARTUP_LIMIT)
    window = num(metrics, "startup_window", "results", name, "ratio_to_floor")
    verdict(out, "window_x_floor", window, f"<= {WINDOW_LIMIT}", WINDOW_LIMIT)
    window_isolated = num(metrics, "startup_window", "results", f"{name} -IS", "ratio_to_floor")
    verdict(out, "window_IS_x_floor", window_isolated, f"<= {WINDOW_LIMIT}", WINDOW_LIMIT)
    window_m = num(metrics, "startup_window", "results", f"{name} -m", "ratio_to_floor")
    verdict(out, "window_m_x_floor", window_m, f"<= {WINDOW_LIMIT_M}", WINDOW_LIMIT_M)
    return out


def rows(metrics: object, names: list[str], marks: Verdicts) -> list[Row]:
    window_target = (
        f"≤ {WINDOW_LIMIT}x{mark(marks, 'window_x_floor')} "
        f"(-IS{mark(marks, 'window_IS_x_floor')}); "
        f"-m ≤ {WINDOW_LIMIT_M}x{mark(marks, 'window_m_x_floor')}"
    )
    return [
        row(
            "start-up, ms (x floor)",
            names,
            lambda n: with_ratio(metrics, ("startup", "results", n, "net_ms"), "ratio_to_floor"),
            fmt(num(metrics, "startup", "floor_net_ms"), 1),
            f"≤ {STARTUP_LIMIT}x" + mark(marks, "startup_x_floor"),
        ),
        row(
            "start-up window, ms (x floor)",
            names,
            lambda n: with_ratio(
                metrics, ("startup_window", "results", n, "ms", "median"), "ratio_to_floor"
            ),
            fmt(num(metrics, "startup_window", "results", "python floor", "ms", "median"), 1)
            + " (bare -IS block: "
            + with_ratio(
                metrics,
                ("startup_window", "results", "python -IS block", "ms", "median"),
                "ratio_to_floor",
            )
            + ")",
            window_target,
        ),
    ]
