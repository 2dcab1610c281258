"""Reading processes from /proc without ever waiting on them.

Invariant: `list_processes`, `read_stat` and `Dispositions` read nothing but /proc/PID/stat (comm,
state, ppid, pgrp, start time, signal dispositions), which never waits for the target.
/proc/PID/cmdline takes the target's mmap lock and can hang behind a thread stuck in D state (a
dead FUSE or NFS mount), so only `describe` reads it: after the signal went out, and never for a
process with a thread in D state.
"""

from __future__ import annotations

import os

_COMM_LIMIT = 15  # the kernel truncates comm to 15 bytes
_STAT_LIMIT = 4096  # a stat line is at most ~1100 bytes: 52 numbers and a 15-byte comm
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
    data = _read(f"/proc/{pid}/stat", _STAT_LIMIT)
    return None if data is None else parse_stat(pid, data, zombies)


def parse_stat(pid: int, data: bytes, zombies: bool = False) -> ProcessInfo | None:
    start, end = data.find(b"("), data.rfind(b")")
    fields = _after_comm(data, 20)  # up to starttime, field 22
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


def _after_comm(data: bytes, maxsplit: int = -1) -> list[bytes]:
    """The fields of a stat line after comm, field 3 (state) first (`man 5 proc` counts from 1).
    comm may hold spaces and parentheses: it ends at the last ')'."""
    return data[data.rfind(b")") + 2 :].split(None, maxsplit)


# Fields 33 and 34 of /proc/PID/stat: the signals the process ignores and catches, as decimal
# bitmasks (bit N-1 for signal N), counted here from field 3 as `_after_comm` returns them.
_SIGIGNORE = 33 - 3
_SIGCATCH = 34 - 3


def handled_signals(data: bytes) -> int:
    """The signals a stat line says the process ignores or catches, as one bitmask. A zombie
    handles nothing any more, though its stat still shows the masks it died with."""
    fields = _after_comm(data, _SIGCATCH + 1)
    if fields[0] == b"Z":
        return 0
    return int(fields[_SIGIGNORE]) | int(fields[_SIGCATCH])


class Dispositions:
    """Whether one process (the main child) handles a signal itself, read from its
    /proc/PID/stat at the moment of asking, through a descriptor opened once: re-reading at
    offset 0 regenerates the file, one pread per question.

    The descriptor is bound to the process, not to its pid: once the process is reaped it reads
    ESRCH, never a process that reused the pid. `close` it when the process is reaped anyway.
    """

    __slots__ = ("fd",)

    def __init__(self, fd: int) -> None:
        self.fd = fd

    @classmethod
    def open(cls, pid: int) -> Dispositions | None:
        """None where /proc cannot tell (not mounted, or another PID namespace's)."""
        if not _proc_is_ours():
            return None
        try:
            return cls(os.open(f"/proc/{pid}/stat", os.O_RDONLY | os.O_CLOEXEC))
        except OSError:
            return None

    def handles(self, signum: int) -> bool:
        """True if the process catches or ignores signum now; False if it has the default action,
        or if that cannot be read, or for a zombie (its group members may still want it)."""
        try:
            mask = handled_signals(os.pread(self.fd, _STAT_LIMIT, 0))
        except (OSError, ValueError, IndexError):
            return False
        return bool(mask >> (signum - 1) & 1)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


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


def is_still_running(info: ProcessInfo) -> bool:
    """Is the process a scan saw still there, not exited and not replaced by another process
    that reused its pid (same start time)?"""
    now = read_stat(info.pid)
    return now is not None and now.starttime == info.starttime


def _may_read_memory(info: ProcessInfo) -> bool:
    if not is_still_running(info):
        return False
    try:
        tasks = os.listdir(f"/proc/{info.pid}/task")
    except OSError:
        return False
    for task in tasks:
        data = _read(f"/proc/{info.pid}/task/{task}/stat", _STAT_LIMIT)
        if data is not None and _after_comm(data, 1)[:1] == [b"D"]:
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
