"""A long-running app that treats SIGQUIT as the JVM does: print a thread dump, keep running.

Prints `ready`; on each SIGQUIT prints `thread dump N`; on SIGTERM prints `cleanup done` and
exits 0.
"""

from __future__ import annotations

import signal
import sys


def main() -> int:
    wanted = {signal.SIGQUIT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, wanted)
    print("ready", flush=True)
    dumps = 0
    while signal.sigwait(wanted) == signal.SIGQUIT:
        dumps += 1
        print(f"thread dump {dumps}", flush=True)
    print("cleanup done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
