"""pyinit leaves without the interpreter's teardown, and loses no output doing so.

The teardown costs PID 1 milliseconds between its last child's death and its own exit (stop
latency); skipping it must not drop anything still buffered in sys.stdout or sys.stderr.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from helpers import TIMEOUT, run_pyinit

pytestmark = pytest.mark.integration

# Runs pyinit's entry point the way the console script does, with an atexit hook standing in for
# the teardown: it must not run.
ENTRY_WITH_HOOK = """
import atexit, sys
marker = sys.argv[1]
atexit.register(lambda: open(marker, "w").write("teardown ran"))
sys.argv = ["pyinit", *sys.argv[2:]]
from pyinit.__main__ import main
main()
"""


def run_entry(marker: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", ENTRY_WITH_HOOK, str(marker), *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        stdin=subprocess.DEVNULL,
        check=False,
    )


@pytest.mark.parametrize(("command", "code"), [(["true"], 0), (["sh", "-c", "exit 7"], 7)])
def test_exit_skips_the_interpreter_teardown(tmp_path: Path, command: list[str], code: int) -> None:
    marker = tmp_path / "teardown"
    done = run_entry(marker, "--", *command)
    assert done.returncode == code
    assert not marker.exists()


def test_usage_error_exits_125_with_its_message(tmp_path: Path) -> None:
    marker = tmp_path / "teardown"
    done = run_entry(marker, "--grace-period", "soon", "--", "true")
    assert done.returncode == 125
    assert "pyinit: invalid --grace-period" in done.stderr
    assert not marker.exists()


def test_buffered_stdout_is_flushed_into_a_pipe() -> None:
    # click writes --version and --help through sys.stdout, which is block-buffered on a pipe.
    version = run_pyinit(["--version"])
    assert version.returncode == 0
    assert "0." in version.stdout
    usage = run_pyinit(["--help"])
    assert usage.returncode == 0
    assert "--grace-period" in usage.stdout
