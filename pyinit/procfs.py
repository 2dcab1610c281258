"""Reading processes from /proc without ever waiting on them.

Invariant: `list_processes` and `read_stat` read nothing but /proc/PID/stat (comm, state, ppid,
pgrp, start time), which never waits for the target. /proc/PID/cmdline takes the target's mmap
lock and can hang behind a thread stuck in D state (a dead FUSE or NFS mount), so only `describe`
reads it: after the signal went out, and never for a process with a thread in D state.
"""

from __future__ import annotations

import os

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
