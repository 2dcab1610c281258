"""Finding and signalling every process pyinit is responsible for, beyond the main child's group.

As PID 1 that is every other process in the namespace, and kill(-1) reaches them all atomically.
Otherwise it is pyinit's descendants (re-parented to it as a subreaper), found through the ppid
field of every /proc/PID/stat.

Invariants:
- Deciding whom to signal and sending the signal read nothing but /proc/PID/stat (`procfs`),
  which never waits for the target; command lines are read only after the signal was sent
  (`procfs.describe`).
- A process is signalled by pid only while its start time is the one the scan saw, through a
  pidfd where the kernel has them: a recycled pid is never hit.
"""

from __future__ import annotations

import os

from pyinit.procfs import ProcessInfo, describe, is_still_running, list_processes, read_stat
from pyinit.signals import signal_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    import signal

    from pyinit.log import Log
else:
    import _signal as signal  # plain-int constants without enum: see pyinit.signals


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
        try:  # noqa: SIM105 - contextlib stays off the idle path
            os.kill(-1, signum)
        except ProcessLookupError:
            pass
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
        if info.starttime is not None and not is_still_running(info):
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
