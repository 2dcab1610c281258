"""Zero-loss stop: `podman stop` in the middle of HTTP load, with and without pyinit.

The app (examples/app/app.py) drains on SIGTERM: it stops accepting, finishes what is in flight,
exits 0. That is not enough on its own: requests keep arriving until the load balancers have
noticed the endpoint is gone (`loadgen.Load` models that with PROPAGATION), and a server that
closed its listener at the first SIGTERM refuses them. pyinit's --stop-delay keeps the app serving
through that window. Results go into the table printed at the end of the run (README numbers).
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass

import container_fixtures
import pytest
from container_env import Container
from loadgen import Load
from results import ZERO_LOSS

pytestmark = container_fixtures.MARKS
app_image_fixture = container_fixtures.app_image

PROPAGATION = 1.0  # seconds until load balancers stop sending to the removed endpoint
STOP_DELAY = 2.0  # pyinit --stop-delay: longer than PROPAGATION, as it should be
STOP_TIMEOUT = 5  # podman stop -t
WARM_UP = 200  # requests that must succeed before the stop


@dataclass(frozen=True)
class Scenario:
    title: str
    entrypoint: str | None
    command: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    zero_loss: bool
    exit_code: int


APP = ("python3", "/app/app.py")
SCENARIOS = [
    Scenario("no init: python3 app.py as PID 1", "python3", APP[1:], (), False, 0),
    Scenario("no init: sh -c 'python3 app.py; echo done'", "sh",
             ("-c", "python3 /app/app.py; echo done"), (), True, 137),
    Scenario("pyinit, no stop delay", None, APP, (), False, 0),
    Scenario(f"pyinit --stop-delay {STOP_DELAY:g}s", None, APP,
             (("PYINIT_STOP_DELAY", f"{STOP_DELAY:g}s"),), True, 0),
]  # fmt: skip


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


@pytest.mark.parametrize(
    "scenario", SCENARIOS, ids=["no-init-exec", "no-init-shell", "pyinit", "pyinit-delay"]
)
def test_stop_under_load(app_image: str, scenario: Scenario) -> None:
    port = free_port()
    env = {"HOST": "127.0.0.1", "PORT": str(port), **dict(scenario.env)}
    with Container(
        app_image,
        scenario.command,
        entrypoint=scenario.entrypoint,
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
    errors = ", ".join(f"{n} {kind}" for kind, n in result.errors.most_common()) or "-"
    cleanup = "yes" if cleaned_up else "no"
    ZERO_LOSS.add(scenario.title, result.sent, result.failed, errors, took, code, cleanup)
    assert result.ok >= WARM_UP
    assert code == scenario.exit_code, box.lines
    assert cleaned_up == (code == 0)
    if scenario.zero_loss:
        assert result.failed == 0, result.errors
    else:
        # The control: without the delay the same load does lose requests.
        assert result.failed > 0, result
