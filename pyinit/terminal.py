"""Handing the controlling terminal's foreground to the main child's process group.

pyinit keeps the child in its own session (like tini, unlike dumb-init's setsid mode) and makes the
child's group the terminal's foreground group, so Ctrl-C, Ctrl-\\, Ctrl-Z and SIGWINCH go from the
kernel straight to the app, and an interactive shell gets job control. The hand-off happens only
when pyinit itself is in the foreground; with no terminal nothing here does anything or logs.
"""

from __future__ import annotations

import contextlib
import os


class Terminal:
    """The controlling terminal pyinit found at start, if it was in its foreground."""

    __slots__ = ("fd",)

    def __init__(self, fd: int | None) -> None:
        self.fd = fd

    @classmethod
    def detect(cls) -> Terminal:
        for fd in (0, 1, 2):
            try:
                if os.isatty(fd) and os.tcgetpgrp(fd) == os.getpgrp():
                    return cls(fd)
            except OSError:
                continue  # a terminal, but not our controlling one
        return cls(None)

    def is_foreground(self) -> bool:
        """Is pyinit's own group in the foreground (e.g. after the shell's `fg`)?"""
        return self._foreground() == os.getpgrp()

    def hand_to(self, pgid: int) -> None:
        """Give the foreground to the child's group if it is ours to give."""
        if self.fd is not None and self.is_foreground():
            self._set_foreground(pgid)

    def take_back(self, pgid: int) -> None:
        """Restore pyinit's own group as foreground if the child's group still holds it."""
        if self.fd is not None and self._foreground() == pgid:
            self._set_foreground(os.getpgrp())

    def _foreground(self) -> int | None:
        if self.fd is None:
            return None
        try:
            return os.tcgetpgrp(self.fd)
        except OSError:
            return None

    def _set_foreground(self, pgid: int) -> None:
        assert self.fd is not None
        # SIGTTOU is blocked, so this works from the background too. It fails when the group is
        # gone or the terminal was hung up: then there is nothing left to hand over.
        with contextlib.suppress(OSError):
            os.tcsetpgrp(self.fd, pgid)
