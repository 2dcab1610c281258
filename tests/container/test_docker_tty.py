"""`docker run -it` / `-t` through a real pseudo-terminal (pexpect), pyinit beside --init.

pexpect gives Debian's docker client a pty of its own, as a terminal emulator would; the client
puts it in raw mode (with -i) and relays keys and window sizes to the container's own pty, where
the app runs. Every wait is an expect() with a bounded timeout.
"""

from __future__ import annotations

import re
import subprocess
import uuid
from collections.abc import Iterator, Sequence

import container_fixtures
import pexpect
import pytest
from container_env import RUNTIME_TIMEOUT, Image
from results import DOCKER, DOCKER_INITS

from ptyshell import PROMPT, SLEEPER, WARNINGS, finish, run_in_shell, stop_resume_and_exit

pytestmark = [*container_fixtures.DOCKER_MARKS, pytest.mark.tty]
docker_image_fixture = container_fixtures.docker_image

PYINIT, DOCKER_INIT, _ = DOCKER_INITS
INITS = [PYINIT, DOCKER_INIT]
TIMEOUT = 30.0
RESIZE_TRIES = 5
RESIZE_WAIT = 3.0
# SIGINT at its default action, as in SLEEPER. A ^C, or a SIGWINCH whose handler would run only
# at the interpreter's next check, can land just before pause()'s system call: the handler's
# wakeup-fd byte ends the read whenever the signal came.
WINDOW = (
    "import os, signal\n"
    "signal.signal(signal.SIGINT, signal.SIG_DFL)\n"
    "wake, woken = os.pipe()\n"
    "os.set_blocking(woken, False)\n"
    "signal.set_wakeup_fd(woken, warn_on_full_buffer=False)\n"
    "signal.signal(signal.SIGWINCH, lambda *_: print('size %d %d' % os.get_terminal_size(),"
    " flush=True))\n"
    "print('ready', flush=True)\n"
    "while True:\n"
    "    os.read(wake, 4096)\n"
)
TYPE_CHECKING = False
if TYPE_CHECKING:
    Pty = pexpect.spawn[str]


class Terminal:
    """`docker run` on a fresh pty; the container is removed at teardown."""

    def __init__(self, image: Image) -> None:
        self.image = image
        self.names: list[str] = []
        self.spawned: list[Pty] = []

    def run(self, init: str, command: Sequence[str], *flags: str) -> Pty:
        name = f"pyinit-e2e-{uuid.uuid4().hex[:12]}"
        argv = [*self.image.runtime.cli, "run", *flags, "--name", name, "--network", "none"]
        argv += ["--env", "TERM=dumb", "--env", f"PS1={PROMPT}"]
        if init == DOCKER_INIT:
            argv += ["--init", "--entrypoint", command[0], self.image.name, *command[1:]]
        else:
            argv += [self.image.name, *command]
        child = pexpect.spawn(
            argv[0],
            argv[1:],
            encoding="utf-8",
            codec_errors="replace",
            timeout=TIMEOUT,
            dimensions=(24, 80),
        )
        self.names.append(name)
        self.spawned.append(child)
        return child

    def close(self) -> None:
        for name in self.names:
            subprocess.run(
                [*self.image.runtime.cli, "rm", "--force", name],
                capture_output=True,
                timeout=RUNTIME_TIMEOUT,
                check=False,
            )
        for child in self.spawned:
            child.close(force=True)


@pytest.fixture
def terminal(docker_image: Image) -> Iterator[Terminal]:
    made = Terminal(docker_image)
    try:
        yield made
    finally:
        made.close()


@pytest.mark.parametrize("init", INITS)
def test_ctrl_c_ends_the_app_with_130(terminal: Terminal, init: str) -> None:
    child = terminal.run(init, ["python3", "-c", SLEEPER], "-it")
    child.expect(r"FG (\w+)")
    foreground = child.match.group(1) if isinstance(child.match, re.Match) else "?"
    child.sendintr()
    _, status = finish(child)
    DOCKER.put(
        ["`docker run -it`: Ctrl-C", "-"], init, f"app in foreground: {foreground}; exit {status}"
    )
    assert foreground == "True", "the app's group is not the terminal's foreground group"
    assert status == 130  # the app never exits 130 itself: the SIGINT killed it


@pytest.mark.parametrize("init", INITS)
def test_window_resize_reaches_the_app(terminal: Terminal, init: str) -> None:
    child = terminal.run(init, ["python3", "-c", WINDOW], "-it")
    child.expect_exact("ready")
    # The client relays a resize only once it watches SIGWINCH, which may be after the app is
    # ready; a resize before that is lost there, not in the container. So resize until one
    # arrives, each time to a new size (an unchanged size makes no SIGWINCH anywhere).
    for rows in range(30, 30 + RESIZE_TRIES):
        child.setwinsize(rows, 100)
        if child.expect([f"size 100 {rows}\r\n", pexpect.TIMEOUT], timeout=RESIZE_WAIT) == 0:
            break
    else:
        pytest.fail(f"no resize reached the app in {RESIZE_TRIES} tries: {child.before!r}")
    child.sendintr()
    _, status = finish(child)
    DOCKER.put(
        ["`docker run -it`: window resize", "-"],
        init,
        f"app got the new size 100x{rows}; exit {status}",
    )
    assert status == 130


@pytest.mark.parametrize("init", INITS)
def test_ctrl_z_and_fg_in_an_interactive_bash(terminal: Terminal, init: str) -> None:
    shell = terminal.run(init, ["bash", "--norc", "--noprofile", "-i"], "-it")
    shell.expect_exact(PROMPT)
    warned = [warning for warning in WARNINGS if warning in str(shell.before)]
    run_in_shell(shell, "set -b")
    rest, status = stop_resume_and_exit(shell, 7)
    warned += [warning for warning in WARNINGS if warning in rest]
    result = f"Ctrl-Z stops the job, fg resumes it; warnings: {warned or 'none'}; exit {status}"
    DOCKER.put(["`docker run -it bash`: Ctrl-Z, fg", "-"], init, result)
    assert not warned
    assert status == 7


@pytest.mark.parametrize("init", INITS)
def test_ctrl_c_with_a_tty_but_no_stdin(terminal: Terminal, init: str) -> None:
    """`docker run -t` without `-i`: the client is not in raw mode, so Ctrl-C is the client's
    SIGINT, which it passes on to PID 1 (`--sig-proxy`); the init must hand it to the app."""
    client = terminal.run(init, ["python3", "/app/app.py"], "-t")
    client.expect_exact("ready")
    client.sendintr()
    rest, status = finish(client)
    drained = "got SIGINT: draining" in rest
    cleaned = "cleanup done" in rest
    result = (
        f"app got SIGINT: {'yes' if drained else 'no'}, "
        f"cleanup {'ran' if cleaned else 'did not run'}; exit {status}"
    )
    DOCKER.put(["`docker run -t` (no `-i`): Ctrl-C", "-"], init, result)
    assert drained, rest
    assert cleaned, rest
    assert status == 0
