"""Process storms for pyinit's tests. Every mode prints a line when its storm is in place.

churn N    fork N short-lived children, every other one leaving an orphan grandchild;
           print "done N", then exit 7 on SIGTERM
bomb       fork children that ignore SIGTERM until fork fails (a pids limit must bound this);
           print "full <count>", then wait to be stopped (SIGTERM kills this main process)
leave N    start N descendants in sessions of their own, print "left N", exit 3
stubborn   start a descendant in its own session that ignores SIGTERM and forks a new
           SIGTERM-ignoring child every few milliseconds, for ever; print "ready", wait for
           SIGTERM (which kills this main process)
"""

import errno
import os
import signal
import sys


def fork_retrying() -> int:
    """fork, waiting out EAGAIN: under a pids limit other processes of the storm must exit first."""
    while True:
        try:
            return os.fork()
        except OSError as exc:
            if exc.errno != errno.EAGAIN:
                raise
            os.sched_yield()


def churn(count: int) -> None:
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})  # taken by sigwait below
    print("churning", flush=True)
    for n in range(count):
        pid = fork_retrying()
        if pid == 0:
            if n % 2 and fork_retrying() == 0:
                os._exit(0)  # the grandchild: orphaned when its parent is gone
            os._exit(0)
        os.waitpid(pid, 0)
    print(f"done {count}", flush=True)
    signal.sigwait({signal.SIGTERM})
    sys.exit(7)


def bomb() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # inherited by every child
    count = 0
    while True:
        try:
            pid = os.fork()
        except OSError:
            break
        if pid == 0:
            while True:
                signal.pause()
        count += 1
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    print(f"full {count}", flush=True)
    while True:
        signal.pause()


def leave(count: int) -> None:
    for _ in range(count):
        if fork_retrying() == 0:
            os.setsid()  # out of the main child's group: only pyinit's tree walk finds it
            while True:
                signal.pause()
    print(f"left {count}", flush=True)
    sys.exit(3)


def stubborn() -> None:
    read_end, write_end = os.pipe()
    if fork_retrying() == 0:
        os.setsid()
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        os.write(write_end, b"x")
        while True:
            if fork_retrying() == 0:
                while True:
                    signal.pause()
            signal.sigtimedwait({signal.SIGCHLD}, 0.005)  # pace the forks, reap nothing
    os.read(read_end, 1)
    print("ready", flush=True)
    while True:
        signal.pause()


if __name__ == "__main__":
    mode, *rest = sys.argv[1:]
    if mode == "churn":
        churn(int(rest[0]))
    elif mode == "bomb":
        bomb()
    elif mode == "leave":
        leave(int(rest[0]))
    else:
        stubborn()
