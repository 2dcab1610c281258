"""Zero-loss stop under Docker: `docker stop` in the middle of HTTP load, pyinit beside --init.

How the load and the stop are made: load_scenarios.py (the podman suite measures the same way).
tini has no stop delay, so the delay row has no `--init` run.
"""

from __future__ import annotations

import container_fixtures
import pytest
from container_env import Image
from load_scenarios import APP, STOP_DELAY, STOP_TIMEOUT, Scenario, check, stop_under_load
from results import DOCKER_INITS, DOCKER_ZERO_LOSS

pytestmark = container_fixtures.DOCKER_MARKS
docker_image_fixture = container_fixtures.docker_image

PYINIT, DOCKER_INIT, _ = DOCKER_INITS
NO_DELAY = f"no stop delay, docker stop -t {STOP_TIMEOUT}"
WITH_DELAY = f"PYINIT_STOP_DELAY={STOP_DELAY:g}s, docker stop -t {STOP_TIMEOUT}"
SCENARIOS = {
    "init-no-delay": (DOCKER_INIT, Scenario(NO_DELAY, "python3", APP[1:], (), False, 0, init=True)),
    "pyinit-no-delay": (PYINIT, Scenario(NO_DELAY, None, APP, (), False, 0)),
    "pyinit-delay": (PYINIT, Scenario(WITH_DELAY, None, APP,
                                      (("PYINIT_STOP_DELAY", f"{STOP_DELAY:g}s"),), True, 0)),
}  # fmt: skip


@pytest.mark.parametrize("case", SCENARIOS.values(), ids=SCENARIOS.keys())
def test_docker_stop_under_load(docker_image: Image, case: tuple[str, Scenario]) -> None:
    init, scenario = case
    outcome = stop_under_load(docker_image, scenario)
    DOCKER_ZERO_LOSS.put(
        [scenario.title],
        init,
        f"{outcome.load.sent} sent, {outcome.load.failed} failed ({outcome.errors}); "
        f"stop {outcome.took:.2f} s, exit {outcome.exit_code}, "
        f"cleanup {'ran' if outcome.cleaned_up else 'did not run'}",
    )
    if scenario.zero_loss:
        DOCKER_ZERO_LOSS.put([scenario.title], DOCKER_INIT, "n/a: tini has no stop delay")
    check(outcome, scenario)
