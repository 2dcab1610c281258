"""The exit-code contract. No other module writes a numeric exit code.

| situation                                   | code    |
|---------------------------------------------|---------|
| main child exits with N                     | N       |
| main child killed by signal N               | 128 + N |
| --timeout reached                           | 124     |
| pyinit failed (usage, bad value, internal)  | 125     |
| command found but cannot be executed        | 126     |
| command not found                           | 127     |
Remaps (--remap-exit) apply last.
"""

import errno
import os

# Not collections.abc, which imports all of collections (~0.25 MB for pyinit's life).
from _collections_abc import Mapping

SUCCESS = 0
TIMED_OUT = 124
PYINIT_FAILED = 125
CANNOT_EXECUTE = 126
NOT_FOUND = 127
SIGNAL_BASE = 128


def from_wait_status(status: int) -> int:
    """Turn a waitpid status into a shell-style exit code (128 + N for a signal)."""
    code = os.waitstatus_to_exitcode(status)
    return SIGNAL_BASE - code if code < 0 else code


def from_exec_errno(number: int) -> int:
    """127 when the command does not exist, 126 when it exists but cannot be run (POSIX sh)."""
    return NOT_FOUND if number in (errno.ENOENT, errno.ENOTDIR) else CANNOT_EXECUTE


def final(code: int, *, timed_out: bool, remap: Mapping[int, int]) -> int:
    """The code pyinit exits with: 124 wins after a timeout, then the user's remap table."""
    if timed_out:
        code = TIMED_OUT
    return remap.get(code, code)
