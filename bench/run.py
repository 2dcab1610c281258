#!/usr/bin/env python3
"""pyinit side by side with tini, dumb-init and catatonit, in one run.

    python bench/run.py [--smoke] [--json PATH] [--python VENV_PYTHON] [--inits a,b,...]

Every init runs as PID 1 of its own PID namespace (`unshare --pid --fork --mount-proc`). Samples are
taken round-robin, one init after the other (the starting init rotates every round), so drift of
the machine (other jobs, frequency scaling) spreads over all inits alike; compare the ratios more
than the absolute numbers. An init that is not installed is skipped and the output says so.

By default pyinit is measured as a user gets it: a fresh venv (no pip) with a plain, non-editable
copy of this checkout's `pyinit/` and the `bin/pyinit` script as pip installs it. An
editable install would load setuptools' import finder (~10 ms) into every interpreter start-up,
the floor included. `--python` measures an existing installation instead.

Metrics (see `METRICS`), one module each, with the rows of the table it produces and its targets:
idle.py (idle wake-ups), startup.py (start-up, start-up window), latency.py (forwarding latency),
reaping.py, memory.py, stop.py (stop latency). runtime.py runs the long-lived sessions that idle,
latency, reaping and memory share; harness.py holds the processes, install.py the staged install,
report.py the table. `--smoke` runs a few iterations of each in well under a minute and checks
that the JSON it wrote is complete; it asserts nothing about timing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import install
import report as report_module
import runtime
import startup
import stop
from cells import get
from harness import FULL, SMOKE, Plan, Tools

SCHEMA_VERSION = 1

METRICS = (
    "idle_wakeups",
    "startup",
    "startup_window",
    "forwarding_latency",
    "reaping",
    "memory",
    "stop_latency",
)

PHASES = ("startup", "window", "runtime", "stop")


def machine() -> dict[str, object]:
    load = os.getloadavg()
    return {
        "kernel": platform.release(),
        "cpus": os.cpu_count(),
        "loadavg_at_start": [round(x, 2) for x in load],
        "python": platform.python_version(),
    }


def run(args: argparse.Namespace) -> dict[str, object]:
    plan = SMOKE if args.smoke else FULL
    began = time.monotonic()
    home = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="pyinit-bench-") as scratch:
        work = Path(scratch)
        # `python -m pyinit` looks in the working directory first: in a checkout it would run the
        # source tree (without .pyc files under PYTHONDONTWRITEBYTECODE) instead of the install.
        os.chdir(work)
        try:
            return _measure_all(args, plan, work, began)
        finally:
            os.chdir(home)


def _measure_all(
    args: argparse.Namespace, plan: Plan, work: Path, began: float
) -> dict[str, object]:
    python = args.python or str(install.stage_install(work / "venv"))
    tools = Tools(python)
    wanted = set(args.inits.split(",")) if args.inits else None
    inits, missing = install.find_inits(python, wanted)
    if args.before:
        inits.insert(1, install.stage_revision(args.before, work))
    for name, why in missing.items():
        print(f"bench: skipping {name}: {why}", file=sys.stderr)
    errors = work / "stderr.log"
    report: dict[str, object] = {
        "schema": SCHEMA_VERSION,
        "mode": "smoke" if args.smoke else "full",
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        "plan": plan.as_dict(),
        "python": python,
        "staged": args.python is None,
        "inits": {
            "measured": [init.name for init in inits],
            "argv": {init.name: init.argv for init in inits},
            "versions": install.describe_versions(inits, python),
            "skipped": missing,
        },
    }
    metrics: dict[str, object] = {}
    only = set(args.only.split(",")) if args.only else set(PHASES)
    runtime_inits = [init for init in inits if init.runtime]
    phases: dict[str, Callable[[], object]] = {
        "startup": lambda: metrics.update(startup=startup.measure_startup(tools, inits, plan)),
        "window": lambda: metrics.update(
            startup_window=startup.measure_window(tools, inits, plan, work)
        ),
        "runtime": lambda: metrics.update(
            runtime.measure_runtime(tools, inits, plan, errors, python)
        ),
        "stop": lambda: metrics.update(
            stop_latency=stop.measure_stop(tools, runtime_inits, plan, errors)
        ),
    }
    for name, action in phases.items():
        if name in only:
            _phase(name, action)
    report["metrics"] = {key: metrics[key] for key in METRICS if key in metrics}
    report["targets"] = report_module.verdicts(metrics)
    report["seconds"] = round(time.monotonic() - began, 1)
    stderr_text = errors.read_text(errors="replace") if errors.exists() else ""
    report["init_stderr_tail"] = stderr_text[-2000:]
    return report


def _phase(name: str, action: Callable[[], object]) -> None:
    began = time.monotonic()
    print(f"bench: {name} ...", file=sys.stderr, flush=True)
    action()
    print(f"bench: {name} done in {time.monotonic() - began:.1f}s", file=sys.stderr, flush=True)


def check_complete(path: Path, name: str = "pyinit") -> list[str]:
    """What the written JSON lacks: every metric must hold a result for `name`."""
    report = json.loads(path.read_text())
    problems = []
    for metric in METRICS:
        section = get(report, "metrics", metric)
        if not isinstance(section, dict):
            problems.append(f"{metric}: missing")
        elif "skipped" not in section and name not in (section.get("results") or {}):
            problems.append(f"{metric}: no result for {name}")
    return problems


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--smoke", action="store_true", help="a few iterations; no timing claims")
    parser.add_argument("--json", type=Path, help="write the full results here")
    parser.add_argument(
        "--python", help="interpreter of an existing pyinit install (default: stage this checkout)"
    )
    parser.add_argument("--inits", help="comma-separated subset, e.g. pyinit,tini")
    parser.add_argument("--only", help=f"comma-separated phases of {','.join(PHASES)}")
    parser.add_argument(
        "--before", metavar="REV", help="also measure git revision REV's pyinit, as 'pyinit before'"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if os.geteuid() != 0:
        print("bench: needs root (unshare --pid)", file=sys.stderr)
        return 2
    report = run(args)
    text = report_module.table(report)
    print(text)
    print(
        f"\n{report['mode']} run, {report['seconds']}s, load at start "
        f"{get(report, 'machine', 'loadavg_at_start')}; skipped: "
        f"{get(report, 'inits', 'skipped') or 'none'}"
    )
    if args.json is not None:
        args.json = args.json.resolve()
        args.json.write_text(json.dumps(report, indent=2, allow_nan=False) + "\n")
        problems = check_complete(args.json)
        if problems and args.smoke:
            print("bench: incomplete results: " + "; ".join(problems), file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
