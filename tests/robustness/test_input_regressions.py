"""Inputs the fuzzers found, pinned down so they stay fixed whatever hypothesis draws next."""

from __future__ import annotations

from typing import NoReturn

import pytest
from fuzzlib import environment

from pyinit import cli
from pyinit.click_command import parse_with_click
from pyinit.config import Config

pytestmark = pytest.mark.robustness


def _never_fails(message: str) -> NoReturn:
    raise AssertionError(f"click rejected it: {message}")


@pytest.mark.parametrize(("spelling", "count"), [("+2", 2), ("-0", 0), ("1_0", 10), (" 3 ", 3)])
def test_pyinit_verbose_reads_the_same_on_the_fast_path_as_in_click(
    spelling: str, count: int
) -> None:
    env = {"PYINIT_VERBOSE": spelling}
    with environment(env):
        by_click = Config.build(*parse_with_click(["x"], _never_fails))
        by_fast = cli.build_config(["x"], env)
    assert by_click.verbose == by_fast.verbose == count


@pytest.mark.parametrize(
    "user", ["99999999999999999999", "4294967295", "0:4294967296", "root:99999999999999999999"]
)
def test_out_of_range_user_or_group_id_is_a_usage_error(
    user: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with environment({}), pytest.raises(SystemExit) as exited:
        cli.build_config(["--user", user, "true"], {})
    assert exited.value.code == 125
    assert capsys.readouterr().err.startswith("pyinit: invalid --user: ")


@pytest.mark.parametrize("option", ["--grace-period", "--timeout", "--stop-delay"])
def test_a_duration_that_overflows_with_its_unit_is_a_usage_error(
    option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """1e308 is finite, 1e308h is not: an infinite grace period wrote `Infinity` into the JSON
    report, which no JSON parser accepts."""
    with environment({}), pytest.raises(SystemExit) as exited:
        cli.build_config([option, "1e308h", "true"], {})
    assert exited.value.code == 125
    assert "finite" in capsys.readouterr().err
