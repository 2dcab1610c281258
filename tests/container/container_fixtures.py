"""The container suite's set-up: tools, base image and app image, once per session and runtime.

Set-up installs what it needs itself. On CI (CI=true) a machine that cannot run containers fails
the run; elsewhere the suite is skipped with the reason. The Docker part starts its own dockerd
for the session (dockerd.py) and stops it when the session ends.

Not a conftest.py: a second module of that name breaks `mypy` over tests/ (no __init__.py in test
dirs). Each test module binds the fixture with `app_image_fixture = container_fixtures.app_image`,
so pytest sees one fixture definition per module; `_prepared` makes the build happen once anyway.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import dockerd
import pytest
from container_env import (
    PROGRAMS,
    Image,
    Unavailable,
    build_app_image,
    build_derived_image,
    ensure_base_image,
    ensure_tools,
    on_ci,
)
from results import TABLES

# Every container test may be the one that pays for the session's set-up: on a cold machine apt,
# debootstrap and the image build take minutes, far over the default per-test timeout. Each step
# inside has its own, shorter, timeout.
SETUP_TIMEOUT = 900
MARKS = [pytest.mark.container, pytest.mark.timeout(SETUP_TIMEOUT)]
DOCKER_MARKS = [*MARKS, pytest.mark.docker]
# The nginx image's way of asking for a graceful stop; the app exits 0 on SIGQUIT.
STOPSIGNAL_QUIT = """\
COPY quit_app.py /app/quit_app.py
STOPSIGNAL SIGQUIT
CMD ["python3", "/app/quit_app.py"]
"""

_prepared: dict[str, Image] = {}
_unavailable: dict[str, str] = {}


class _Summary:
    """Prints the measured tables after the test results."""

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        for title, table in TABLES.items():
            if table.rows:
                terminalreporter.write_sep("-", title)
                terminalreporter.write_line(table.render())


def _prepare(config: pytest.Config, key: str, make_base: Callable[[], Image]) -> Image:
    if key in _prepared:
        return _prepared[key]
    if key in _unavailable:
        pytest.skip(_unavailable[key])
    try:
        base = make_base()
    except Unavailable as exc:
        if on_ci():
            pytest.fail(f"{key} containers cannot run on this CI machine: {exc}")
        _unavailable[key] = f"{key} containers cannot run here: {exc}"
        pytest.skip(_unavailable[key])
    if not config.pluginmanager.has_plugin("pyinit-container-summary"):
        config.pluginmanager.register(_Summary(), "pyinit-container-summary")
    _prepared[key] = build_app_image(base)
    return _prepared[key]


def _podman_base() -> Image:
    ensure_tools()
    return ensure_base_image()


def _docker_base(config: pytest.Config) -> Image:
    ensure_tools(dockerd.TOOLS)
    daemon = contextlib.ExitStack()
    runtime = daemon.enter_context(dockerd.private_dockerd())
    config.add_cleanup(daemon.close)  # at the end of the session, whichever module started it
    return ensure_base_image(runtime)


@pytest.fixture(scope="session", name="app_image")
def app_image(request: pytest.FixtureRequest) -> Image:
    """The image built from Dockerfile.example by podman."""
    return _prepare(request.config, "podman", _podman_base)


@pytest.fixture(scope="session", name="docker_image")
def docker_image(request: pytest.FixtureRequest) -> Image:
    """The image built from Dockerfile.example by Docker (BuildKit), on the suite's dockerd."""
    return _prepare(request.config, "docker", lambda: _docker_base(request.config))


@pytest.fixture(scope="session", name="docker_quit_image")
def docker_quit_image(docker_image: Image) -> Image:
    """Dockerfile.example's image plus `STOPSIGNAL SIGQUIT`, as the official nginx image has."""
    if "docker-quit" not in _prepared:
        _prepared["docker-quit"] = build_derived_image(
            docker_image,
            "localhost/pyinit-e2e-quit:latest",
            STOPSIGNAL_QUIT,
            [PROGRAMS / "quit_app.py"],
        )
    return _prepared["docker-quit"]
