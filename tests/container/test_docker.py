"""Dockerfile.example under Docker: each case under pyinit and under `docker run --init`.

Both run the same image in the same session: pyinit through the image's own ENTRYPOINT, Docker's
init (tini, shipped as docker-init) with `--init --entrypoint <the app>`. Each test waits for the
app's ready line before it acts (a handshake, never a sleep) and puts what it measured into the
side-by-side table printed at the end of the run (README numbers).
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

import container_fixtures
import pytest
from container_env import Container, Image, program
from results import DOCKER, DOCKER_INITS

pytestmark = container_fixtures.DOCKER_MARKS
docker_image_fixture = container_fixtures.docker_image
docker_quit_image_fixture = container_fixtures.docker_quit_image

PYINIT, DOCKER_INIT, NO_INIT = DOCKER_INITS
INITS = [PYINIT, DOCKER_INIT]
DEFAULT_STOP_TIMEOUT = 10  # docker stop without -t
TRAP_TIMEOUT = 3  # docker stop -t for the shell-form trap, which always waits all of it
APP = ["python3", "/app/app.py"]
SHELL_FORM = "python3 /app/app.py; echo done"
BUSYBOX = (Path("/usr/bin/busybox"), "/usr/local/bin/busybox:ro")  # Alpine's /bin/sh
IGNORES_TERM = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('ready', flush=True); time.sleep(60)"
)


def start(
    image: Image,
    init: str,
    command: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    volumes: Sequence[tuple[Path, str]] = (),
    options: Sequence[str] = ("--network", "none"),
) -> Container:
    """`command` under pyinit (the image's ENTRYPOINT), `docker run --init`, or as PID 1 itself."""
    if init == PYINIT:
        return Container(image, command, env=env, volumes=volumes, options=options)
    entrypoint, *args = command
    return Container(
        image,
        args,
        entrypoint=entrypoint,
        init=init == DOCKER_INIT,
        env=env,
        volumes=volumes,
        options=options,
    )


def cleaned_up(lines: list[str]) -> bool:
    return any(line.startswith("cleanup done") for line in lines)


def stop_cell(took: float, code: int, lines: list[str]) -> str:
    return f"{took:.2f} s, exit {code}, {'cleanup ran' if cleaned_up(lines) else 'no cleanup'}"


@pytest.mark.parametrize("timeout", [None, 3], ids=["default-timeout", "t3"])
@pytest.mark.parametrize("init", INITS)
def test_docker_stop_ends_the_app_gracefully(
    docker_image: Image, init: str, timeout: int | None
) -> None:
    with start(docker_image, init, APP) as box:
        box.expect("ready")
        took = box.stop(timeout)
        code = box.wait()
        lines = box.rest_of_output()
    limit = timeout or DEFAULT_STOP_TIMEOUT
    DOCKER.put(["`python3 app.py`", limit], init, stop_cell(took, code, lines))
    assert "got SIGTERM: draining" in lines
    assert cleaned_up(lines), lines
    assert code == 0
    assert took < limit - 1, "docker had to wait for its timeout"


@pytest.mark.parametrize("shell", ["dash", "busybox-ash"])
@pytest.mark.parametrize("init", [*INITS, NO_INIT])
def test_shell_form_trap_and_its_fix(docker_image: Image, init: str, shell: str) -> None:
    """Only pyinit gets SIGTERM to the app behind `sh -c 'app; echo done'`."""
    command = ["sh", "-c", SHELL_FORM]
    volumes: list[tuple[Path, str]] = []
    if shell == "busybox-ash":
        command = ["busybox", *command]
        volumes = [BUSYBOX]
    with start(docker_image, init, command, volumes=volumes) as box:
        box.expect("ready")
        took = box.stop(TRAP_TIMEOUT)
        code = box.wait()
        lines = box.rest_of_output()
    case = f"`{'busybox ' if shell == 'busybox-ash' else ''}sh -c 'app; echo done'`"
    DOCKER.put([case, TRAP_TIMEOUT], init, stop_cell(took, code, lines))
    assert "done" not in lines, "the shell itself must stop, not carry on to `echo done`"
    if init == PYINIT:  # the whole group gets SIGTERM: the app drains, the shell dies of it
        assert cleaned_up(lines), lines
        assert code == 128 + 15
        assert took < TRAP_TIMEOUT - 1
    elif init == DOCKER_INIT:  # tini signals the shell only; the app dies with the container
        assert not cleaned_up(lines), lines
        assert code == 128 + 15
        assert took < TRAP_TIMEOUT - 1
    else:  # the shell is PID 1: SIGTERM dropped, SIGKILL at the timeout
        assert not cleaned_up(lines), lines
        assert code == 128 + 9
        assert TRAP_TIMEOUT <= took < TRAP_TIMEOUT + 3


@pytest.mark.parametrize("init", INITS)
def test_stopsignal_sigquit_image_stops_gracefully(docker_quit_image: Image, init: str) -> None:
    """`STOPSIGNAL SIGQUIT` (nginx): docker stop sends SIGQUIT, and it reaches the app."""
    with start(docker_quit_image, init, ["python3", "/app/quit_app.py"]) as box:
        box.expect("ready")
        assert box.inspect("{{.Config.StopSignal}}") == "SIGQUIT"
        took = box.stop(None)
        code = box.wait()
        lines = box.rest_of_output()
    DOCKER.put(
        ["`STOPSIGNAL SIGQUIT` image", DEFAULT_STOP_TIMEOUT], init, stop_cell(took, code, lines)
    )
    assert "got SIGQUIT: graceful stop" in lines
    assert cleaned_up(lines), lines
    assert code == 0
    assert took < DEFAULT_STOP_TIMEOUT - 1


@pytest.mark.parametrize("init", [*INITS, NO_INIT])
def test_orphans_are_reaped(docker_image: Image, init: str) -> None:
    """Without an init the zombies stay: the control that shows the check can fail."""
    command = ["python3", "/t/zombies.py"]
    with start(docker_image, init, command, volumes=[program("zombies.py")]) as box:
        line = box.expect("zombies")
        code = box.wait()
    DOCKER.put(["orphans left by the app (zombies.py)", "-"], init, line)
    assert line == f"zombies {5 if init == NO_INIT else 0} of 5"
    assert code == 0


@pytest.mark.parametrize(("grace", "timeout"), [(None, None), (3, 5)], ids=["defaults", "aligned"])
@pytest.mark.parametrize("init", INITS)
def test_who_kills_a_child_that_ignores_sigterm(
    docker_image: Image, tmp_path: Path, init: str, grace: int | None, timeout: int | None
) -> None:
    """Under defaults docker's SIGKILL ends it; with PYINIT_GRACE_PERIOD below -t, pyinit's."""
    termination_log = tmp_path / "termination-log"
    termination_log.touch()
    termination_log.chmod(0o666)  # the image runs as an unprivileged user
    env = {} if grace is None else {"PYINIT_GRACE_PERIOD": f"{grace}s"}
    with start(
        docker_image,
        init,
        ["python3", "-c", IGNORES_TERM],
        env=env,
        volumes=[(termination_log, "/dev/termination-log")],
    ) as box:
        box.expect("ready")
        took = box.stop(timeout)
        code = box.wait()
        state = box.inspect("ExitCode {{.State.ExitCode}}, OOMKilled {{.State.OOMKilled}}")
    message = termination_log.read_text()
    by_pyinit = init == PYINIT and grace is not None
    limit = timeout or DEFAULT_STOP_TIMEOUT
    case = "child ignores SIGTERM" + ("" if grace is None else f", PYINIT_GRACE_PERIOD={grace}s")
    log = repr(message.splitlines()[0]) if message else "empty"
    cell = f"{took:.2f} s, exit {code}, SIGKILL by {'pyinit' if by_pyinit else 'docker'}; "
    DOCKER.put([case, limit], init, cell + f"inspect: {state}; termination log: {log}")
    assert code == 128 + 9
    assert state == "ExitCode 137, OOMKilled false"
    if by_pyinit:
        assert grace is not None
        assert grace <= took < grace + 2, "pyinit must kill at its grace period, not docker"
        assert f"killed after the {grace}s grace period" in message, message
    else:
        assert limit <= took < limit + 3, "docker's SIGKILL at its timeout is the backstop"
        assert message == "", "nothing inside the container ran after docker's SIGKILL"


@pytest.mark.parametrize("init", INITS)
def test_sigquit_keeps_a_long_running_app_running(docker_image: Image, init: str) -> None:
    """`docker kill -s QUIT` asks a JVM for a thread dump; the container must stay up."""
    grace = 1.0  # under an init that took SIGQUIT as a stop, this would end the app quickly
    with start(
        docker_image,
        init,
        ["python3", "/t/thread_dump.py"],
        env={"PYINIT_GRACE_PERIOD": f"{grace:g}s"},
        volumes=[program("thread_dump.py")],
    ) as box:
        box.expect("ready")
        box.kill("QUIT")
        box.expect("thread dump 1")
        # A negative: watch for twice the grace period that nothing ends the container.
        try:
            box.proc.wait(2 * grace)
            survived = False
        except subprocess.TimeoutExpired:
            survived = True
        running = box.inspect("{{.State.Running}}")
        took = box.stop(5)
        code = box.wait()
        lines = box.rest_of_output()
    status = f"dump printed, still running {2 * grace:g} s later: {running}; then docker stop: "
    DOCKER.put(
        ["`docker kill -s QUIT` (thread dump)", "-"], init, status + stop_cell(took, code, lines)
    )
    assert survived, lines
    assert running == "true"
    assert code == 0
    assert cleaned_up(lines), lines


@pytest.mark.parametrize("user", [None, "4242:4243"], ids=["image-USER", "run-user"])
@pytest.mark.parametrize("init", INITS)
def test_runs_and_stops_as_an_unprivileged_user(
    docker_image: Image, init: str, user: str | None
) -> None:
    """Dockerfile.example's `USER 10001:10001`, and `docker run --user` over it."""
    uid, gid = (user or "10001:10001").split(":")
    options = ["--network", "none", *(["--user", user] if user else [])]
    show_ids = 'set -- $(grep ^Uid: /proc/1/status); echo "ids $(id -u):$(id -g), PID 1 uid $2"'
    command = ["sh", "-c", f"{show_ids}; exec python3 /app/app.py"]
    with start(docker_image, init, command, options=options) as box:
        ids = box.expect("ids")
        box.expect("ready")
        took = box.stop(None)
        code = box.wait()
        lines = box.rest_of_output()
    case = "`USER 10001:10001` in the image" if user is None else f"`docker run --user {user}`"
    DOCKER.put([case, DEFAULT_STOP_TIMEOUT], init, f"{ids}; " + stop_cell(took, code, lines))
    assert ids == f"ids {uid}:{gid}, PID 1 uid {uid}"
    assert code == 0
    assert cleaned_up(lines), lines
    assert took < DEFAULT_STOP_TIMEOUT - 1
