"""Part 1a, in process: random command lines and PYINIT_* variables through `cli.build_config`.

Every input either builds a Config, or ends in SystemExit(125) with exactly one `pyinit: ` line on
stderr (0 with help/version on stdout); any other exception is a bug. And whenever the fast
parser accepts an input, click must reach the very same Config (or reject it too).
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest
from fuzzlib import LONG, VALUES, command_lines, config_values, environment, environments
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyinit import cli, options
from pyinit.click_command import parse_with_click
from pyinit.config import Config
from pyinit.errors import ConfigError

pytestmark = pytest.mark.robustness

# ROBUSTNESS_FUZZ_EXAMPLES=20000 explores further by hand; CI keeps the suite quick.
EXAMPLES = int(os.environ.get("ROBUSTNESS_FUZZ_EXAMPLES", "600"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class Rejected(Exception):
    """click's usage error, raised instead of exiting."""


def _reject(message: str) -> NoReturn:
    raise Rejected(message)


def _outcome(build: object) -> object:
    """The Config's values, or "rejected": the two parsers must agree on this."""
    try:
        assert callable(build)
        config = build()
    except (ConfigError, Rejected):
        return "rejected"
    assert isinstance(config, Config)
    return config_values(config)


@FUZZ
@given(args=command_lines(), env=environments)
def test_bad_input_ends_in_one_line_and_125(
    args: list[str], env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, config = _build(args, env)
    out, err = capsys.readouterr()
    if code == 0:  # --help or --version somewhere in the noise
        assert out.startswith(("Usage:", "pyinit ")), out
        return
    if code is not None:
        assert code == 125
        assert out == ""
        assert err.startswith("pyinit: ")
        assert err.count("\n") == 1
        assert err.endswith("\n")
        return
    assert (out, err) == ("", "")
    assert config is not None
    assert config.command, "a Config always has a command"
    assert list(config.command) == args[len(args) - len(config.command) :]


def _build(args: list[str], env: dict[str, str]) -> tuple[int | str | None, Config | None]:
    """(exit code, None) when build_config exits, else (None, the Config)."""
    with environment(env):
        try:
            return None, cli.build_config(args, env)
        except SystemExit as exc:
            return exc.code, None


@FUZZ
@given(args=st.one_of(command_lines(junk=False), command_lines()), env=environments)
def test_fast_path_agrees_with_click(args: list[str], env: dict[str, str]) -> None:
    fast = options.parse_fast(args, env)
    if fast is None:
        return
    with environment(env):
        by_fast = _outcome(lambda: Config.build(*fast))
        by_click = _outcome(lambda: Config.build(*parse_with_click(args, _reject)))
    assert by_fast == by_click


@pytest.mark.parametrize("name", sorted(VALUES))
@settings(max_examples=max(EXAMPLES // 4, 50), deadline=None)
@given(data=st.data())
def test_each_option_parses_alike_from_argv_and_env_on_both_paths(
    name: str, data: st.DataObject
) -> None:
    """One option at a time, so every odd spelling of every value gets tried on both paths."""
    value = data.draw(VALUES[name])
    opt = LONG[name]
    if opt.kind in (options.FLAG, options.COUNT):
        args, env = ["x"], {opt.env: value}
    elif data.draw(st.booleans()):
        args, env = [opt.long, value, "x"], {}
    else:
        args, env = ["x"], {opt.env: value}
    fast = options.parse_fast(args, env)
    assert fast is not None
    with environment(env):
        by_fast = _outcome(lambda: Config.build(*fast))
        by_click = _outcome(lambda: Config.build(*parse_with_click(args, _reject)))
    assert by_fast == by_click


@settings(max_examples=200, deadline=None)
@given(
    command=st.lists(st.text(max_size=5).filter(lambda s: "\x00" not in s), min_size=1, max_size=3)
)
def test_command_after_double_dash_is_taken_verbatim(command: list[str]) -> None:
    """Whatever follows `--` is the command, even words that look like pyinit's own options."""
    code, config = _build(["-v", "--", *command], {})
    if command[0] == "":  # the only command refused: an empty program name
        assert (code, config) == (125, None)
    else:
        assert config is not None
        assert list(config.command) == command
