"""Markers and the PID-namespace probe.

On CI (CI=true) a machine that cannot make a PID namespace fails the run instead of skipping the
PID-1 tests: those are the tests that prove pyinit as a real init.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from helpers import PYINIT, pidns_available

_PIDNS_REASON: list[str | None] = []

# Python ignores these itself at start-up (and subprocess restores them for its children).
_INTERPRETER_IGNORES = {signal.SIGPIPE, signal.SIGXFSZ}


def _forget_inherited_ignores() -> None:
    """Started from `nohup` or as a script's background job (SIGHUP, or SIGINT and SIGQUIT,
    ignored), the suite would hand those ignores to every pyinit it starts, and pyinit rightly
    keeps them for the app: forwarding tests would then fail for the caller's reasons. The tests
    that are about inherited ignores set them up themselves."""
    for signum in signal.valid_signals() - _INTERPRETER_IGNORES - {signal.SIGKILL, signal.SIGSTOP}:
        try:
            if signal.getsignal(signum) == signal.SIG_IGN:
                # Python's own SIGINT handler: pytest still stops cleanly on Ctrl-C.
                handler = signal.default_int_handler if signum == signal.SIGINT else signal.SIG_DFL
                signal.signal(signum, handler)
        except (OSError, ValueError):  # a signal number without a disposition of its own
            continue


_forget_inherited_ignores()


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
