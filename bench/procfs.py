"""What the metrics read about a process from /proc."""

from __future__ import annotations

import os


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


def memory_status(pid: int) -> dict[str, int | None]:
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
