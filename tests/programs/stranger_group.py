"""PID 1 of a fresh PID namespace in which pyinit is an ordinary wrapper (a subreaper).

pyinit's main child exits and leaves a setsid leftover that ignores SIGTERM, so pyinit drains.
Then a process that is NOT pyinit's descendant is started with the main child's old pid as its
own process group id (ns_last_pid; in real life: pid reuse on a busy host). pyinit gets a
SIGUSR1 to forward and runs into its deadline. Prints "stranger <pid> main <pid>" and then
"stranger alive" or "stranger killed".

Usage: stranger_group.py PYINIT... (the command that runs pyinit, e.g. python -m pyinit)
"""

import os
import re
import signal
import subprocess
import sys
import time

LEFTOVER = "setsid sh -c 'trap \"\" TERM; echo ready; exec sleep 30' &"


def main() -> None:
    pyinit_command = sys.argv[1:]
    app = f"{LEFTOVER} read line; exit 0"  # exits once the leftover is set up
    pyinit = subprocess.Popen(
        [*pyinit_command, "-v", "--grace-period", "1s", "--", "sh", "-c", app],
        stdout=subprocess.PIPE,
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert pyinit.stdout is not None
    assert pyinit.stderr is not None
    assert pyinit.stdin is not None
    assert pyinit.stdout.readline().strip() == "ready"
    pyinit.stdin.write("go\n")
    pyinit.stdin.flush()
    log = ""
    while "others still running" not in log:
        log += pyinit.stderr.readline()
    match = re.search(r"as pid (\d+)", log)
    assert match is not None, log
    main_pid = int(match.group(1))
    with open("/proc/sys/kernel/ns_last_pid", "w") as stream:
        stream.write(str(main_pid - 1))
    stranger = subprocess.Popen(["sleep", "30"], start_new_session=True)
    print(f"stranger {stranger.pid} main {main_pid}", flush=True)
    os.kill(pyinit.pid, signal.SIGUSR1)
    pyinit.wait(10)
    time.sleep(0.1)  # let a SIGKILL land (delivery is asynchronous) before looking
    print("stranger killed" if stranger.poll() is not None else "stranger alive", flush=True)
    stranger.kill()


if __name__ == "__main__":
    main()
