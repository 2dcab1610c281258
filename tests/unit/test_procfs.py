"""Reading /proc without waiting on the target: the stat parser, and when a command line is read."""

from __future__ import annotations

import os

import pytest

from pyinit import procfs

STAT = b"%d (%s) %s 1 %d 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 %d 0 0 0"


def stat_line(pid: int, comm: bytes, state: bytes = b"S", pgid: int = 7, start: int = 500) -> bytes:
    return STAT % (pid, comm, state, pgid, start)


def test_parse_stat_reads_a_comm_with_spaces_and_parentheses() -> None:
    """The name ends at the last ')', whatever it holds."""
    info = procfs.parse_stat(42, stat_line(42, b"a) b (c", b"T", pgid=9, start=1234))
    assert info is not None
    assert (info.name, info.pgid, info.ppid, info.starttime, info.stopped) == (
        "a) b (c",
        9,
        1,
        1234,
        True,
    )


@pytest.mark.parametrize(("state", "zombies", "found"), [(b"Z", False, False), (b"Z", True, True)])
def test_zombies_only_when_asked(state: bytes, zombies: bool, found: bool) -> None:
    """A zombie is not a live process, but still names one the SIGKILL just ended."""
    assert (procfs.parse_stat(5, stat_line(5, b"sh", state), zombies) is not None) is found


class FakeProc:
    """/proc as a dict of path -> bytes; records every path read."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.read: list[str] = []

    def __call__(self, path: str, limit: int) -> bytes | None:
        self.read.append(path)
        return self.files.get(path)


def test_describe_skips_a_process_with_a_thread_in_d_state(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A thread in uninterruptible sleep may hold the mmap lock a cmdline read would wait for:
    pyinit should not read that process's command line at all."""
    files = {
        "/proc/10/stat": stat_line(10, b"fuse-reader"),
        "/proc/10/task/10/stat": stat_line(10, b"fuse-reader"),
        "/proc/10/task/11/stat": stat_line(11, b"fuse-reader", b"D"),
        "/proc/10/cmdline": b"fuse-reader\0--mount\0",
        "/proc/20/stat": stat_line(20, b"a-very-long-nam"),
        "/proc/20/task/20/stat": stat_line(20, b"a-very-long-nam"),
        "/proc/20/cmdline": b"/usr/bin/a-very-long-name-indeed\0-x\0",
    }
    fake = FakeProc(files)
    monkeypatch.setattr(procfs, "_read", fake)
    monkeypatch.setattr(
        os, "listdir", lambda path: {"/proc/10/task": ["10", "11"]}.get(path, ["20"])
    )
    found = [
        procfs.ProcessInfo(10, "fuse-reader", [], 7, 500),
        procfs.ProcessInfo(20, "a-very-long-nam", [], 7, 500),
    ]
    procfs.describe(found)
    assert "/proc/10/cmdline" not in fake.read
    assert found[0].cmdline == []
    assert found[1].cmdline == ["/usr/bin/a-very-long-name-indeed", "-x"]
    assert found[1].name == "a-very-long-name-indeed"


def test_describe_skips_a_recycled_pid(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pid now has another start time: it is somebody else, whose command line is not ours
    to report."""
    fake = FakeProc({"/proc/30/stat": stat_line(30, b"other", start=999)})
    monkeypatch.setattr(procfs, "_read", fake)
    found = [procfs.ProcessInfo(30, "mine", [], 7, 500)]
    procfs.describe(found)
    assert fake.read == ["/proc/30/stat"]
    assert found[0].cmdline == []
