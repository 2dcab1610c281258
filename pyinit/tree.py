"""Finding and signalling every process pyinit is responsible for, beyond the main child's group.

As PID 1 that is every other process in the namespace, and kill(-1) reaches them all atomically.
Otherwise it is pyinit's descendants (re-parented to it as a subreaper), found with psutil, which
also checks each process's start time before signalling so a recycled pid is never hit. psutil is
imported only here and only when a stop reaches processes outside the group: it costs a few MB.
"""

from __future__ import annotations

import os

from pyinit.signals import signal_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pyinit.log import Log


class ProcessInfo:
    __slots__ = ("cmdline", "name", "pid")

    def __init__(self, pid: int, name: str, cmdline: list[str]) -> None:
        self.pid, self.name, self.cmdline = pid, name, cmdline

    def as_dict(self) -> dict[str, object]:
        return {"pid": self.pid, "name": self.name, "cmdline": self.cmdline}

    def __str__(self) -> str:
        return f"{self.pid} ({self.name})"


def signal_everything(signum: int, group: int, is_pid1: bool, log: Log) -> list[ProcessInfo]:
    """Send signum to the main child's group and to every other process pyinit answers for;
    return the live ones found just before (so a log can name them)."""
    found = list_processes(is_pid1)
    if is_pid1:
        # Every process in the namespace but us, the group included, atomically. No killpg as
        # well: the group would get the signal twice, and an app may take a second SIGTERM
        # during its drain as "quit now".
        try:
            os.kill(-1, signum)
        except ProcessLookupError:
            pass
        return found
    try:
        os.killpg(group, signum)  # first, and atomically, in case the scan missed a fork
    except ProcessLookupError:
        pass
    import psutil

    for info in found:
        try:
            psutil.Process(info.pid).send_signal(signum)
        except psutil.Error as exc:
            log.debug("signal_failed", f"failed to send {signal_name(signum)} to {info}: {exc}")
    return found


def list_processes(is_pid1: bool) -> list[ProcessInfo]:
    """Live (non-zombie) processes that are ours: the namespace as PID 1, else descendants."""
    import psutil

    me = os.getpid()
    try:
        candidates = psutil.process_iter() if is_pid1 else psutil.Process(me).children(True)
        return [info for proc in candidates if (info := _describe(proc, me)) is not None]
    except psutil.Error:
        return []


def _describe(proc: object, me: int) -> ProcessInfo | None:
    import psutil

    assert isinstance(proc, psutil.Process)
    if proc.pid == me:
        return None
    try:
        with proc.oneshot():
            if proc.status() == psutil.STATUS_ZOMBIE:
                return None
            return ProcessInfo(proc.pid, proc.name(), proc.cmdline())
    except psutil.Error:
        return None
