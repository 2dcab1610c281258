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
    __slots__ = ("cmdline", "name", "pgid", "pid", "process", "stopped")

    def __init__(
        self,
        pid: int,
        name: str,
        cmdline: list[str],
        pgid: int,
        process: object = None,
        stopped: bool = False,
    ) -> None:
        self.pid, self.name, self.cmdline, self.pgid = pid, name, cmdline, pgid
        self.stopped = stopped
        # The psutil.Process seen by the scan: it remembers the start time, so signalling it
        # later fails instead of hitting a process that took over the pid since.
        self.process = process

    def as_dict(self) -> dict[str, object]:
        return {"pid": self.pid, "name": self.name, "cmdline": self.cmdline}

    def __str__(self) -> str:
        return f"{self.pid} ({self.name})"


def signal_everything(
    signum: int,
    group: int,
    is_pid1: bool,
    log: Log,
    include_group: bool = True,
    leader_alive: bool = True,
    spare_group: int | None = None,
) -> list[ProcessInfo]:
    """Send signum once to every process pyinit answers for: the main child's group (unless
    `include_group` is False, e.g. when it already got the stop signal) and everything outside it.

    Return the live processes found just before, so a log can name them. Each process gets the
    signal exactly once: an app may take a second SIGTERM during its drain as "quit now".
    Once the group's leader is reaped (`leader_alive` False), killpg is used only while the scan
    still sees a member of ours holding the group id: an emptied group's id may be a stranger's.
    `spare_group` (the running --stop-command) is left alone: it is pyinit's own helper.
    """
    found = [info for info in list_processes(is_pid1) if info.pgid != spare_group]
    if include_group:
        if is_pid1 and spare_group is None:
            # The whole namespace but us, the group included, atomically.
            try:  # noqa: SIM105 - contextlib stays off the idle path
                os.kill(-1, signum)
            except ProcessLookupError:
                pass
            return found
        # Atomic, in case the scan missed a fork.
        signal_group(signum, group, leader_alive, is_pid1, found)
    outside = [info for info in found if info.pgid != group]
    _signal_each(signum, outside, log)
    return found if include_group else outside


def resume_stopped(found: list[ProcessInfo], log: Log) -> None:
    """SIGCONT for the stopped ones among processes just asked to stop: a stopped process
    cannot act on SIGTERM before the deadline SIGKILL (systemd does the same)."""
    import signal

    _signal_each(signal.SIGCONT, [info for info in found if info.stopped], log)


def is_stopped(pid: int) -> bool:
    """Is pid stopped (state T in /proc/PID/stat)? False when it cannot be read."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stream:
            stat = stream.read()
    except OSError:
        return False
    # The command name may hold spaces and parentheses: the state follows the last ')'.
    return stat[stat.rfind(b")") + 2 :][:1] == b"T"


def signal_group(
    signum: int,
    group: int,
    leader_alive: bool,
    is_pid1: bool,
    found: list[ProcessInfo] | None = None,
) -> bool:
    """killpg the main child's group, only while its id is provably ours: its leader is not
    reaped yet, or pyinit is PID 1 (every process in the namespace is ours), or a scan (`found`,
    else a fresh one) still sees one of our processes holding the id. An emptied group's id may
    already be a stranger's. True if the group was signalled."""
    if not (leader_alive or is_pid1):
        scan = list_processes(False) if found is None else found
        if not _holds_group(scan, group):
            return False
    try:
        os.killpg(group, signum)
    except ProcessLookupError:
        return False
    return True


def _holds_group(found: list[ProcessInfo], group: int) -> bool:
    return any(info.pgid == group for info in found)


def _signal_each(signum: int, targets: list[ProcessInfo], log: Log) -> None:
    if not targets:
        return
    import psutil

    for info in targets:
        try:
            process = info.process or psutil.Process(info.pid)
            assert isinstance(process, psutil.Process)
            process.send_signal(signum)
        except psutil.Error as exc:
            log.debug("signal_failed", f"failed to send {signal_name(signum)} to {info}: {exc}")


def list_processes(is_pid1: bool) -> list[ProcessInfo]:
    """Live (non-zombie) processes that are ours: the namespace as PID 1, else descendants."""
    if not _proc_is_ours():
        return []
    import psutil

    me = os.getpid()
    try:
        candidates = psutil.process_iter() if is_pid1 else psutil.Process(me).children(True)
        return [info for proc in candidates if (info := _describe(proc, me)) is not None]
    except psutil.Error:
        return []


def _proc_is_ours() -> bool:
    """/proc shows another PID namespace's pids when the runtime did not mount one for ours
    (`unshare --pid --fork` without --mount-proc): then its listings would name strangers."""
    try:
        return os.readlink("/proc/self") == str(os.getpid())
    except OSError:
        return False


def _describe(proc: object, me: int) -> ProcessInfo | None:
    import psutil

    assert isinstance(proc, psutil.Process)
    if proc.pid == me:
        return None
    try:
        with proc.oneshot():
            status = proc.status()
            if status == psutil.STATUS_ZOMBIE:
                return None
            return ProcessInfo(
                proc.pid,
                proc.name(),
                proc.cmdline(),
                os.getpgid(proc.pid),
                process=proc,
                stopped=status == psutil.STATUS_STOPPED,
            )
    except (psutil.Error, ProcessLookupError):
        return None
