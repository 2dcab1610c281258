"""--report's temporary file is pyinit's alone: a pid is 1 for every PID 1 on a shared volume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import run_pyinit

pytestmark = pytest.mark.integration

PIDNS = pytest.param(True, id="pid1", marks=pytest.mark.pidns)
WRAPPER = pytest.param(False, id="wrapper")


@pytest.mark.parametrize("pidns", [WRAPPER, PIDNS])
def test_report_never_uses_another_writers_temporary_file(tmp_path: Path, pidns: bool) -> None:
    """Another container's PID 1 writing the same report path on a shared volume has its
    temporary file at report.json.1.tmp: pyinit should neither write, rename nor remove it."""
    report = tmp_path / "report.json"
    theirs = tmp_path / "report.json.1.tmp"
    theirs.write_text("another writer's half-written report")
    result = run_pyinit(["--report", str(report), "--", "sh", "-c", "exit 3"], pidns=pidns)
    assert result.returncode == 3, result.stderr
    assert json.loads(report.read_text())["exit_code"] == 3
    assert theirs.read_text() == "another writer's half-written report"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["report.json", theirs.name]
