"""Reading /proc without waiting on the target: the stat parser, and when a command line is read."""

from __future__ import annotations

import os
import signal

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


# A stat line as Linux 6.x writes it: 52 fields; 33 (sigignore) and 34 (sigcatch) are set here.
FULL_STAT = (
    b"42 (a) (b c) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 500 1000 10 "
    b"18446744073709551615 1 1 0 0 0 0 %d %d %d 1 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0"
)


def full_stat(ignored: int, caught: int) -> bytes:
    return FULL_STAT % (0, ignored, caught)


def test_handled_signals_reads_sigignore_and_sigcatch_after_any_comm() -> None:
    """Fields 33 and 34, counted after the last ')', even when comm holds ') ('."""
    ignored, caught = 1 << (signal.SIGPIPE - 1), 1 << (signal.SIGTERM - 1)
    assert procfs.handled_signals(full_stat(ignored, caught)) == ignored | caught
    assert procfs.handled_signals(full_stat(0, 0)) == 0


def test_a_zombie_handles_nothing_though_its_stat_keeps_the_masks() -> None:
    """A main child that exited but is not reaped yet still shows the masks it died with; a
    signal then goes to the group (whose members may want it), not to the dead process alone."""
    caught = 1 << (signal.SIGTERM - 1)
    zombie = full_stat(0, caught).replace(b") S ", b") Z ", 1)
    assert procfs.handled_signals(zombie) == 0


def test_dispositions_are_read_afresh_at_each_question() -> None:
    """pread at offset 0 regenerates /proc/PID/stat: a handler installed after the descriptor
    was opened is seen at the next question, and removing it again is seen too."""
    dispositions = procfs.Dispositions.open(os.getpid())
    assert dispositions is not None
    previous = signal.getsignal(signal.SIGUSR2)
    try:
        signal.signal(signal.SIGUSR2, signal.SIG_DFL)
        assert not dispositions.handles(signal.SIGUSR2)
        signal.signal(signal.SIGUSR2, lambda *_: None)
        assert dispositions.handles(signal.SIGUSR2)
        signal.signal(signal.SIGUSR2, signal.SIG_IGN)
        assert dispositions.handles(signal.SIGUSR2)
        signal.signal(signal.SIGUSR2, signal.SIG_DFL)
        assert not dispositions.handles(signal.SIGUSR2)
    finally:
        signal.signal(signal.SIGUSR2, previous)
        dispositions.close()
    assert not dispositions.handles(signal.SIGUSR2)  # closed: unknown, so the group's default


def test_no_dispositions_from_another_namespaces_proc(monkeypatch: pytest.MonkeyPatch) -> None:
    """/proc of another PID namespace would show a stranger under the main child's pid."""
    monkeypatch.setattr(procfs, "_proc_is_ours", lambda: False)
    assert procfs.Dispositions.open(os.getpid()) is None
