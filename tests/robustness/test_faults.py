"""Part 4: faults around pyinit: closed or broken standard streams, unwritable outcome files,
vanished processes, EINTR, a child that closes its fds, and signals blocked or ignored by whoever
started pyinit. pyinit must keep supervising and exit with the contract's code."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import PYINIT, TIMEOUT, Running
from robustlib import robust_program

pytestmark = [pytest.mark.robustness, pytest.mark.integration]


def closing(*fds: int) -> Callable[[], None]:
    def close() -> None:
        for fd in fds:
            os.close(fd)

    return close


def run_raw(args: list[str], **popen: object) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(  # noqa: S603
        [*PYINIT, *args],
        timeout=TIMEOUT,
        start_new_session=True,
        check=False,
        **popen,  # type: ignore[call-overload]
    )


@pytest.mark.parametrize("closed", [(2,), (1, 2), (0, 1, 2)])
@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--no-such-option", "--", "true"], 125),  # click's error path
        (["--grace-period", "soon", "--", "true"], 125),  # Config.build's error path
        (["-vv", "--", "sh", "-c", "exit 3"], 3),
        (["-vv", "--", "/nonexistent"], 127),
    ],
)
def test_closed_standard_streams_keep_the_exit_code(
    closed: tuple[int, ...], args: list[str], code: int
) -> None:
    assert run_raw(args, preexec_fn=closing(*closed)).returncode == code


def test_termination_log_fifo_without_reader_does_not_hang_pyinit(tmp_path: Path) -> None:
    """open(O_WRONLY) on a FIFO waits for a reader: pyinit hung at exit, immune to SIGTERM."""
    fifo = tmp_path / "termination-log"
    os.mkfifo(fifo)
    result = run_raw(
        ["--termination-log", str(fifo), "--", "sh", "-c", "exit 4"], capture_output=True
    )
    assert result.returncode == 4
    assert result.stderr.startswith(b"pyinit: warning: failed to open")


def test_a_log_reader_that_stops_reading_does_not_stall_pyinit() -> None:
    """stderr is a pipe nobody drains (a stuck log driver): -vv fills it with a debug line per
    reaped orphan, yet SIGTERM must still be handled and the exit code come through."""
    churn = 4000  # ~40 bytes of log each for 2000 orphans: more than a 64 KiB pipe holds
    with Running(["-vv", "--", *robust_program("forker.py", "churn", str(churn))]) as run:
        run.expect(f"done {churn}", timeout=60)
        run.send(signal.SIGTERM)
        assert run.wait() == 7
