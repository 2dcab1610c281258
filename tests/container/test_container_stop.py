"""Dockerfile.example in a real runtime: how `podman stop` ends it, with and without pyinit.

Each test waits for the app's ready line before stopping (a handshake, never a sleep), measures
the stop, and records it in the table printed at the end of the run.
"""

from __future__ import annotations

from pathlib import Path

import container_fixtures
import pytest
from container_env import Container, Image, program
from results import STOPS

pytestmark = container_fixtures.MARKS
app_image_fixture = container_fixtures.app_image

STOP_TIMEOUT = 5  # podman stop -t
APP = ["python3", "/app/app.py"]
SHELL_FORM = ["sh", "-c", "python3 /app/app.py; echo done"]
IGNORES_TERM = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('ready', flush=True); time.sleep(60)"
)


def test_pyinit_stops_the_app_gracefully(app_image: Image) -> None:
    with Container(app_image) as box:
        box.expect("ready")
        took = box.stop(STOP_TIMEOUT)
        code = box.wait()
        lines = box.rest_of_output()
    STOPS.add("pyinit -- python3 app.py", STOP_TIMEOUT, took, code, "SIGTERM, drain, cleanup")
    assert "got SIGTERM: draining" in lines
    assert any(line.startswith("cleanup done") for line in lines), lines
    assert code == 0
    assert took < STOP_TIMEOUT - 2, "the runtime had to wait for its timeout"


def test_shell_form_without_init_is_killed_at_the_timeout(app_image: Image) -> None:
    """The trap: sh is PID 1, ignores SIGTERM and does not pass it on."""
    with Container(app_image, SHELL_FORM[1:], entrypoint="sh") as box:
        box.expect("ready")
        took = box.stop(STOP_TIMEOUT)
        code = box.wait()
        lines = box.rest_of_output()
    STOPS.add("sh -c 'app; echo done', no init", STOP_TIMEOUT, took, code, "the trap: SIGKILL")
    assert code == 137
    assert STOP_TIMEOUT <= took < STOP_TIMEOUT + 5
    assert not any(line.startswith("cleanup done") for line in lines), lines


def test_shell_form_under_pyinit_stops_gracefully(app_image: Image) -> None:
    with Container(app_image, SHELL_FORM) as box:
        box.expect("ready")
        took = box.stop(STOP_TIMEOUT)
        code = box.wait()
        lines = box.rest_of_output()
    STOPS.add("pyinit -- sh -c 'app; echo done'", STOP_TIMEOUT, took, code, "group gets SIGTERM")
    assert any(line.startswith("cleanup done") for line in lines), lines
    assert "done" not in lines  # sh itself was stopped by the SIGTERM, as it should be
    assert code == 128 + 15
    assert took < STOP_TIMEOUT - 2


def test_child_ignoring_sigterm_is_killed_at_the_grace_period(
    app_image: Image, tmp_path: Path
) -> None:
    grace, runtime_timeout = 2, 10
    termination_log = tmp_path / "termination-log"
    termination_log.touch()
    termination_log.chmod(0o666)  # the image runs as an unprivileged user
    with Container(
        app_image,
        ["python3", "-c", IGNORES_TERM],
        env={"PYINIT_GRACE_PERIOD": f"{grace}s"},
        volumes=[(termination_log, "/dev/termination-log")],
    ) as box:
        box.expect("ready")
        took = box.stop(runtime_timeout)
        code = box.wait()
        stderr = box.stderr()
    STOPS.add(
        "pyinit, child ignores SIGTERM, grace 2s", runtime_timeout, took, code, "SIGKILL by pyinit"
    )
    assert code == 128 + 9
    assert grace <= took < grace + 2, "pyinit must kill at its grace period, not the runtime"
    message = termination_log.read_text()
    assert f"killed after the {grace}s grace period" in message, message
    assert "SIGKILLed:" in message, message
    assert "grace period over" in stderr


@pytest.mark.parametrize(
    ("entrypoint", "expected"), [(None, 0), ("python3", 5)], ids=["pyinit", "no-init"]
)
def test_orphans_are_reaped_inside_the_container(
    app_image: Image, entrypoint: str | None, expected: int
) -> None:
    """Without an init the zombies stay: the control that shows the check can fail."""
    volume = program("zombies.py")
    command = ["/t/zombies.py"] if entrypoint else ["python3", "/t/zombies.py"]
    with Container(app_image, command, entrypoint=entrypoint, volumes=[volume]) as box:
        line = box.expect("zombies")
        code = box.wait()
    assert line == f"zombies {expected} of 5"
    assert code == 0


@pytest.mark.parametrize("status", [0, 1, 7])
def test_exit_code_passes_through(app_image: Image, status: int) -> None:
    with Container(app_image, ["sh", "-c", f"exit {status}"]) as box:
        code = box.wait()
    assert code == status
