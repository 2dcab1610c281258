"""Part 2: 10,000 mixed signals at pyinit as fast as one process can send them.

Standard signals are a pending *bit*: while one of a kind waits to be taken, more of that kind are
merged into it, at pyinit and again at the child, so the child sees between 1 and `sent` of each.
Real-time signals are *queued* (up to RLIMIT_SIGPENDING per user, 96k here): none may be lost, so
the child must count exactly as many as were sent. SIGRTMAX is sent last as a marker: pending
signals are taken lowest number first, so when the child reports its counts on the marker, pyinit
has already taken and forwarded every signal of the storm.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
from robustlib import memory_kib, robust_program, session_processes

from pyinit.signals import signal_name

from helpers import Running

pytestmark = [pytest.mark.robustness, pytest.mark.integration]

STANDARD = [signal.SIGUSR1, signal.SIGUSR2, signal.SIGHUP, signal.SIGWINCH]
REALTIME = [signal.SIGRTMIN + n for n in range(4)]
MIXED = [*STANDARD, *REALTIME]
STORM = 10_000
GRACE = 5.0
# pyinit's resident memory after the storm may exceed the level after the warm-up storm by this
# much: a few pages of allocator slack. A leak of even 50 bytes per signal would be 490 KiB.
RSS_SLACK_KIB = 256


def storm(pid: int, count: int) -> dict[int, int]:
    """Send `count` signals round-robin over MIXED; return how many of each were sent."""
    sent = dict.fromkeys(MIXED, 0)
    kill = os.kill
    for n in range(count):
        signum = MIXED[n % len(MIXED)]
        kill(pid, signum)
        sent[signum] += 1
    return sent


def counts_after_marker(run: Running, pid: int) -> dict[int, int]:
    os.kill(pid, signal.SIGRTMAX)
    line = run.expect("counts ", timeout=30)
    return {int(k): v for k, v in json.loads(line.split(" ", 1)[1]).items()}


@pytest.mark.parametrize("pidns", [False, pytest.param(True, marks=pytest.mark.pidns)])
def test_signal_storm_is_forwarded_without_loss_or_growth(pidns: bool, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    args = ["--grace-period", f"{GRACE:g}", "--report", str(report), "--"]
    with Running([*args, *robust_program("counter.py", "--sleeper")], pidns=pidns) as run:
        run.ready()
        pid = run.pyinit_pid
        warm = storm(pid, 1000)  # the first storm grows pyinit's dicts and free lists once
        counts_after_marker(run, pid)
        rss_before, _ = memory_kib(pid)

        began = time.monotonic()
        sent = storm(pid, STORM)
        got = counts_after_marker(run, pid)
        took = time.monotonic() - began
        rss_after, hwm_after = memory_kib(pid)

        print(f"storm: {STORM} signals through pyinit in {took:.2f}s; child got {got}; "
              f"pyinit VmRSS {rss_before} -> {rss_after} KiB, VmHWM {hwm_after} KiB")  # fmt: skip
        for signum in REALTIME:  # queued: exactly what was sent (warm-up included)
            assert got[signum] == warm[signum] + sent[signum]
        for signum in STANDARD:  # merged while pending: at least one, at most all
            assert 1 <= got[signum] <= warm[signum] + sent[signum]
        assert rss_after - rss_before <= RSS_SLACK_KIB

        # pyinit, the counter and its sleeper (and unshare) survived the storm
        assert len(session_processes(run.proc.pid)) == (4 if pidns else 3)
        stop_began = time.monotonic()
        run.send(signal.SIGTERM)
        run.expect("bye")
        assert run.wait(GRACE + 2) == 0
        assert time.monotonic() - stop_began < GRACE
        assert session_processes(run.proc.pid) == []

    received = json.loads(report.read_text())["signals_received"]
    for signum in REALTIME:
        assert received[signal_name(signum)] == warm[signum] + sent[signum]
