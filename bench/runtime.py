"""The long-lived sessions that idle wake-ups, forwarding latency, reaping and memory share.

One session per init, each with the same child (AGENT); all inits idle together, then the
latency rounds, the signal storm and the orphan storms run on them in turn, and memory is
snapshotted between the steps. Inits measured for start-up only (`runtime=False`) leave after idle.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import idle
import latency
import memory
import reaping
from harness import Init, Plan, Session, Tools, sessions
from procfs import memory_status

# The child for the long-lived sessions. SIGUSR1: stamp CLOCK_MONOTONIC right after sigwaitinfo
# returns and print it; SIGUSR2: make argv[1] double-forked orphans (each grandchild exits at once
# and is re-parented to the init, which has to reap it), then print "done". Any other signal has its
# default action, so SIGTERM ends it at once. Run with -I -S: no site, few imports.
AGENT = r"""
import os, signal, sys, time
orphans = int(sys.argv[1])
wanted = {signal.SIGUSR1, signal.SIGUSR2}
signal.pthread_sigmask(signal.SIG_BLOCK, wanted)
os.write(1, b"ready\n")
while True:
    info = signal.sigwaitinfo(wanted)
    now = time.monotonic()
    if info.si_signo == signal.SIGUSR1:
        os.write(1, b"t %.9f\n" % now)
        continue
    for _ in range(orphans):
        pid = os.fork()
        if pid == 0:
            if os.fork() == 0:
                os._exit(0)
            os._exit(0)
        os.waitpid(pid, 0)
    os.write(1, b"done\n")
"""


def measure_runtime(
    tools: Tools, inits: Sequence[Init], plan: Plan, errors: Path, python: str
) -> dict[str, dict[str, object]]:
    """Idle wake-ups, forwarding latency, reaping and memory, on one long-lived session per init."""
    agent = tools.child(AGENT, str(plan.orphans))
    floor = memory.measure_floor_memory(python)
    snapshots: dict[str, dict[str, object]] = {}
    with sessions(tools, inits, agent, errors) as active:
        for session in active:
            snapshots[session.init.name] = {"idle": memory_status(session.pid)}
        wakeups = idle.measure_idle(active, plan.idle_seconds)
        runtime = [session for session in active if session.init.runtime]
        for session in active:
            if not session.init.runtime:
                session.close()
        with sessions(tools, [Init("no init", [])], agent, errors) as (direct,):
            forwarding = latency.measure_latency(runtime, direct, plan.latency)
        _snapshot(runtime, snapshots, "after_latency")
        rates = latency.signal_storm(runtime, plan.signal_storm)
        _snapshot(runtime, snapshots, "after_signals")
        reaped = reaping.measure_reaping(
            runtime, plan, lambda: _snapshot(runtime, snapshots, "after_first_orphans")
        )
        _snapshot(runtime, snapshots, "after_orphans")
    return {
        "idle_wakeups": wakeups,
        "forwarding_latency": {**forwarding, "storm_signals_per_s": rates},
        "reaping": reaped,
        "memory": memory.memory_report(snapshots, floor, plan),
    }


def _snapshot(
    active: Sequence[Session], snapshots: dict[str, dict[str, object]], label: str
) -> None:
    for session in active:
        snapshots[session.init.name][label] = memory_status(session.pid)
