"""Leave orphans behind and count how many stay zombies.

Each of N children forks a grandchild and exits at once; the grandchild waits until it has been
re-parented (to the container's PID 1), then exits. Whether its zombie is reaped is up to PID 1:
pyinit reaps it, a plain Python PID 1 (this program itself) never does. Prints `zombies K` after
every grandchild is gone or the deadline passed.
"""

from __future__ import annotations

import os
import sys
import time

ORPHANS = 5
DEADLINE = 3.0


def make_orphan(report: int) -> None:
    parent = os.getpid()
    if os.fork() == 0:
        deadline = time.monotonic() + DEADLINE
        while os.getppid() == parent and time.monotonic() < deadline:
            time.sleep(0.001)
        os.write(report, f"{os.getpid()}\n".encode())
        os._exit(0)
    os._exit(0)


def state(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def main() -> int:
    read_end, write_end = os.pipe()
    for _ in range(ORPHANS):
        child = os.fork()
        if child == 0:
            make_orphan(write_end)
        os.waitpid(child, 0)
    os.close(write_end)
    with os.fdopen(read_end) as reports:
        orphans = [int(line) for line in reports]  # EOF once every grandchild has exited
    deadline = time.monotonic() + DEADLINE
    while any(state(pid) is not None for pid in orphans) and time.monotonic() < deadline:
        time.sleep(0.01)
    zombies = [pid for pid in orphans if state(pid) == "Z"]
    print(f"zombies {len(zombies)} of {len(orphans)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
