"""The container suite's set-up: tools, base image and app image, once per session.

Set-up installs what it needs itself. On CI (CI=true) a machine that cannot run containers fails
the run; elsewhere the suite is skipped with the reason.

Not a conftest.py: a second module of that name breaks `mypy` over tests/ (no __init__.py in test
dirs). Each test module binds the fixture with `app_image_fixture = container_fixtures.app_image`,
so pytest sees one fixture definition per module; `_prepared` makes the build happen once anyway.
"""

from __future__ import annotations

import pytest
from container_env import Unavailable, build_app_image, ensure_base_image, ensure_tools, on_ci
from results import TABLES

# Every container test may be the one that pays for the session's set-up: on a cold machine apt,
# debootstrap and the image build take minutes, far over the default per-test timeout. Each step
# inside has its own, shorter, timeout.
SETUP_TIMEOUT = 900
MARKS = [pytest.mark.container, pytest.mark.timeout(SETUP_TIMEOUT)]

_prepared: dict[str, str] = {}


class _Summary:
    """Prints the measured tables after the test results."""

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        for title, table in TABLES.items():
            if table.rows:
                terminalreporter.write_sep("-", title)
                terminalreporter.write_line(table.render())


def _prepare(config: pytest.Config) -> str:
    if "image" in _prepared:
        return _prepared["image"]
    if "unavailable" in _prepared:
        pytest.skip(_prepared["unavailable"])
    try:
        ensure_tools()
        base = ensure_base_image()
    except Unavailable as exc:
        if on_ci():
            pytest.fail(f"containers cannot run on this CI machine: {exc}")
        _prepared["unavailable"] = f"containers cannot run here: {exc}"
        pytest.skip(_prepared["unavailable"])
    config.pluginmanager.register(_Summary(), "pyinit-container-summary")
    _prepared["image"] = build_app_image(base)
    return _prepared["image"]


@pytest.fixture(scope="session", name="app_image")
def app_image(request: pytest.FixtureRequest) -> str:
    """The image built from Dockerfile.example."""
    return _prepare(request.config)
