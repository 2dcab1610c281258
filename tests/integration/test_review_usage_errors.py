"""Usage errors keep the contract (125, one line, no traceback) in corner cases."""

from __future__ import annotations

import subprocess

import pytest

from helpers import PYINIT, TIMEOUT, run_pyinit

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("user", ["root:99999999999", "99999999999999999999", "0:4294967295"])
def test_an_out_of_range_id_is_a_usage_error(user: str) -> None:
    result = run_pyinit(["--user", user, "--", "true"])
    assert result.returncode == 125
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("pyinit: invalid --user: ")
    assert len(result.stderr.splitlines()) == 1


def test_a_usage_error_with_stderr_closed_still_exits_125() -> None:
    argv = ["sh", "-c", 'exec "$@" 2>&-', "sh", *PYINIT, "--grace-period", "soon", "--", "true"]
    result = subprocess.run(argv, capture_output=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    assert result.returncode == 125
