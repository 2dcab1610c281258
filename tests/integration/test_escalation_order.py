"""The deadline SIGKILL goes out before pyinit reads anything that can block on its target.

/proc/PID/cmdline takes the target's mmap lock and hangs behind a process stuck in D state (a dead
FUSE or NFS mount); a real one cannot be made here, so strace records the order of pyinit's
syscalls instead: every SIGKILL before the first read of a /proc/PID/cmdline.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

import psutil
import pytest

from helpers import PYINIT, TIMEOUT, UNSHARE, sleep_until

pytestmark = pytest.mark.integration

PIDNS = pytest.param(True, id="pid1", marks=pytest.mark.pidns)
WRAPPER = pytest.param(False, id="wrapper")
# The main child and a setsid leftover outside its group both ignore SIGTERM: only the deadline
# SIGKILL ends them.
STUBBORN = "trap '' TERM; setsid sh -c 'sleep 101' & sleep 100"
SIGKILL_SENT = re.compile(r"\b(kill|pidfd_send_signal)\(.*SIGKILL")
CMDLINE_READ = re.compile(r'open(at)?\(.*"/proc/\d+/cmdline"')


def _stubborn_main_child(root: int) -> psutil.Process | None:
    """The main child (the shell running STUBBORN) under `root`, once both sleeps run: the setsid
    one has left the group by then."""
    main, sleeps = None, set()
    for process in psutil.Process(root).children(recursive=True):
        try:
            cmdline = process.cmdline()
        except psutil.Error:
            continue
        if cmdline == ["sh", "-c", STUBBORN]:
            main = process
        elif cmdline[:1] == ["sleep"]:
            sleeps.add(" ".join(cmdline))
    return main if sleeps == {"sleep 100", "sleep 101"} else None


@pytest.mark.parametrize("pidns", [WRAPPER, PIDNS])
def test_sigkill_goes_out_before_any_cmdline_is_read(tmp_path: Path, pidns: bool) -> None:
    """At the deadline pyinit should SIGKILL first (from /proc/PID/stat alone) and read command
    lines only afterwards, to describe what it killed."""
    if shutil.which("strace") is None:
        pytest.skip("needs strace")
    trace, report = tmp_path / "trace", tmp_path / "report.json"
    pyinit = [*PYINIT, "--grace-period", "0.3s", "--report", str(report)]
    argv = [
        "strace",
        "-f",
        "-qq",
        "-o",
        str(trace),
        "-e",
        "trace=open,openat,kill,pidfd_send_signal",
        *(UNSHARE if pidns else []),
        *pyinit,
        "--",
        "sh",
        "-c",
        STUBBORN,
    ]
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        # The stop starts once the job is set up (under strace that takes a while): at a
        # deadline set from pyinit's start, the setsid leftover might not have left the group
        # yet, and one killpg would be the only SIGKILL.
        main = sleep_until(lambda: _stubborn_main_child(proc.pid))
        assert isinstance(main, psutil.Process)
        os.kill(main.ppid(), signal.SIGTERM)
        _, stderr = proc.communicate(timeout=TIMEOUT)
    finally:
        with contextlib.suppress(psutil.Error):
            for process in psutil.Process(proc.pid).children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    process.kill()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(TIMEOUT)
    assert proc.returncode == 128 + signal.SIGKILL, stderr
    lines = trace.read_text().splitlines()
    kills = [n for n, line in enumerate(lines) if SIGKILL_SENT.search(line)]
    reads = [n for n, line in enumerate(lines) if CMDLINE_READ.search(line)]
    assert kills, "no SIGKILL in the trace"
    # The escalation is one kill(-1) as PID 1; killpg and the setsid leftover's own otherwise.
    before_any_read = [n for n in kills if not reads or n < reads[0]]
    relevant = [lines[n] for n in sorted({*kills, *reads})]
    assert len(before_any_read) >= (1 if pidns else 2), "\n".join(relevant)
    killed = json.loads(report.read_text())["killed"]
    assert "sleep" in [info["name"] for info in killed], killed
