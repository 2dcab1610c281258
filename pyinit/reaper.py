"""The only module that calls waitpid.

It drains every ready child with WNOHANG after each wake-up and never trusts SIGCHLD's si_pid:
SIGCHLD is coalesced, so one signal can stand for many exits, or for none any more.
"""

from __future__ import annotations

import os


class Reaped:
    """What one drain found: exits and stops, and whether any child is left alive."""

    __slots__ = ("children_left", "exited", "stopped")

    def __init__(self) -> None:
        self.exited: list[tuple[int, int]] = []
        self.stopped: list[int] = []
        self.children_left = False


def reap_children() -> Reaped:
    """Collect every child status that is ready now, without blocking."""
    found = Reaped()
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG | os.WUNTRACED)
        except ChildProcessError:
            return found
        if pid == 0:
            found.children_left = True
            return found
        if os.WIFSTOPPED(status):
            found.stopped.append(pid)
        else:
            found.exited.append((pid, status))
