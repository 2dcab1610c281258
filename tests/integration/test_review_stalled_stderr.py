"""pyinit's log must never hold up PID 1: a full stderr pipe drops lines, it does not block."""

from __future__ import annotations

import signal
import time

import pytest

from helpers import Running, program, reporter

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("log_args", [["--log-format", "json"], ["-v"]])
def test_a_stalled_stderr_reader_does_not_delay_the_stop(log_args: list[str]) -> None:
    app = program("fill_stderr.py", *reporter("--exit-on", "TERM", "--code", "3"))
    with Running([*log_args, "--grace-period", "2s", "--", *app]) as run:
        run.ready()  # stderr is full now; Running reads it only at the end
        started = time.monotonic()
        run.send(signal.SIGTERM)
        run.expect("cleanup SIGTERM", timeout=5)
        assert run.wait(timeout=5) == 3
        assert time.monotonic() - started < 2
