"""What happened, written down at exit: the termination message and the JSON report.

Neither write may change the exit code or stop pyinit: failures are logged and dropped.
The report schema is documented in README.md ("Outcome report"); `SCHEMA_VERSION` changes only
when a field changes meaning or disappears.
"""

from __future__ import annotations

import os
import time

from pyinit.log import fit, iso_timestamp
from pyinit.signals import signal_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pyinit.log import Log
    from pyinit.procfs import ProcessInfo

SCHEMA_VERSION = 2  # 2: stop.grace_period_seconds may be null, killed[].cmdline may be []
TERMINATION_LOG_LIMIT = 4096  # what Kubernetes keeps of /dev/termination-log

# Why pyinit ended, most specific first.
EXEC_FAILED, TIMED_OUT, ESCALATED, STOPPED, SIGNALLED, EXITED, INTERNAL_ERROR = (
    "exec_failed",
    "timed_out",
    "escalated",
    "stopped",
    "signalled",
    "exited",
    "internal_error",
)


class Outcome:
    """Facts gathered during the run; the supervisor fills them in."""

    def __init__(self, command: tuple[str, ...]) -> None:
        self.command = command
        self.started_wall = time.time()
        self.started = time.monotonic()
        self.ended_wall = self.started_wall
        self.main_pid: int | None = None
        self.main_status: int | None = None
        self.exit_code = 0
        self.reason = EXITED
        self.error: str | None = None
        self.stop_signal: int | None = None
        self.stop_cause: str | None = None
        self.stop_duration: float | None = None
        self.grace_period: float | None = None  # the one behind the deadline; None: none
        self.timed_out = False
        self.escalated = False
        self.received: dict[int, int] = {}
        self.forwarded: dict[int, int] = {}
        self.killed: list[ProcessInfo] = []

    def count(self, table: dict[int, int], signum: int) -> None:
        table[signum] = table.get(signum, 0) + 1

    def main_ending(self) -> dict[str, object] | None:
        if self.main_status is None:
            return None
        if os.WIFSIGNALED(self.main_status):
            number = os.WTERMSIG(self.main_status)
            return {"signal": signal_name(number), "signal_number": number, "code": None}
        return {"code": os.WEXITSTATUS(self.main_status), "signal": None, "signal_number": None}

    # -- the two documents -----------------------------------------------------------------
    def report(self) -> dict[str, object]:
        return {
            "schema_version": SCHEMA_VERSION,
            "command": list(self.command),
            "pid": self.main_pid,
            "started_at": iso_timestamp(self.started_wall),
            "ended_at": iso_timestamp(self.ended_wall),
            "duration_seconds": round(self.ended_wall - self.started_wall, 6),
            "exit_code": self.exit_code,
            "reason": self.reason,
            "error": self.error,
            "main_child": self.main_ending(),
            "stop": None
            if self.stop_cause is None
            else {
                "cause": self.stop_cause,
                "signal": None if self.stop_signal is None else signal_name(self.stop_signal),
                "duration_seconds": None
                if self.stop_duration is None
                else round(self.stop_duration, 6),
                "grace_period_seconds": self.grace_period,
                "escalated": self.escalated,
            },
            "timed_out": self.timed_out,
            "signals_received": _named_counts(self.received),
            "signals_forwarded": _named_counts(self.forwarded),
            "killed": [info.as_dict() for info in self.killed],
        }

    def termination_message(self) -> str:
        lines = [f"pyinit: exit code {self.exit_code}: {self._why()}"]
        ending = self.main_ending()
        if ending is not None:
            how = (
                f"killed by {ending['signal']}"
                if ending["signal"]
                else f"exited with code {ending['code']}"
            )
            lines.append(f"main child {self.main_pid} ({_program(self.command)}): {how}")
        if self.stop_duration is not None:
            lines.append(f"stop took {self.stop_duration:.2f}s")
        if self.killed:
            lines.append("SIGKILLed: " + ", ".join(str(info) for info in self.killed))
        text = "\n".join(lines) + "\n"
        return fit(text.encode("utf-8", "replace"), TERMINATION_LOG_LIMIT).decode()

    def _signalled(self) -> str:
        ending = self.main_ending() or {}
        name, number = ending.get("signal"), ending.get("signal_number")
        forwarded = isinstance(number, int) and self.forwarded.get(number, 0) > 0
        return f"the main child was killed by {name}" + (
            " (which pyinit forwarded to it)" if forwarded else ""
        )

    def _why(self) -> str:
        stop = signal_name(self.stop_signal) if self.stop_signal else ""
        return {
            EXEC_FAILED: f"could not start the command: {self.error}",
            TIMED_OUT: "the time limit was reached"
            + (", and the command was killed after the grace period" if self.escalated else ""),
            ESCALATED: f"killed after the {self.grace_period or 0:g}s grace period"
            + (f" (stop began with {stop})" if stop else ""),
            STOPPED: f"stopped by {stop}" if stop else "stopped",
            SIGNALLED: self._signalled(),
            EXITED: "the main child exited by itself",
            INTERNAL_ERROR: f"pyinit failed: {self.error}",
        }[self.reason]


def _named_counts(table: dict[int, int]) -> dict[str, int]:
    return {signal_name(signum): n for signum, n in sorted(table.items())}


def _program(command: tuple[str, ...]) -> str:
    """Only the program's name: the termination message lands in pod status, readable by anyone
    who may list pods, and arguments can carry secrets."""
    return os.path.basename(command[0]) if command else "?"


def write_termination_log(path: str, text: str, log: Log) -> None:
    """Write unless the app already wrote something there (its message is the better one)."""
    try:
        # O_NONBLOCK: a FIFO with no reader would otherwise block PID 1 here for ever.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC | os.O_NONBLOCK, 0o644)
    except OSError as exc:
        log.warning("termination_log_failed", f"failed to open {path}: {exc.strerror}")
        return
    try:
        if os.fstat(fd).st_size > 0:
            log.info("termination_log_kept", f"left {path} alone: the app wrote it", path=path)
            return
        os.write(fd, text.encode("utf-8", "replace"))
    except OSError as exc:
        log.warning("termination_log_failed", f"failed to write {path}: {exc.strerror}")
    finally:
        os.close(fd)


def write_report(path: str, report: dict[str, object], log: Log) -> None:
    """Atomically: a reader sees the old file, no file, or the whole new one.

    The temporary file's name is random and created exclusively (never an existing file, never
    through a symlink): a pid alone is 1 for every PID 1, so containers writing the same path on
    a shared volume would share it."""
    import json

    temporary = f"{path}.{os.getpid()}.{os.urandom(8).hex()}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(temporary, flags, 0o666)
    except OSError as exc:  # not ours to remove, whatever is there
        log.warning("report_failed", f"failed to write report {path}: {exc.strerror or exc}")
        return
    try:
        with open(fd, "w", encoding="utf-8") as stream:
            json.dump(report, stream, indent=2, default=str)
            stream.write("\n")
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        log.warning("report_failed", f"failed to write report {path}: {exc.strerror or exc}")
        try:  # noqa: SIM105 - contextlib stays off the idle path
            os.unlink(temporary)
        except OSError:
            pass
