"""Fill stderr (a pipe nobody reads: a stalled log collector) to the brim, then exec argv[1:].

O_NONBLOCK is set only while filling, then cleared again: the pipe is shared with pyinit, whose
next write would then block for good.
"""

import fcntl
import os
import sys


def main() -> None:
    flags = fcntl.fcntl(2, fcntl.F_GETFL)
    fcntl.fcntl(2, fcntl.F_SETFL, flags | os.O_NONBLOCK)
    try:
        while True:
            os.write(2, b"x" * 4096)
    except BlockingIOError:
        pass
    finally:
        fcntl.fcntl(2, fcntl.F_SETFL, flags)
    os.execv(sys.argv[1], sys.argv[1:])


if __name__ == "__main__":
    main()
