"""Shared test helpers: start pyinit as a real process, handshake with its child, clean up.

Synchronisation is always a handshake (a line the child prints) or a condition polled with a
deadline; never a bare sleep.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

import psutil


def _path_from_environment(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value).absolute() if value else None


# Both read once, at import: the autouse fixture in conftest removes every PYINIT_* from the
# environment during a test, so the pyinit under test never sees them.
# PYINIT_TEST_BIN: an installed `pyinit` command. CI points it at a fresh venv holding the built
# wheel, so the process-level tests exercise the artefact users install; tests/packaging checks
# which pyinit that command really imports. Unset: `python -m pyinit` of the interpreter running
# the tests (the development install).
PYINIT_BIN = _path_from_environment("PYINIT_TEST_BIN")
# PYINIT_TEST_DIST: the directory `python -m build` wrote (one sdist, one wheel). Unset: the tests
# that need the artefacts build them.
DIST = _path_from_environment("PYINIT_TEST_DIST")
PYINIT = [str(PYINIT_BIN)] if PYINIT_BIN else [sys.executable, "-m", "pyinit"]
PROGRAMS = Path(__file__).parent / "programs"
UNSHARE = ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child"]
TIMEOUT = 10.0


def built_wheel() -> Path | None:
    """The wheel in PYINIT_TEST_DIST, if that is set: what tests that install pyinit install."""
    if DIST is None:
        return None
    wheels = sorted(DIST.glob("*.whl"))
    assert len(wheels) == 1, f"PYINIT_TEST_DIST={DIST} should hold exactly one wheel: {wheels}"
    return wheels[0]


def program(name: str, *args: str) -> list[str]:
    return [sys.executable, str(PROGRAMS / name), *args]


def reporter(*args: str) -> list[str]:
    return program("reporter.py", *args)


def blocked_at_start(*names: str) -> list[str]:
    """A command prefix (coreutils env) that execs the command with these signals blocked. For a
    reporter under a --timeout: the limit counts from pyinit's start, so its SIGTERM may come
    while the reporter's Python is still starting; blocked, it waits until the reporter is ready
    (the reporter unblocks everything after its ready line) instead of killing it."""
    return ["env", *(f"--block-signal={name}" for name in names)]


def until_ready_sh(path: object) -> str:
    """Shell snippet that waits until a reporter writing to `path` printed its ready line, so a
    script does not exit (and get its leftovers stopped) before they are set up."""
    return f"until grep -q '^ready' {path} 2>/dev/null; do sleep 0.01; done"


def draining_master(*pyinit_args: str) -> list[str]:
    """pyinit's argv for a shell master that drains its worker itself on SIGTERM: it asks the
    worker (same process group, SIGTERM at its default action) with SIGUSR1 to finish, waits for
    it and reports `master: worker exit N`. Under tini without -g (docker run --init) N is 0;
    if the worker gets the SIGTERM too, it dies of it (143). Both print their ready line first."""
    worker = " ".join(reporter("--default", "TERM", "--exit-on", "USR1", "--code", "0"))
    script = (
        f"{worker} & w=$!; "
        """trap 'kill -USR1 $w; wait $w; echo "master: worker exit $?"; exit 0' TERM; """
        "echo master-ready; wait $w"
    )
    return [*pyinit_args, "--", "sh", "-c", script]


def reloading_master(*pyinit_args: str) -> list[str]:
    """pyinit's argv for a shell that traps SIGUSR1 ("reload") and, in the trap, tells its worker
    (same group, SIGUSR1 at its default action) to finish with SIGTERM; it reports
    `worker exit N`: 0 if only the shell got the SIGUSR1, 138 if the worker got it too."""
    worker = " ".join(reporter("--default", "USR1", "--exit-on", "TERM", "--code", "0"))
    script = (
        f"{worker} & w=$!; "
        "trap 'echo reload; kill -TERM $w' USR1; "
        'echo master-ready; wait $w; wait $w; echo "worker exit $?"'
    )
    return [*pyinit_args, "--", "sh", "-c", script]


def sleep_until(condition: Callable[[], object], timeout: float = TIMEOUT) -> object:
    """Poll `condition` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s: {condition}")
        time.sleep(0.01)


class LineReader:
    """Lines from a pipe, each read against a deadline (the handshakes tests wait on)."""

    def __init__(self, stream: IO[bytes] | None, default_timeout: float = TIMEOUT) -> None:
        assert stream is not None
        self._fd = stream.fileno()
        self.default_timeout = default_timeout
        self._buffer = b""
        self.lines: list[str] = []

    def failure_context(self) -> str:
        """Appended to a timeout's message; subclasses add what helps (e.g. stderr)."""
        return ""

    def read_line(self, timeout: float | None = None) -> str:
        timeout = self.default_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(
                    f"no line within {timeout}s; got {self.lines}{self.failure_context()}"
                )
            ready, _, _ = select.select([self._fd], [], [], left)
            if ready:
                chunk = os.read(self._fd, 65536)
                if not chunk:
                    raise AssertionError(
                        f"output closed; lines so far: {self.lines}{self.failure_context()}"
                    )
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        self.lines.append(line.decode(errors="replace"))
        return self.lines[-1]

    def expect(self, prefix: str, timeout: float | None = None) -> str:
        """Read lines until one starts with `prefix`; return it."""
        deadline = time.monotonic() + (self.default_timeout if timeout is None else timeout)
        while True:
            line = self.read_line(max(0.0, deadline - time.monotonic()))
            if line.startswith(prefix):
                return line


class Running(LineReader):
    """pyinit running as a subprocess with a line-oriented stdout."""

    def __init__(
        self,
        args: Sequence[str],
        *,
        pidns: bool = False,
        env: dict[str, str] | None = None,
        stdin: int | None = subprocess.DEVNULL,
        merge_stderr: bool = False,
        **popen: object,
    ) -> None:
        argv = [*(UNSHARE if pidns else []), *PYINIT, *args]
        self.pidns = pidns
        self.started = time.monotonic()
        self.proc: subprocess.Popen[bytes] = subprocess.Popen(
            argv,
            stdin=stdin,
            stdout=subprocess.PIPE,
            # merge_stderr: pyinit's log lines interleave with the child's, for expect().
            stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
            env=env,
            start_new_session=True,  # so teardown can kill the whole tree
            **popen,  # type: ignore[call-overload]
        )
        super().__init__(self.proc.stdout)

    @property
    def pyinit_pid(self) -> int:
        """The host pid of pyinit itself (under unshare, the child of unshare)."""
        if not self.pidns:
            return self.proc.pid

        def child() -> int | None:
            kids = psutil.Process(self.proc.pid).children()
            return kids[0].pid if kids else None

        pid = sleep_until(child)
        assert isinstance(pid, int)
        return pid

    def send(self, signum: int) -> None:
        os.kill(self.pyinit_pid, signum)

    def ready(self) -> tuple[int, int]:
        """Wait for the reporter's handshake; return the child's (pid, pgid)."""
        _, pid, pgid = self.expect("ready").split()
        return int(pid), int(pgid)

    def wait(self, timeout: float = TIMEOUT) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise

    def stderr(self) -> str:
        assert self.proc.stderr is not None
        data: bytes = self.proc.stderr.read()
        return data.decode(errors="replace")

    def kill(self) -> None:
        """Teardown: SIGKILL pyinit's whole session and reap it."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        for pid in session_members(self.proc.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.proc.wait(TIMEOUT)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()

    def __enter__(self) -> Running:
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()


def session_members(sid: int) -> list[int]:
    members = []
    for proc in psutil.process_iter():
        try:
            if os.getsid(proc.pid) == sid:
                members.append(proc.pid)
        except (OSError, psutil.Error):
            continue
    return members


def run_pyinit(
    args: Sequence[str],
    timeout: float = TIMEOUT,
    pidns: bool = False,
    prefix: Sequence[str] = (),
    **kwargs: Any,
) -> subprocess.CompletedProcess[str]:
    """pyinit with `args`, to the end; `prefix` is a command that execs it (nohup, setpriv...)."""
    argv = [*prefix, *(UNSHARE if pidns else []), *PYINIT, *args]
    result: subprocess.CompletedProcess[str] = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        **kwargs,
    )
    return result


def pidns_available() -> str | None:
    """None when `unshare --pid` works here, else the reason it does not."""
    if os.geteuid() != 0:
        return "not root"
    try:
        result = subprocess.run(
            [*UNSHARE, "true"], capture_output=True, text=True, timeout=TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unshare failed: {exc}"
    return None if result.returncode == 0 else f"unshare failed: {result.stderr.strip()}"


def zombies_in(pids: Sequence[int]) -> list[int]:
    found = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                found.append(pid)
        except psutil.Error:
            continue
    return found
