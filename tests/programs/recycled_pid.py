"""A leftover that makes pyinit's reaped main child's pid come back as another child of pyinit.

Usage: recycled_pid.py MAIN_PID READY_FILE. It leaves the main child's process group (so that
pid is free once the main child is reaped), writes "ready" to READY_FILE, waits until MAIN_PID
is gone, forces the namespace's next pid to be MAIN_PID (ns_last_pid; in real life: pid
wrap-around during a long drain), and forks an orphan with it that exits 7. Prints
"recycled <pid>" so the test can check the set-up worked.
"""

import os
import signal
import sys
import time


def main() -> None:
    main_pid, ready_file = int(sys.argv[1]), sys.argv[2]
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # survive pyinit's leftover SIGTERM
    os.setsid()
    with open(ready_file, "w") as stream:
        stream.write("ready\n")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(main_pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.01)
    with open("/proc/sys/kernel/ns_last_pid", "w") as stream:
        stream.write(str(main_pid - 1))
    parent = os.getpid()
    if os.fork() == 0:
        print(f"recycled {os.getpid()}", flush=True)
        # Exit only once orphaned: this process must be pyinit's child when it dies.
        deadline = time.monotonic() + 10
        while os.getppid() == parent and time.monotonic() < deadline:
            time.sleep(0.001)
        os._exit(7)
    os._exit(0)


if __name__ == "__main__":
    main()
