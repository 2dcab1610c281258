"""Helpers the robustness tests share: /proc readings, the job's processes, the test programs."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import psutil

from helpers import TIMEOUT, sleep_until

PROGRAMS = Path(__file__).parent / "programs"


def robust_program(name: str, *args: str) -> list[str]:
    return [sys.executable, str(PROGRAMS / name), *args]


def proc_status(pid: int) -> dict[str, str]:
    with open(f"/proc/{pid}/status") as stream:
        return dict(line.rstrip("\n").split(":\t", 1) for line in stream if ":\t" in line)


def memory_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) in KiB."""
    status = proc_status(pid)
    return int(status["VmRSS"].split()[0]), int(status["VmHWM"].split()[0])


def signal_set(mask_hex: str) -> set[int]:
    """The signal numbers of a SigBlk/SigIgn/SigPnd mask from /proc/<pid>/status."""
    mask = int(mask_hex, 16)
    return {n + 1 for n in range(64) if mask >> n & 1}


def session_processes(sid: int) -> list[psutil.Process]:
    """Live (non-zombie) processes in session `sid`: the whole job of a pyinit started with
    start_new_session, wherever in the tree its processes ended up."""
    found = []
    for proc in psutil.process_iter():
        try:
            if os.getsid(proc.pid) == sid and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
        except (OSError, psutil.Error):
            continue
    return found


def kill_session(sid: int) -> None:
    for proc in session_processes(sid):
        try:
            proc.send_signal(signal.SIGKILL)
        except psutil.Error:
            continue


PIDS_ROOT = Path("/sys/fs/cgroup/pids")


class PidsCgroup:
    """A cgroup (v1 pids controller) of its own for one test's job: it bounds forks with pids.max
    and lists every process of the job, even those that left pyinit's session or tree."""

    def __init__(self, name: str, limit: int) -> None:
        self.path = PIDS_ROOT / f"pyinit-robust-{os.getpid()}-{name}"
        self.path.mkdir()
        (self.path / "pids.max").write_text(f"{limit}\n")

    def join(self) -> None:
        """preexec_fn: move the forked process (and so all it starts) into the cgroup."""
        (self.path / "cgroup.procs").write_text("0\n")

    def processes(self) -> list[int]:
        """Live members; a zombie is already dead and harmless, its parent's to reap."""
        pids = [int(line) for line in (self.path / "cgroup.procs").read_text().split()]
        live = []
        for pid in pids:
            try:
                if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                    live.append(pid)
            except psutil.Error:
                continue
        return live

    def remove(self) -> None:
        """Teardown: SIGKILL whatever is left until the cgroup is empty, then delete it."""

        def emptied() -> bool:
            for pid in self.processes():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            return not (self.path / "cgroup.procs").read_text().split()

        try:
            sleep_until(emptied)
        finally:
            self.path.rmdir()


def pids_cgroup_available() -> str | None:
    if not os.access(PIDS_ROOT, os.W_OK):
        return f"{PIDS_ROOT} is not writable (needs root and the cgroup v1 pids controller)"
    return None


def drain_stderr(proc: subprocess.Popen[bytes]) -> Callable[[], str]:
    """Read the process's stderr pipe as it comes, so a chatty -vv pyinit never fills it; the
    returned function waits for EOF and gives the text."""
    assert proc.stderr is not None
    stream = proc.stderr
    chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: chunks.extend(iter(lambda: stream.read(65536), b"")))
    reader.start()

    def collected() -> str:
        reader.join(TIMEOUT)
        return b"".join(chunks).decode(errors="replace")

    return collected
