"""Zero-loss stop: `podman stop` in the middle of HTTP load, with and without pyinit.

How the load and the stop are made: load_scenarios.py. Results go into the table printed at the
end of the run (README numbers).
"""

from __future__ import annotations

import container_fixtures
import pytest
from container_env import Image
from load_scenarios import APP, STOP_DELAY, Scenario, check, stop_under_load
from results import ZERO_LOSS

pytestmark = container_fixtures.MARKS
app_image_fixture = container_fixtures.app_image

SCENARIOS = [
    Scenario("no init: python3 app.py as PID 1", "python3", APP[1:], (), False, 0),
    Scenario("no init: sh -c 'python3 app.py; echo done'", "sh",
             ("-c", "python3 /app/app.py; echo done"), (), True, 137),
    Scenario("pyinit, no stop delay", None, APP, (), False, 0),
    Scenario(f"pyinit --stop-delay {STOP_DELAY:g}s", None, APP,
             (("PYINIT_STOP_DELAY", f"{STOP_DELAY:g}s"),), True, 0),
]  # fmt: skip


@pytest.mark.parametrize(
    "scenario", SCENARIOS, ids=["no-init-exec", "no-init-shell", "pyinit", "pyinit-delay"]
)
def test_stop_under_load(app_image: Image, scenario: Scenario) -> None:
    outcome = stop_under_load(app_image, scenario)
    cleanup = "yes" if outcome.cleaned_up else "no"
    ZERO_LOSS.add(
        scenario.title,
        outcome.load.sent,
        outcome.load.failed,
        outcome.errors,
        outcome.took,
        outcome.exit_code,
        cleanup,
    )
    check(outcome, scenario)
