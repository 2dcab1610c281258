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

Metrics (see `METRICS`): idle wake-ups, start-up, start-up window, forwarding latency, reaping,
memory, stop latency. `--smoke` runs a few iterations of each in well under a minute and checks
that the JSON it wrote is complete; it asserts nothing about timing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCHEMA_VERSION = 1
NAMESPACE = ["--pid", "--fork", "--mount-proc", "--kill-child"]
READ_TIMEOUT = 20.0
METRICS = (
    "idle_wakeups",
    "startup",
    "startup_window",
    "forwarding_latency",
    "reaping",
    "memory",
    "stop_latency",
)
C_INITS = ("tini", "dumb-init", "catatonit")
PHASES = ("startup", "window", "runtime", "stop")

# The child for the long-lived sessions. SIGUSR1: stamp CLOCK_MONOTONIC right after sigwaitinfo
# returns and print it; SIGUSR2: make argv[1] double-forked orphans (each grandchild exits at once
# and is re-parented to the init, which has to reap it), then print "done". Any other signal has its
# default action, so SIGTERM ends it at once. Run with -I -S: no site, few imports.
AGENT = r"""
import os, signal, sys, time
orphans = int(sys.argv[1])
wanted = {signal.SIGUSR1, signal.SIGUSR2}
signal.pthread_sigmask(signal.SIG_BLOCK, wanted)
os.write(1, b"ready\n")
while True:
    info = signal.sigwaitinfo(wanted)
    now = time.monotonic()
    if info.si_signo == signal.SIGUSR1:
        os.write(1, b"t %.9f\n" % now)
        continue
    for _ in range(orphans):
        pid = os.fork()
        if pid == 0:
            if os.fork() == 0:
                os._exit(0)
            os._exit(0)
        os.waitpid(pid, 0)
    os.write(1, b"done\n")
"""
# The child for stop latency: default dispositions, so the forwarded SIGTERM kills it at once.
SLEEPER = r"""
import os, time
os.write(1, b"ready\n")
time.sleep(3600)
"""


class Plan:
    """How many samples of each metric to take."""

    __slots__ = (
        "idle_seconds",
        "latency",
        "orphan_rounds",
        "orphans",
        "settle",
        "signal_storm",
        "startup",
        "stop",
        "window",
    )

    def __init__(
        self,
        startup: int,
        window: int,
        idle_seconds: float,
        latency: int,
        signal_storm: int,
        orphans: int,
        orphan_rounds: int,
        stop: int,
        settle: float,
    ) -> None:
        self.startup, self.window, self.idle_seconds = startup, window, idle_seconds
        self.latency, self.signal_storm, self.stop = latency, signal_storm, stop
        self.orphans, self.orphan_rounds, self.settle = orphans, orphan_rounds, settle

    def as_dict(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.__slots__}


FULL = Plan(
    startup=40,
    window=20,
    idle_seconds=10.0,
    latency=1000,
    signal_storm=100_000,
    orphans=5000,
    orphan_rounds=4,
    stop=30,
    settle=10.0,
)
SMOKE = Plan(
    startup=3,
    window=2,
    idle_seconds=1.0,
    latency=20,
    signal_storm=200,
    orphans=50,
    orphan_rounds=2,
    stop=3,
    settle=5.0,
)


class Init:
    """One init under test: the argv that comes before the child's command."""

    __slots__ = ("argv", "name", "runtime")

    def __init__(self, name: str, argv: list[str], runtime: bool = True) -> None:
        self.name, self.argv = name, argv
        # False: only start-up, start-up window, idle wake-ups and idle memory (the runtime
        # behaviour is the same code as another entry's).
        self.runtime = runtime


class Tools:
    """Absolute paths of the programs the harness runs."""

    __slots__ = ("python", "strace", "true", "unshare")

    def __init__(self, python: str) -> None:
        self.python = python
        self.unshare = _require("unshare")
        self.true = _require("true")
        self.strace = shutil.which("strace")

    def namespace(self, argv: Sequence[str]) -> list[str]:
        return [self.unshare, *NAMESPACE, *argv]

    def child(self, code: str, *args: str) -> list[str]:
        return [self.python, "-I", "-S", "-c", code, *args]


def _require(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise SystemExit(f"bench: {name} is not installed")
    return path


# -- statistics ---------------------------------------------------------------------------------
def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile; values need not be sorted."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]


def summary(values: Sequence[float], digits: int = 3) -> dict[str, object]:
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "median": round(statistics.median(values), digits),
        "p90": round(percentile(values, 0.9), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
    }


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return round(numerator / denominator, 2)


def rotated(items: Sequence[Init], turn: int) -> list[Init]:
    """Round-robin order for one round; the first init changes every round."""
    if not items:
        return []
    start = turn % len(items)
    return [*items[start:], *items[:start]]


# -- /proc --------------------------------------------------------------------------------------
def proc_status(pid: int) -> dict[str, str]:
    fields = {}
    with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as stream:
        for line in stream:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def kib(fields: dict[str, str], key: str) -> int | None:
    value = fields.get(key)
    return int(value.split()[0]) if value else None


def context_switches(pid: int) -> int:
    fields = proc_status(pid)
    return int(fields["voluntary_ctxt_switches"]) + int(fields["nonvoluntary_ctxt_switches"])


def memory(pid: int) -> dict[str, int | None]:
    fields = proc_status(pid)
    return {key: kib(fields, key) for key in ("VmHWM", "VmRSS", "RssAnon", "RssFile")}


def cpu_ns(pid: int) -> tuple[int, int]:
    """(on-CPU time in ns from schedstat, utime+stime in ns from stat's clock ticks)."""
    with open(f"/proc/{pid}/schedstat", encoding="ascii") as stream:
        runtime = int(stream.read().split()[0])
    with open(f"/proc/{pid}/stat", encoding="ascii") as stream:
        rest = stream.read().rsplit(")", 1)[1].split()
    ticks = int(rest[11]) + int(rest[12])
    return runtime, ticks * 1_000_000_000 // os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as stream:
            return [int(word) for word in stream.read().split()]
    except FileNotFoundError:
        return []


def state_of(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stream:
            return stream.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return "gone"


def zombie_children(pid: int) -> list[int]:
    return [child for child in children(pid) if state_of(child) == "Z"]


def wait_for(condition: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:g}s")
        time.sleep(0.001)


# -- processes ----------------------------------------------------------------------------------
def environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("PYINIT_")}


class Session:
    """An init as PID 1 of a new namespace with one child whose stdout the harness reads.

    With an empty init argv the child runs directly (no namespace): the no-init baseline.
    """

    def __init__(self, tools: Tools, init: Init, child: list[str], errors: Path) -> None:
        self.init = init
        read_end, write_end = os.pipe()
        argv = tools.namespace([*init.argv, *child]) if init.argv else child
        with open(errors, "ab") as stderr:
            self.proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=write_end,
                stderr=stderr,
                env=environment(),
                start_new_session=True,  # so teardown reaches every process
            )
        os.close(write_end)
        self._fd = read_end
        self._buffer = b""
        self.pid = 0  # host pid of the init (or of the child when there is no init)

    def start(self) -> None:
        self.expect("ready")
        if not self.init.argv:
            self.pid = self.proc.pid
            return
        found = wait_for(lambda: children(self.proc.pid), READ_TIMEOUT, "init pid")
        assert isinstance(found, list)
        self.pid = found[0]

    def line(self, timeout: float = READ_TIMEOUT) -> str:
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{self.init.name}: no line from the child in {timeout:g}s")
            ready, _, _ = select.select([self._fd], [], [], left)
            if ready:
                chunk = os.read(self._fd, 65536)
                if not chunk:
                    raise EOFError(f"{self.init.name}: the child's stdout closed")
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode()

    def expect(self, prefix: str, timeout: float = READ_TIMEOUT) -> str:
        deadline = time.monotonic() + timeout
        while True:
            text = self.line(max(0.0, deadline - time.monotonic()))
            if text.startswith(prefix):
                return text

    def stamp_round_trip(self) -> float:
        """Signal the init; return the seconds until the child had the forwarded SIGUSR1."""
        sent = time.monotonic()
        os.kill(self.pid, signal.SIGUSR1)
        return float(self.expect("t ").split()[1]) - sent

    def close(self) -> None:
        if self._fd < 0:
            return
        with suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with suppress(subprocess.TimeoutExpired):
            self.proc.wait(READ_TIMEOUT)
        os.close(self._fd)
        self._fd = -1


@contextmanager
def sessions(
    tools: Tools, inits: Sequence[Init], child: list[str], errors: Path
) -> Iterator[list[Session]]:
    started: list[Session] = []
    try:
        for init in inits:
            session = Session(tools, init, child, errors)
            started.append(session)
            session.start()
        yield started
    finally:
        for session in started:
            session.close()


def timed_run(argv: list[str]) -> tuple[float, int]:
    """Wall seconds and exit code of argv, stdio on /dev/null (posix_spawn: little harness cost)."""
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
        (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
    ]
    env = environment()
    began = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, env, file_actions=actions)
    _, status = os.waitpid(pid, 0)
    return time.perf_counter() - began, os.waitstatus_to_exitcode(status)


# -- the installation under test ----------------------------------------------------------------
def stage_install(root: Path) -> Path:
    """A venv with a plain copy of pyinit/ and its bin/pyinit script, whose `#!python` shebang
    pip rewrites at install time the same way; return the venv's python."""
    builder = venv.EnvBuilder(with_pip=False, symlinks=True, clear=True)
    builder.create(root)
    python = root / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout.strip()
    )
    shutil.copytree(REPO / "pyinit", site / "pyinit", ignore=shutil.ignore_patterns("__pycache__"))
    dependency_dirs = sorted({_origin_dir(name) for name in ("click", "psutil")} - {""})
    (site / "pyinit-deps.pth").write_text("".join(f"{path}\n" for path in dependency_dirs))
    script = root / "bin" / "pyinit"
    shipped = (REPO / "bin" / "pyinit").read_text()
    script.write_text(shipped.replace("#!python", f"#!{python}", 1))
    script.chmod(0o755)
    subprocess.run(
        [str(python), "-m", "compileall", "-q", str(site / "pyinit")], check=True, timeout=60
    )
    return python


def _origin_dir(module: str) -> str:
    """The directory that holds `module` in the harness's environment, for pyinit's deps."""
    import importlib.util

    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return ""
    return str(Path(next(iter(spec.submodule_search_locations))).parent)


def find_inits(python: str, wanted: set[str] | None) -> tuple[list[Init], dict[str, str]]:
    """The inits to measure, and why any other was left out."""
    bindir = Path(python).parent
    script = bindir / "pyinit"
    found = []
    missing: dict[str, str] = {}
    if script.exists():
        found.append(Init("pyinit", [str(script), "--"]))
    else:
        missing["pyinit"] = f"no console script at {script}"
    found.append(Init("pyinit -m", [python, "-m", "pyinit", "--"], runtime=False))
    for name in C_INITS:
        path = shutil.which(name)
        if path is None:
            missing[name] = "not installed (apt-get install tini dumb-init catatonit)"
        else:
            found.append(Init(name, [path, "--"]))
    if wanted is not None:
        missing.update({i.name: "not selected (--inits)" for i in found if i.name not in wanted})
        found = [i for i in found if i.name in wanted]
    return found, missing


def describe_versions(inits: Sequence[Init], python: str) -> dict[str, str]:
    versions = {}
    for init in inits:
        if init.name.startswith("pyinit"):
            argv = [python, "-c", "import pyinit; print(pyinit.__version__)"]
        else:
            argv = [init.argv[0], "--version"]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
            text = (done.stdout or done.stderr).strip().splitlines()
            versions[init.name] = text[0] if text else "?"
        except (OSError, subprocess.TimeoutExpired) as exc:
            versions[init.name] = f"? ({exc})"
    return versions


# -- metrics ------------------------------------------------------------------------------------
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
    entries = [*inits, floor]
    samples: dict[str, list[float]] = {entry.name: [] for entry in entries}
    problems: dict[str, str] = {}
    trace = work / "window.strace"
    for turn in range(plan.window + 1):  # the first round only warms up
        for entry in rotated(entries, turn):
            argv = entry.argv if entry is floor else [*entry.argv, tools.true]
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
    floor_median = _median_or_none(samples[floor.name])
    results: dict[str, object] = {}
    for entry in entries:
        median = _median_or_none(samples[entry.name])
        results[entry.name] = {
            "ms": summary(samples[entry.name]),
            "ratio_to_floor": ratio(median, floor_median),
        }
        if entry.name in problems:
            results[entry.name] = {**results[entry.name], "problem": problems[entry.name]}  # type: ignore[dict-item]
    return {
        "unit": "ms",
        "how": "strace -f --seccomp-bpf: execve of the init -> its first rt_sigprocmask that "
        "blocks signals; floor: execve -> exit_group of `python -c pass`",
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


def _median_or_none(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


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
        median = _median_or_none(values)
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
    with suppress(TimeoutError):
        wait_for(lambda: not zombie_children(session.pid), plan.settle, "reaped")
    precise_after, coarse_after = cpu_ns(session.pid)
    left = len(zombie_children(session.pid))
    return (
        (precise_after - precise_before) / plan.orphans / 1000,
        (coarse_after - coarse_before) / plan.orphans / 1000,
        left,
    )


def measure_floor_memory(python: str) -> dict[str, int | None]:
    """VmHWM/RssAnon of the bare interpreter (with site), blocked in a read."""
    proc = subprocess.Popen(
        [python, "-c", "import os; os.read(0, 1)"], stdin=subprocess.PIPE, env=environment()
    )
    try:
        time.sleep(0.3)  # nothing to handshake with without importing more than the floor
        return memory(proc.pid)
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(READ_TIMEOUT)


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


def measure_runtime(
    tools: Tools, inits: Sequence[Init], plan: Plan, errors: Path, python: str
) -> dict[str, dict[str, object]]:
    """Idle wake-ups, forwarding latency, reaping and memory, on one long-lived session per init."""
    agent = tools.child(AGENT, str(plan.orphans))
    floor = measure_floor_memory(python)
    snapshots: dict[str, dict[str, object]] = {}
    with sessions(tools, inits, agent, errors) as active:
        for session in active:
            snapshots[session.init.name] = {"idle": memory(session.pid)}
        idle = measure_idle(active, plan.idle_seconds)
        runtime = [session for session in active if session.init.runtime]
        for session in active:
            if not session.init.runtime:
                session.close()
        with sessions(tools, [Init("no init", [])], agent, errors) as (direct,):
            latency = measure_latency(runtime, direct, plan.latency)
        _snapshot(runtime, snapshots, "after_latency")
        rates = signal_storm(runtime, plan.signal_storm)
        _snapshot(runtime, snapshots, "after_signals")
        reaping = measure_reaping(
            runtime, plan, lambda: _snapshot(runtime, snapshots, "after_first_orphans")
        )
        _snapshot(runtime, snapshots, "after_orphans")
    return {
        "idle_wakeups": idle,
        "forwarding_latency": {**latency, "storm_signals_per_s": rates},
        "reaping": reaping,
        "memory": memory_report(snapshots, floor, plan),
    }


def _snapshot(
    active: Sequence[Session], snapshots: dict[str, dict[str, object]], label: str
) -> None:
    for session in active:
        snapshots[session.init.name][label] = memory(session.pid)


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


# -- the verdict and the table -------------------------------------------------------------------
def _get(tree: object, *path: str) -> object:
    for key in path:
        if not isinstance(tree, dict):
            return None
        tree = tree.get(key)
    return tree


def _num(tree: object, *path: str) -> float | None:
    value = _get(tree, *path)
    return float(value) if isinstance(value, (int, float)) else None


def verdicts(metrics: dict[str, object], name: str = "pyinit") -> dict[str, dict[str, object]]:
    """pyinit's number for each target of issue 6, and whether it is met."""
    out: dict[str, dict[str, object]] = {}

    def verdict(key: str, value: float | None, target: str, met: bool | None) -> None:
        out[key] = {"value": value, "target": target, "met": met}

    def check(value: float | None, limit: float | None) -> bool | None:
        return None if value is None or limit is None else value <= limit

    wake = _num(metrics, "idle_wakeups", "results", name, "per_10s")
    verdict("idle_wakeups_per_10s", wake, "0", check(wake, 0))
    start = _num(metrics, "startup", "results", name, "ratio_to_floor")
    verdict("startup_x_floor", start, "<= 2.5", check(start, 2.5))
    window = _num(metrics, "startup_window", "results", name, "ratio_to_floor")
    verdict("window_x_floor", window, "<= 1.3", check(window, 1.3))
    fwd = _num(metrics, "forwarding_latency", "results", name, "added_ratio_to_tini")
    verdict("added_latency_p50_x_tini", fwd, "<= 2", check(fwd, 2))
    reap = _num(metrics, "reaping", "results", name, "ratio_to_tini")
    verdict("reap_cpu_x_tini", reap, "<= 3", check(reap, 3))
    zombies = _num(metrics, "reaping", "results", name, "zombies_left")
    verdict("zombies_left", zombies, "0", check(zombies, 0))
    for key in ("VmHWM", "RssAnon"):
        over = _num(metrics, "memory", "results", name, "over_floor_kib", key)
        verdict(f"{key}_over_floor_kib", over, "<= 4096", check(over, 4096))
    for key in ("signals", "orphans", "orphans_after_first_round"):
        grown = _num(metrics, "memory", "results", name, "rss_anon_growth_kib", key)
        verdict(f"rss_anon_growth_{key}_kib", grown, "0", check(grown, 0))
    stop = _num(metrics, "stop_latency", "results", name, "over_tini_ms")
    verdict("stop_over_tini_ms", stop, "<= 2", check(stop, 2))
    return out


def table(report: dict[str, object]) -> str:
    """The headline numbers as a markdown table, one column per init."""
    metrics = report["metrics"]
    measured = _get(report, "inits", "measured")
    names = [str(n) for n in measured] if isinstance(measured, list) else []
    header = ["metric", *names, "python floor", "target (pyinit)"]
    rows: list[list[str]] = []

    def row(label: str, cell: Callable[[str], str], floor: str, target: str) -> None:
        rows.append([label, *(cell(n) for n in names), floor, target])

    def fmt(value: float | None, digits: int = 1, suffix: str = "") -> str:
        return "-" if value is None else f"{value:.{digits}f}{suffix}"

    verdict = verdicts(metrics)  # type: ignore[arg-type]

    def mark(key: str) -> str:
        met = verdict[key]["met"]
        return " ✓" if met is True else (" ✗" if met is False else "")

    secs = _num(metrics, "idle_wakeups", "seconds") or 0
    row(
        f"idle wake-ups / {secs:g} s",
        lambda n: fmt(_num(metrics, "idle_wakeups", "results", n, "switches"), 0),
        "",
        "0" + mark("idle_wakeups_per_10s"),
    )
    row(
        "start-up, ms (x floor)",
        lambda n: _with_ratio(metrics, ("startup", "results", n, "net_ms"), "ratio_to_floor"),
        fmt(_num(metrics, "startup", "floor_net_ms"), 1),
        "≤ 2.5x" + mark("startup_x_floor"),
    )
    row(
        "start-up window, ms (x floor)",
        lambda n: _with_ratio(
            metrics, ("startup_window", "results", n, "ms", "median"), "ratio_to_floor"
        ),
        fmt(_num(metrics, "startup_window", "results", "python floor", "ms", "median"), 1),
        "≤ 1.3x" + mark("window_x_floor"),
    )
    row(
        "forwarding p50, µs (x tini)",
        lambda n: _with_ratio(
            metrics, ("forwarding_latency", "results", n, "us", "median"), "p50_ratio_to_tini", 0
        ),
        "",
        "",
    )
    row(
        "forwarding p50 / p90, µs",
        lambda n: (
            fmt(_num(metrics, "forwarding_latency", "results", n, "us", "median"), 0)
            + " / "
            + fmt(_num(metrics, "forwarding_latency", "results", n, "us", "p90"), 0)
        ),
        "",
        "",
    )
    row(
        "added forwarding p50, µs (x tini)",
        lambda n: _with_ratio(
            metrics, ("forwarding_latency", "results", n, "added_p50_us"), "added_ratio_to_tini", 0
        ),
        "",
        "≤ 2x tini" + mark("added_latency_p50_x_tini"),
    )
    row(
        "reaping CPU µs / orphan (x tini)",
        lambda n: _with_ratio(
            metrics, ("reaping", "results", n, "cpu_us_per_orphan", "median"), "ratio_to_tini"
        ),
        "",
        "≤ 3x tini" + mark("reap_cpu_x_tini"),
    )
    row(
        "zombies left",
        lambda n: fmt(_num(metrics, "reaping", "results", n, "zombies_left"), 0),
        "",
        "0" + mark("zombies_left"),
    )
    floor_memory = _get(metrics, "memory", "floor")
    for key in ("VmHWM", "RssAnon"):
        row(
            f"{key} idle, MiB",
            _memory_cell(metrics, ("idle", key), lambda v: fmt(_mib(v))),
            fmt(_mib(_num(floor_memory, key))),
            "≤ floor + 4" + mark(f"{key}_over_floor_kib"),
        )
    row(
        "VmHWM after storms, MiB",
        lambda n: fmt(_mib(_num(metrics, "memory", "results", n, "after_orphans", "VmHWM"))),
        "",
        "",
    )
    for key, label in (
        ("signals", "signals storm"),
        ("orphans", "orphan storms"),
        ("orphans_after_first_round", "orphan storms after the first"),
    ):
        row(
            f"RssAnon growth over the {label}, KiB",
            _memory_cell(metrics, ("rss_anon_growth_kib", key), lambda v: fmt(v, 0)),
            "",
            "0" + mark(f"rss_anon_growth_{key}_kib"),
        )
    row(
        "stop latency p50, ms (over tini)",
        lambda n: (
            fmt(_num(metrics, "stop_latency", "results", n, "ms", "median"), 2)
            + _signed(_num(metrics, "stop_latency", "results", n, "over_tini_ms"))
        ),
        "",
        "≤ tini + 2" + mark("stop_over_tini_ms"),
    )
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return "\n".join(lines)


def _memory_cell(
    metrics: object, path: tuple[str, str], show: Callable[[float | None], str]
) -> Callable[[str], str]:
    """The cell of one init for the memory value at `path` (bound here, not in a loop)."""
    return lambda name: show(_num(metrics, "memory", "results", name, *path))


def _with_ratio(metrics: object, path: tuple[str, ...], ratio_key: str, digits: int = 1) -> str:
    """The value at `path` (metric, "results", init, ...), and that init's `ratio_key` if any."""
    value = _num(metrics, *path)
    if value is None:
        return "-"
    factor = _num(metrics, *path[:3], ratio_key)
    return f"{value:.{digits}f}" + ("" if factor is None else f" ({factor:.2f}x)")


def _mib(kib_value: float | None) -> float | None:
    return None if kib_value is None else kib_value / 1024


def _signed(value: float | None) -> str:
    return "" if value is None else f" ({value:+.2f})"


# -- main ---------------------------------------------------------------------------------------
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
    python = args.python or str(stage_install(work / "venv"))
    tools = Tools(python)
    wanted = set(args.inits.split(",")) if args.inits else None
    inits, missing = find_inits(python, wanted)
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
            "versions": describe_versions(inits, python),
            "skipped": missing,
        },
    }
    metrics: dict[str, object] = {}
    only = set(args.only.split(",")) if args.only else set(PHASES)
    runtime_inits = [init for init in inits if init.runtime]
    phases: dict[str, Callable[[], object]] = {
        "startup": lambda: metrics.update(startup=measure_startup(tools, inits, plan)),
        "window": lambda: metrics.update(startup_window=measure_window(tools, inits, plan, work)),
        "runtime": lambda: metrics.update(measure_runtime(tools, inits, plan, errors, python)),
        "stop": lambda: metrics.update(
            stop_latency=measure_stop(tools, runtime_inits, plan, errors)
        ),
    }
    for name, action in phases.items():
        if name in only:
            _phase(name, action)
    report["metrics"] = {key: metrics[key] for key in METRICS if key in metrics}
    report["targets"] = verdicts(metrics)
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
        section = _get(report, "metrics", metric)
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
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if os.geteuid() != 0:
        print("bench: needs root (unshare --pid)", file=sys.stderr)
        return 2
    report = run(args)
    text = table(report)
    print(text)
    print(
        f"\n{report['mode']} run, {report['seconds']}s, load at start "
        f"{_get(report, 'machine', 'loadavg_at_start')}; skipped: "
        f"{_get(report, 'inits', 'skipped') or 'none'}"
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
