"""The exit-code contract."""

from __future__ import annotations

import errno
import os
import signal

import pytest

from pyinit import exit_codes


def _exited(code: int) -> int:
    return code << 8


@pytest.mark.parametrize("code", [0, 1, 2, 126, 127, 255], ids=str)
def test_passes_the_child_exit_code_through(code: int) -> None:
    """pyinit should exit with the child's own code."""
    assert exit_codes.from_wait_status(_exited(code)) == code


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL, signal.SIGINT], ids=str)
def test_maps_a_killing_signal_to_128_plus_n(signum: int) -> None:
    """A child killed by signal N makes pyinit exit 128 + N."""
    assert exit_codes.from_wait_status(signum) == 128 + signum


def test_exec_errors_map_like_a_shell() -> None:
    """Not found is 127; found but not executable is 126."""
    assert exit_codes.from_exec_errno(errno.ENOENT) == 127
    assert exit_codes.from_exec_errno(errno.EACCES) == 126
    assert exit_codes.from_exec_errno(errno.ENOEXEC) == 126


def test_timeout_wins_then_remap_applies_last() -> None:
    """After a timeout the code is 124 whatever the child did; remaps come last."""
    assert exit_codes.final(0, timed_out=True, remap={}) == 124
    assert exit_codes.final(143, timed_out=False, remap={143: 0}) == 0
    assert exit_codes.final(137, timed_out=True, remap={124: 3}) == 3


def test_wait_status_helpers_agree_with_os() -> None:
    """Sanity: the encoding used above is the kernel's."""
    assert os.waitstatus_to_exitcode(_exited(3)) == 3
