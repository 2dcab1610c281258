"""Handing the controlling terminal's foreground to the main child's process group.

pyinit keeps the child in its own session (like tini, unlike dumb-init's setsid mode) and makes the
child's group the terminal's foreground group, so Ctrl-C, Ctrl-\\, Ctrl-Z and SIGWINCH go from the
kernel straight to the app, and an interactive shell gets job control.

The rule (tini's): pyinit has a terminal only if its *stdin* is its controlling terminal, and it
hands the foreground over only while its own group holds it: at the start, and again after the
shell's `fg` (SIGCONT) for a pyinit that was started or put in the background. A terminal on
stdout or stderr alone is somebody else's: `pyinit -- cmd &` in a non-interactive script gets
stdin from /dev/null but shares the script's group, which holds the foreground, and taking it
would stop the script at its next read. With no terminal on stdin nothing here does anything or
logs, and pyinit never changes the terminal's foreground group (Ctrl-Z job control included).
"""

from __future__ import annotations

import os


class Terminal:
    """pyinit's controlling terminal, if its stdin is it."""

    __slots__ = ("fd",)

    def __init__(self, fd: int | None) -> None:
        self.fd = fd

    @classmethod
    def detect(cls) -> Terminal:
        """Found even when pyinit starts in the background of an interactive shell
        (`pyinit -- cmd &` keeps the terminal on stdin there): the shell's `fg` must then move
        the terminal on to the child, or the child stops at its first read."""
        try:
            if os.isatty(0):
                os.tcgetpgrp(0)  # ENOTTY unless it is our controlling terminal
                return cls(0)
        except OSError:
            pass  # a terminal, but not our controlling one
        return cls(None)

    def handoff_fd(self) -> int | None:
        """The fd the new child takes the foreground on, only if pyinit's group holds it now:
        a pyinit started in the background must not steal the terminal from the shell."""
        return self.fd if self.fd is not None and self.is_foreground() else None

    def has_job_control(self) -> bool:
        """Can a shell resume pyinit if it stops itself? Not when pyinit's group is its session
        leader's (a bare pty, `setsid`, PID 1): nobody above does job control there, and the
        kernel treats that group as orphaned."""
        return self.fd is not None and os.getpgrp() != os.getsid(0)

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
        try:  # noqa: SIM105 - contextlib stays off the idle path
            os.tcsetpgrp(self.fd, pgid)
        except OSError:
            pass
