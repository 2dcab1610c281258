"""Once pyinit has reaped its main child, that pid (and process group id) belongs to nobody and
the kernel may hand it out again. These tests force the reuse with ns_last_pid."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from helpers import PROGRAMS, PYINIT, TIMEOUT, UNSHARE, program, run_pyinit, until_ready_sh

pytestmark = pytest.mark.pidns


def test_a_recycled_main_pid_does_not_replace_the_main_childs_exit_code(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    leftover = " ".join(program("recycled_pid.py", "$$", str(ready)))
    app = f"{leftover} & {until_ready_sh(ready)}; exit 0"
    result = run_pyinit(["-v", "--grace-period", "2s", "--", "sh", "-c", app], pidns=True)
    assert result.stdout.split() == ["recycled", "2"], "set-up: the main child's pid came back"
    assert result.returncode == 0, result.stderr


def test_a_recycled_group_id_of_a_stranger_is_never_signalled() -> None:
    result = subprocess.run(
        [*UNSHARE, sys.executable, str(PROGRAMS / "stranger_group.py"), *PYINIT],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        cwd=Path(__file__).parents[2],
    )
    lines = result.stdout.split("\n")
    _, stranger, _, main = lines[0].split()
    assert stranger == main, "set-up: the stranger got the main child's old pid"
    assert lines[1] == "stranger alive", result.stderr
