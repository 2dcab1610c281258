"""Counts the signals it gets, exactly: they are blocked and taken one by one with sigwaitinfo,
so nothing is lost to Python's handler coalescing (only the kernel's own merging remains).

    ready <pid> <pgid>     once the mask is set (the handshake)
    counts <json>          on SIGRTMAX, the marker: {signal number: times received}
    bye                    on SIGTERM, then exit 0
With --sleeper, it first starts `sleep` in its own process group, so a stop must reach it too.
"""

import json
import os
import signal
import subprocess
import sys

COUNTED = [signal.SIGUSR1, signal.SIGUSR2, signal.SIGHUP, signal.SIGWINCH,
           *range(signal.SIGRTMIN, signal.SIGRTMIN + 4)]  # fmt: skip
MARKER = signal.SIGRTMAX


def main() -> None:
    waited = {*COUNTED, MARKER, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, waited)
    if "--sleeper" in sys.argv:
        subprocess.Popen(
            ["sleep", "1000"],
            preexec_fn=lambda: signal.pthread_sigmask(signal.SIG_SETMASK, ()),
        )
    print(f"ready {os.getpid()} {os.getpgrp()}", flush=True)
    counts: dict[int, int] = {}
    while True:
        signum = signal.sigwaitinfo(waited).si_signo
        if signum == MARKER:
            print("counts " + json.dumps(counts), flush=True)
        elif signum == signal.SIGTERM:
            print("bye", flush=True)
            return
        else:
            counts[signum] = counts.get(signum, 0) + 1


if __name__ == "__main__":
    main()
