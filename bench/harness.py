"""The inits under test, the tools, and the processes every metric runs: an init as PID 1 of its
own namespace with a child whose stdout the harness reads (`Session`), or a timed run to exit."""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

from procfs import children

REPO = Path(__file__).resolve().parent.parent
NAMESPACE = ["--pid", "--fork", "--mount-proc", "--kill-child"]

READ_TIMEOUT = 20.0


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


def wait_for(condition: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:g}s")
        time.sleep(0.001)


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
