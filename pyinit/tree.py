"""Finding and signalling every process pyinit is responsible for, beyond the main child's group.

As PID 1 that is every other process in the namespace, and kill(-1) reaches them all atomically.
Otherwise it is pyinit's descendants (re-parented to it as a subreaper), found through the ppid
field of every /proc/PID/stat.

Invariants:
- Deciding whom to signal and sending the signal read nothing but /proc/PID/stat (comm, state,
  ppid, pgrp, start time), which never waits for the target. /proc/PID/cmdline takes the target's
  mmap lock and can hang behind a thread stuck in D state (a dead FUSE or NFS mount), so command
  lines are read only after the signal was sent, and only from processes none of whose threads is
  in D state (`describe`).
- A process is signalled by pid only while its start time is the one the scan saw, through a
  pidfd where the kernel has them: a recycled pid is never hit.
"""

from __future__ import annotations

import contextlib
import os
import signal

from pyinit.signals import signal_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pyinit.log import Log

_COMM_LIMIT = 15  # the kernel truncates comm to 15 bytes
_CMDLINE_LIMIT = 65536


class ProcessInfo:
    __slots__ = ("cmdline", "name", "pgid", "pid", "ppid", "starttime", "stopped")

    def __init__(
        self,
        pid: int,
        name: str,
        cmdline: list[str],
        pgid: int,
        starttime: int | None = None,
        stopped: bool = False,
        ppid: int = 0,
    ) -> None:
        self.pid, self.name, self.cmdline, self.pgid = pid, name, cmdline, pgid
        # Field 22 of /proc/PID/stat: the same pid with another start time is another process.
        self.starttime = starttime
        self.stopped, self.ppid = stopped, ppid

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

    Return the live processes found just before, described (`describe`) after the signal went out,
    so a log can name them. Each process gets the signal exactly once: an app may take a second
    SIGTERM during its drain as "quit now".
    Once the group's leader is reaped (`leader_alive` False), killpg is used only while the scan
    still sees a member of ours holding the group id: an emptied group's id may be a stranger's.
    `spare_group` (the running --stop-command) is left alone: it is pyinit's own helper.
    """
    if include_group and is_pid1 and spare_group is None:
        # The whole namespace but us, the group included, atomically, before any scan at all.
        # Then the scan: pyinit reaps nothing in between, so a process the signal killed is
        # still there as a zombie, with its name.
        with contextlib.suppress(ProcessLookupError):
            os.kill(-1, signum)
        found = list_processes(is_pid1, zombies=True)
    else:
        found = [info for info in list_processes(is_pid1) if info.pgid != spare_group]
        if include_group:
            # Atomic, in case the scan missed a fork.
            signal_group(signum, group, leader_alive, is_pid1, found)
        outside = [info for info in found if info.pgid != group]
        _signal_each(signum, outside, log)
        if not include_group:
            found = outside
    describe(found)
    return found


def resume_stopped(found: list[ProcessInfo], log: Log) -> None:
    """SIGCONT to every process just asked to stop, as systemd does: a stopped process cannot
    act on SIGTERM before the deadline SIGKILL. Sent to all of them, not only those the scan saw
    in state T: a SIGSTOP sent just before is pending until the target runs, and only a SIGCONT
    generated after it discards it."""
    _signal_each(signal.SIGCONT, found, log)


def is_stopped(pid: int) -> bool:
    """Is pid stopped (state T in /proc/PID/stat)? False when it cannot be read."""
    info = read_stat(pid)
    return info is not None and info.stopped


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
    for info in targets:
        failure = _send(info, signum)
        if failure is not None:
            log.debug("signal_failed", f"failed to send {signal_name(signum)} to {info}: {failure}")


def _send(info: ProcessInfo, signum: int) -> str | None:
    """Signal the process the scan saw, not whoever holds its pid now; None once sent, else why
    not. A pidfd pins the process between the start-time check and the signal; without pidfds
    (Linux < 5.3) the check comes just before kill(), as psutil does it."""
    try:
        pidfd: int | None = os.pidfd_open(info.pid)
    except ProcessLookupError:
        return "no such process"
    except OSError:
        pidfd = None
    try:
        if info.starttime is not None:
            now = read_stat(info.pid)
            if now is None or now.starttime != info.starttime:
                return "it has exited"
        if pidfd is None:
            os.kill(info.pid, signum)
        else:
            signal.pidfd_send_signal(pidfd, signum)
    except OSError as exc:
        return exc.strerror or repr(exc)
    finally:
        if pidfd is not None:
            os.close(pidfd)
    return None


def list_processes(is_pid1: bool, zombies: bool = False) -> list[ProcessInfo]:
    """Live (and with `zombies`, unreaped) processes that are ours: the namespace as PID 1, else
    descendants. Reads /proc/PID/stat only."""
    if not _proc_is_ours():
        return []
    me = os.getpid()
    table = {
        pid: info for pid in _pids() if pid != me and (info := read_stat(pid, zombies)) is not None
    }
    return list(table.values()) if is_pid1 else _descendants(table, me)


def _pids() -> list[int]:
    try:
        return [int(name) for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return []


def _descendants(table: dict[int, ProcessInfo], root: int) -> list[ProcessInfo]:
    children: dict[int, list[ProcessInfo]] = {}
    for info in table.values():
        children.setdefault(info.ppid, []).append(info)
    found: list[ProcessInfo] = []
    seen, parents = {root}, [root]
    while parents:
        for info in children.get(parents.pop(), []):
            if info.pid not in seen:
                seen.add(info.pid)
                found.append(info)
                parents.append(info.pid)
    return found


def _proc_is_ours() -> bool:
    """/proc shows another PID namespace's pids when the runtime did not mount one for ours
    (`unshare --pid --fork` without --mount-proc): then its listings would name strangers."""
    try:
        return os.readlink("/proc/self") == str(os.getpid())
    except OSError:
        return False


def read_stat(pid: int, zombies: bool = False) -> ProcessInfo | None:
    """The process as /proc/PID/stat shows it; None if it is gone or unreadable, or a zombie
    unless `zombies`."""
    data = _read(f"/proc/{pid}/stat", 4096)
    return None if data is None else parse_stat(pid, data, zombies)


def parse_stat(pid: int, data: bytes, zombies: bool = False) -> ProcessInfo | None:
    # comm may hold spaces and parentheses: it ends at the last ')'.
    start, end = data.find(b"("), data.rfind(b")")
    fields = data[end + 2 :].split()
    if start < 0 or end < start or len(fields) < 20:
        return None
    if fields[0] == b"X" or (fields[0] == b"Z" and not zombies):
        return None
    return ProcessInfo(
        pid,
        data[start + 1 : end].decode("utf-8", "replace"),
        [],
        int(fields[2]),
        starttime=int(fields[19]),
        stopped=fields[0] == b"T",
        ppid=int(fields[1]),
    )


def describe(found: list[ProcessInfo]) -> None:
    """Add command lines, after the signal went out, where reading them cannot block: not for
    a process that is gone (or whose pid was reused), nor one with a thread in D state. A long
    comm (truncated by the kernel) is completed from the command line, as psutil does."""
    for info in found:
        if _may_read_memory(info):
            info.cmdline = _read_cmdline(info.pid)
        if len(info.name) >= _COMM_LIMIT and info.cmdline:
            program = os.path.basename(info.cmdline[0])
            if program.startswith(info.name):
                info.name = program


def _may_read_memory(info: ProcessInfo) -> bool:
    leader = read_stat(info.pid)
    if leader is None or leader.starttime != info.starttime:
        return False
    try:
        tasks = os.listdir(f"/proc/{info.pid}/task")
    except OSError:
        return False
    for task in tasks:
        data = _read(f"/proc/{info.pid}/task/{task}/stat", 4096)
        if data is not None and data[data.rfind(b")") + 2 :][:1] == b"D":
            return False
    return True


def _read_cmdline(pid: int) -> list[str]:
    data = _read(f"/proc/{pid}/cmdline", _CMDLINE_LIMIT)
    if not data:
        return []
    # A process that rewrote its title (setproctitle) may use spaces instead of NULs.
    parts = data.rstrip(b"\0").split(b"\0") if b"\0" in data else data.split(b" ")
    return [os.fsdecode(part) for part in parts]


def _read(path: str, limit: int) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        chunks, size = [], 0
        while size < limit and (chunk := os.read(fd, limit - size)):
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)
