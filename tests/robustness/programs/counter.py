"""Counts the signals it gets, exactly: they are blocked and taken one by one with sigwaitinfo,
so nothing is lost to Python's handler coalescing (only the kernel's own merging remains).

    ready <pid> <pgid>     once the mask is set (the handshake)
    counts <json>          on SIGRTMAX, the marker: {signal number: times received}
    bye                    on SIGTERM, then exit 0
With --sleeper, it first starts `sleep` in the same process group, ignoring the storm's signals
but not SIGTERM, so the stop must reach it too.
With --churn FILE, it first forks a process that makes orphans for ever (a child that forks a
grandchild and exits at once), appending the running total to FILE every 100; it ignores the
counted signals.
"""

import json
import os
import signal
import subprocess
import sys

COUNTED = [signal.SIGUSR1, signal.SIGUSR2, signal.SIGHUP, signal.SIGWINCH,
           *range(signal.SIGRTMIN, signal.SIGRTMIN + 4)]  # fmt: skip
MARKER = signal.SIGRTMAX


def churn(tally: str, started: int) -> None:
    out = os.open(tally, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    for signum in [*COUNTED, MARKER]:
        signal.signal(signum, signal.SIG_IGN)  # ignored: discarded, never queued
    os.close(started)  # only now may the storm begin: SIGUSR1 would kill us a moment ago
    made = 0
    while True:
        pid = os.fork()
        if pid == 0:
            if os.fork() == 0:
                os._exit(0)  # the grandchild: its parent is gone, pyinit must reap it
            os._exit(0)
        os.waitpid(pid, 0)
        made += 1
        if made % 100 == 0:
            os.write(out, f"{made}\n".encode())  # one append: never a torn line


def sleeper_setup() -> None:
    """Between fork and exec: ignored dispositions survive exec, the blocked mask is cleared."""
    for signum in [*COUNTED, MARKER]:
        signal.signal(signum, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_SETMASK, ())


def main() -> None:
    if "--churn" in sys.argv:
        wait_end, started = os.pipe()
        if os.fork() == 0:
            os.close(wait_end)
            churn(sys.argv[sys.argv.index("--churn") + 1], started)
        os.close(started)
        os.read(wait_end, 1)  # EOF once the churner ignores the storm's signals
        os.close(wait_end)
    # SIGPIPE too: Python ignores it by default, and a test must see one that pyinit passed on.
    waited = {*COUNTED, MARKER, signal.SIGTERM, signal.SIGPIPE}
    signal.pthread_sigmask(signal.SIG_BLOCK, waited)
    if "--sleeper" in sys.argv:
        subprocess.Popen(["sleep", "1000"], preexec_fn=sleeper_setup)
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
