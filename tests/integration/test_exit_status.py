"""Exit codes pass through exactly; exec failures are 126/127 with one clear line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import PYINIT, run_pyinit

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("code", [0, 1, 2, 7, 126, 127, 255], ids=str)
def test_exits_with_the_child_code(code: int) -> None:
    """pyinit should exit with exactly the main child's exit code."""
    assert run_pyinit(["--", "sh", "-c", f"exit {code}"]).returncode == code


@pytest.mark.parametrize(
    "signum", [signal.SIGTERM, signal.SIGKILL, signal.SIGSEGV, signal.SIGUSR1], ids=lambda s: s.name
)
def test_exits_128_plus_signal_when_child_is_killed(signum: signal.Signals) -> None:
    """A main child killed by signal N makes pyinit exit 128 + N."""
    result = run_pyinit(["--", "sh", "-c", f"kill -{signum.name[3:]} $$"])
    assert result.returncode == 128 + signum


def test_command_not_found_is_127_with_one_line() -> None:
    """A missing command: exit 127 and one line naming it."""
    result = run_pyinit(["--", "no-such-command-xyz", "arg"])
    assert result.returncode == 127
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("pyinit: ")
    assert "no-such-command-xyz" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_path_is_127(tmp_path: Path) -> None:
    """A path that does not exist is also 'not found'."""
    assert run_pyinit(["--", str(tmp_path / "nope")]).returncode == 127


@pytest.mark.parametrize("kind", ["not-executable", "directory"])
def test_command_that_cannot_run_is_126(tmp_path: Path, kind: str) -> None:
    """EACCES (no x bit, a directory) gives 126. (A file without a valid format runs through
    /bin/sh, as execvp does: see test_exec_path.)"""
    target = tmp_path / "thing"
    if kind == "directory":
        target.mkdir()
    else:
        target.write_bytes(b"#!/bin/sh\n")
    result = run_pyinit(["--", str(target)])
    assert result.returncode == 126, result.stderr
    assert result.stderr.startswith("pyinit: ")
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize("separator", [["--"], []], ids=["with-dashes", "without-dashes"])
def test_passes_argv_through_untouched(separator: list[str]) -> None:
    """Options after the command belong to it, byte for byte, with or without --."""
    args = ["--flag", "-v", "--grace-period", "a b", "", "ünï", "--"]
    code = "import sys; print(repr(sys.argv[1:]))"
    result = run_pyinit([*separator, sys.executable, "-c", code, *args])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == repr(args)


def test_passes_environment_and_cwd_through(tmp_path: Path) -> None:
    """The child sees pyinit's environment and working directory, unchanged."""
    env = {**os.environ, "PYINIT_TEST_VALUE": "x=1 y", "PATH": os.environ["PATH"]}
    code = "import os, json; print(json.dumps([os.getcwd(), dict(os.environ)]))"
    result = run_pyinit(["--", sys.executable, "-c", code], cwd=tmp_path, env=env)
    import json

    cwd, child_env = json.loads(result.stdout)
    assert cwd == str(tmp_path)
    assert child_env["PYINIT_TEST_VALUE"] == "x=1 y"
    assert set(env) <= set(child_env)


def test_passes_stdio_and_inherited_fds_but_leaks_none_of_its_own(tmp_path: Path) -> None:
    """fd 0-2 and an fd the caller passed reach the child; no descriptor of pyinit's does."""
    extra = os.open(tmp_path / "extra", os.O_CREAT | os.O_WRONLY, 0o600)
    try:
        code = (
            "import os, json\nd = '/proc/self/fd'\nout = {}\n"
            "for fd in os.listdir(d):\n"
            "    try: out[fd] = os.readlink(f'{d}/{fd}')\n"
            "    except OSError: pass\n"
            "print(json.dumps(out))"
        )
        result = run_pyinit(["-vv", "--", sys.executable, "-c", code], pass_fds=(extra,))
    finally:
        os.close(extra)
    import json

    targets = {int(fd): target for fd, target in json.loads(result.stdout).items()}
    # One entry is the child's own open /proc/self/fd listing; it vanishes as it is read.
    own_listing = [fd for fd, target in targets.items() if target.startswith("/proc/")]
    assert len(own_listing) <= 1
    assert set(targets) - set(own_listing) == {0, 1, 2, extra}
    assert targets[extra] == str(tmp_path / "extra")


@pytest.mark.parametrize("args", [["--version"], ["-h"]], ids=["version", "help"])
def test_output_to_a_full_device_is_one_line_and_125(args: list[str]) -> None:
    """Even --version into /dev/full ends with one line and 125, never a traceback."""
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [*PYINIT, *args], stdout=full, stderr=subprocess.PIPE, text=True, timeout=10
        )
    assert result.returncode == 125
    assert result.stderr.startswith("pyinit: ")
    assert result.stderr.count("\n") == 1
