"""Part 4: faults around pyinit: closed or broken standard streams, unwritable outcome files,
vanished processes, EINTR, a child that closes its fds, and signals blocked or ignored by whoever
started pyinit. pyinit must keep supervising and exit with the contract's code."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import PYINIT, TIMEOUT

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
