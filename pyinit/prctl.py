"""The two prctl(2) calls pyinit needs, through ctypes (the standard library has no prctl)."""

from __future__ import annotations

import ctypes
import os

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
_libc: ctypes.CDLL | None = None


def load() -> None:
    """Load libc now, so a forked child never has to (it only calls into it)."""
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)


def prctl(option: int, value: int) -> None:
    load()
    assert _libc is not None
    if _libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0) != 0:
        number = ctypes.get_errno()
        raise OSError(number, os.strerror(number))


def become_subreaper() -> None:
    """Orphaned descendants are re-parented to us instead of to the real init (prctl(2))."""
    prctl(PR_SET_CHILD_SUBREAPER, 1)


def set_pdeathsig(signum: int) -> None:
    prctl(PR_SET_PDEATHSIG, signum)
