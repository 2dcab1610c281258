"""Where the command is started: glibc's execvp, split into what is prepared before the fork and
what the child runs after it.

`ExecPlan` is built in pyinit: argv and environment as bytes, and the files to try. `exec_plan`
runs in the child, after the credential switch (so PATH is searched as the target user), and may
do nothing but execve calls and arithmetic: no import, no file opened, no encoding.
"""

from __future__ import annotations

import errno
import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

# What glibc's execvp searches when PATH is unset (confstr(_CS_PATH)).
DEFAULT_PATH = b"/bin:/usr/bin"
# execvp runs a file the kernel cannot execute (ENOEXEC: no #! line) with this shell.
SHELL = b"/bin/sh"
# Errors after which glibc's execvp tries the next PATH entry (EACCES is remembered).
_KEEP_SEARCHING = frozenset(
    {errno.ENOENT, errno.ENOTDIR, errno.EACCES, errno.ESTALE, errno.ENODEV, errno.ETIMEDOUT}
)


class ExecPlan:
    """argv, environment and the files to try, all as bytes and built before the fork."""

    __slots__ = ("argv", "candidates", "direct", "env")

    def __init__(self, argv: Sequence[str], env: Mapping[str, str] | None) -> None:
        self.argv = [os.fsencode(arg) for arg in argv]
        self.env: dict[bytes, bytes] = (
            dict(os.environb)
            if env is None
            else {os.fsencode(name): os.fsencode(value) for name, value in env.items()}
        )
        name = self.argv[0]
        self.direct = b"/" in name
        self.candidates = exec_candidates(name, self.env.get(b"PATH"))


def exec_candidates(name: bytes, path: bytes | None) -> list[bytes]:
    """The files execvp would try for `name`, in order: itself if it holds a '/', else each PATH
    entry joined with it (an empty entry means the current directory)."""
    if b"/" in name:
        return [name]
    if not name:
        return []
    entries = (DEFAULT_PATH if path is None else path).split(b":")
    return [entry.rstrip(b"/") + b"/" + name if entry else name for entry in entries]


def exec_plan(plan: ExecPlan) -> int:
    """Exec the first candidate that runs, as glibc's execvp would. Returns only on failure,
    with the errno to report: a direct path's own; else the first error that stops the search,
    or EACCES if some candidate gave it, or ENOENT."""
    if plan.direct:
        return _exec_file(plan.candidates[0], plan)
    denied = False
    for candidate in plan.candidates:
        number = _exec_file(candidate, plan)
        if number == errno.EACCES:
            denied = True
        elif number not in _KEEP_SEARCHING:
            return number
    return errno.EACCES if denied else errno.ENOENT


def _exec_file(path: bytes, plan: ExecPlan) -> int:
    """execve `path`; a file without a valid format (ENOEXEC: no #! line) is run by /bin/sh as
    `/bin/sh path args...`, as execvp does. Returns the errno if nothing ran; if the shell itself
    cannot run, the file's own ENOEXEC."""
    try:
        os.execve(path, plan.argv, plan.env)
    except OSError as exc:
        if exc.errno != errno.ENOEXEC:
            return exc.errno or 0
    try:  # noqa: SIM105 - contextlib stays off the idle path (see pyinit.signals)
        os.execve(SHELL, [SHELL, path, *plan.argv[1:]], plan.env)
    except OSError:
        pass
    return errno.ENOEXEC
