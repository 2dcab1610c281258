"""Part 5: a bounded soak. For ROBUSTNESS_SOAK_SECONDS (default 20, at most 60) pyinit forwards a
steady stream of mixed signals (in bursts, each acknowledged by the child, so nothing piles up)
while another process of the job makes orphans for pyinit to reap as fast as it can fork.
pyinit's memory is sampled once a second: after the warm-up it must not grow.

Tolerance: 512 KiB between the first sample after the warm-up and the last. CPython takes memory
from the OS in 1 MiB arenas of 16 KiB pools and touches them a page at a time, so a few pages of
slack are normal; a leak of even one 32-byte object per forwarded signal or reaped orphan would
be several MiB over a run of this size (the test prints the counts), far beyond it.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import psutil
import pytest
from robustlib import memory_kib, robust_program
from test_signal_storm import REALTIME, counts_after_marker, storm

from helpers import Running

pytestmark = [pytest.mark.robustness, pytest.mark.integration]

SOAK_SECONDS = min(float(os.environ.get("ROBUSTNESS_SOAK_SECONDS", "20")), 60.0)
WARM_UP = max(2.0, SOAK_SECONDS / 5)
RSS_TOLERANCE_KIB = 512
BURST = 400


def zombies_of(pid: int) -> int:
    count = 0
    for child in psutil.Process(pid).children():
        try:
            count += child.status() == psutil.STATUS_ZOMBIE
        except psutil.Error:
            continue
    return count


def test_soak_forwarding_and_reaping_memory_stays_flat(tmp_path: Path) -> None:
    tally = tmp_path / "orphans"
    with Running(["--", *robust_program("counter.py", "--churn", str(tally))]) as run:
        run.ready()
        pid = run.pyinit_pid
        sent = dict.fromkeys(REALTIME, 0)
        samples: list[tuple[float, int, int]] = []  # (elapsed, VmRSS, zombies)
        began = next_sample = time.monotonic()
        while (now := time.monotonic()) - began < SOAK_SECONDS:
            for signum, n in storm(pid, BURST).items():
                if signum in sent:
                    sent[signum] += n
            got = counts_after_marker(run, pid)
            if now >= next_sample:
                samples.append((now - began, memory_kib(pid)[0], zombies_of(pid)))
                next_sample += 1.0
        rss_max = memory_kib(pid)[1]
        run.send(signal.SIGTERM)
        run.expect("bye")
        assert run.wait() == 0

    orphans = int(tally.read_text().split()[-1]) if tally.exists() else 0
    steady = [rss for at, rss, _ in samples if at >= WARM_UP]
    print(f"soak {SOAK_SECONDS:g}s: {sum(sent.values()) * 2} signals sent, >= {orphans} orphans "
          f"reaped; VmRSS samples (KiB) {[rss for _, rss, _ in samples]}; VmHWM {rss_max} KiB; "
          f"zombies seen at most {max(z for *_, z in samples)}")  # fmt: skip
    assert got == {**got, **sent}  # every queued signal of the whole soak arrived
    assert orphans >= 500  # the reaping side really ran
    assert len(steady) >= 2
    assert steady[-1] - steady[0] <= RSS_TOLERANCE_KIB
