"""Markers and the PID-namespace probe.

On CI (CI=true) a machine that cannot make a PID namespace fails the run instead of skipping the
PID-1 tests: those are the tests that prove pyinit as a real init.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from helpers import PYINIT, pidns_available

_PIDNS_REASON: list[str | None] = []


def _pidns_reason() -> str | None:
    if not _PIDNS_REASON:
        _PIDNS_REASON.append(pidns_available())
    return _PIDNS_REASON[0]


def pytest_report_header() -> list[str]:
    """Say which pyinit runs: CI points the process-level tests at the installed wheel."""
    import pyinit

    return [
        f"pyinit under test: {' '.join(PYINIT)}",
        f"pyinit imported by the tests: {Path(pyinit.__file__).parent}",
    ]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not any(item.get_closest_marker("pidns") for item in items):
        return
    reason = _pidns_reason()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        raise pytest.UsageError(f"PID-namespace tests cannot run on CI: {reason}")
    skip = pytest.mark.skip(reason=f"needs a PID namespace: {reason}")
    for item in items:
        if item.get_closest_marker("pidns"):
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No PYINIT_* from the developer's shell may change what a test sees."""
    for name in list(os.environ):
        if name.startswith("PYINIT_"):
            monkeypatch.delenv(name)
