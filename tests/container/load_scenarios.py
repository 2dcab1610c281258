"""A stop in the middle of HTTP load, measured the same way under podman and Docker.

The app (examples/app/app.py) drains on SIGTERM: it stops accepting, finishes what is in flight,
exits 0. That is not enough on its own: requests keep arriving until the load balancers have
noticed the endpoint is gone (`loadgen.Load` models that with PROPAGATION), and a server that
closed its listener at the first SIGTERM refuses them. pyinit's --stop-delay keeps the app serving
through that window.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass

from container_env import Container, Image
from loadgen import Load, LoadResult

PROPAGATION = 1.0  # seconds until load balancers stop sending to the removed endpoint
STOP_DELAY = 2.0  # pyinit --stop-delay: longer than PROPAGATION, as it should be
STOP_TIMEOUT = 5  # podman stop -t / docker stop -t
WARM_UP = 200  # requests that must succeed before the stop
APP = ("python3", "/app/app.py")


@dataclass(frozen=True)
class Scenario:
    title: str
    entrypoint: str | None
    command: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    zero_loss: bool
    exit_code: int
    init: bool = False  # docker run --init


@dataclass(frozen=True)
class Outcome:
    load: LoadResult
    took: float
    exit_code: int
    cleaned_up: bool

    @property
    def errors(self) -> str:
        return ", ".join(f"{n} {kind}" for kind, n in self.load.errors.most_common()) or "-"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def stop_in_background(box: Container, timings: dict[str, float]) -> threading.Thread:
    def stop() -> None:
        timings["stop"] = box.stop(STOP_TIMEOUT)

    thread = threading.Thread(target=stop, daemon=True)
    thread.start()
    return thread


def stop_under_load(image: Image, scenario: Scenario) -> Outcome:
    """Serve load, stop the container in the middle of it, keep sending for PROPAGATION s."""
    port = free_port()
    env = {"HOST": "127.0.0.1", "PORT": str(port), **dict(scenario.env)}
    with Container(
        image,
        scenario.command,
        entrypoint=scenario.entrypoint,
        init=scenario.init,
        env=env,
        options=("--network", "host"),
    ) as box:
        box.expect("ready")
        load = Load(port)
        load.start()
        try:
            load.wait_ok(WARM_UP, timeout=30)
        finally:
            started = time.monotonic()
            timings: dict[str, float] = {}
            stopper = stop_in_background(box, timings)
            load.remove_endpoint(PROPAGATION)
            result = load.join(timeout=60)
        stopper.join(STOP_TIMEOUT + 70)
        code = box.wait()
        took = timings.get("stop", time.monotonic() - started)
        cleaned_up = any(line.startswith("cleanup done") for line in box.rest_of_output())
    return Outcome(result, took, code, cleaned_up)


def check(outcome: Outcome, scenario: Scenario) -> None:
    assert outcome.load.ok >= WARM_UP
    assert outcome.exit_code == scenario.exit_code, outcome
    assert outcome.cleaned_up == (outcome.exit_code == 0)
    if scenario.zero_loss:
        assert outcome.load.failed == 0, outcome.load.errors
    else:
        # The control: without the delay the same load does lose requests.
        assert outcome.load.failed > 0, outcome.load
