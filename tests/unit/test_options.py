"""The command line: both parse paths, env variables, and one-line errors with exit 125."""

from __future__ import annotations

import signal

import pytest

from pyinit import options
from pyinit.cli import build_config
from pyinit.click_command import parse_with_click
from pyinit.config import Config


def _fail(message: str) -> None:
    raise AssertionError(message)


def click_config(
    args: list[str], environ: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Config:
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    return Config.build(*parse_with_click(args, _fail))  # type: ignore[arg-type]


def values(config: Config) -> dict[str, object]:
    return {name: getattr(config, name) for name in Config.__slots__ if name != "user"}


@pytest.mark.parametrize(
    "args",
    [
        ["--", "sh", "-c", "x"],
        ["sh", "-c", "x"],
        ["app", "--flag", "--grace-period", "1"],
        ["--grace-period", "3s", "-vv", "--", "app"],
        ["--grace-period=3s", "-q", "--single-child", "app"],
        ["--rewrite", "TERM:QUIT", "--rewrite=WINCH:DROP", "--remap-exit", "143:0", "--", "app"],
        ["--stop-delay", "1s", "--stop-command", "nginx -s quit", "--timeout", "1m", "app"],
        ["--log-format", "json", "--keep-orphans", "--report", "r.json", "app", "-v"],
        ["--stop-signals", "TERM,INT,QUIT", "--parent-death-signal", "TERM", "app"],
        ["-p", "SIGTERM", "-v", "app"],
        ["-vpTERM", "--", "app"],
        ["-g", "app"],
        ["-vgq", "--signal-group", "--", "app"],
    ],
)
def test_fast_path_and_click_agree(args: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast path is only an optimisation: it must read argv exactly as click does."""
    fast = options.parse_fast(args, {})
    assert fast is not None, "these shapes should not need click"
    assert values(Config.build(*fast)) == values(click_config(args, {}, monkeypatch))


def test_command_options_pass_through_untouched() -> None:
    """Options after the command belong to the command, with or without --."""
    for args in (["--", "app", "--grace-period", "x"], ["app", "--grace-period", "x"]):
        parsed = options.parse_fast(args, {})
        assert parsed is not None
        assert parsed[0] == ("app", "--grace-period", "x")


def test_environment_sets_options_and_command_line_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    """PYINIT_* configure an injected pyinit; an explicit option overrides the variable."""
    env = {
        "PYINIT_GRACE_PERIOD": "25s",
        "PYINIT_REWRITE": "TERM:QUIT,WINCH:DROP",
        "PYINIT_SINGLE_CHILD": "true",
        "PYINIT_VERBOSE": "2",
    }
    config = build_config(["app"], env)
    assert config.grace_periods == {"signal": 25.0, "timeout": 25.0, "main_exited": 25.0}
    assert config.rewrite == {signal.SIGTERM: signal.SIGQUIT, signal.SIGWINCH: 0}
    assert config.single_child
    assert config.verbose == 2
    assert build_config(["--grace-period", "3", "app"], env).grace_periods["signal"] == 3.0
    assert values(click_config(["app"], env, monkeypatch)) == values(config)


@pytest.mark.parametrize(
    "args",
    [
        ["-h"],
        ["--help"],
        ["--version"],
        ["--bogus", "app"],
        ["--grace-period"],
        ["-x", "app"],
        ["--single-child=1", "app"],
        [],
    ],
)
def test_fast_path_defers_what_it_does_not_fully_understand(args: list[str]) -> None:
    """Help, version, unknown options and malformed input go to click."""
    assert options.parse_fast(args, {}) is None


@pytest.mark.parametrize(
    ("args", "env", "needle"),
    [
        (["--bogus", "app"], {}, "--bogus"),
        (["--grace-period", "soon", "app"], {}, "soon"),
        (["app"], {"PYINIT_GRACE_PERIOD": "-3"}, "-3"),
        (["app"], {"PYINIT_SINGLE_CHILD": "maybe"}, "maybe"),
        (["--user", "no-such-user-xyz", "app"], {}, "no-such-user-xyz"),
        (["--rewrite", "FOO:TERM", "app"], {}, "FOO"),
        (["--stop-delay", "5", "--grace-period", "5", "app"], {}, "--stop-delay"),
        (["--stop-signals", "TERM,CHLD", "app"], {}, "SIGCHLD"),
        (["--stop-signals", "TERM,KILL", "app"], {}, "SIGKILL"),
        (["app"], {"PYINIT_STOP_SIGNALS": "TERM,,INT"}, "TERM,,INT"),
        (["--stop-signals", "SEGV", "app"], {}, "SIGSEGV"),
        (["-g", "--single-child", "app"], {}, "--signal-group"),
        (["app"], {"PYINIT_SIGNAL_GROUP": "1", "PYINIT_SINGLE_CHILD": "1"}, "--single-child"),
        (["app"], {"PYINIT_SIGNAL_GROUP": "sometimes"}, "sometimes"),
        (["-p", "NOPE", "app"], {}, "NOPE"),
        (["--parent-death-signal", "99", "app"], {}, "99"),
        ([], {}, "COMMAND"),
        (["--"], {}, "COMMAND"),
    ],
)
def test_bad_input_is_one_line_and_exit_125(
    args: list[str],
    env: dict[str, str],
    needle: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every bad value: one line 'pyinit: ...' naming it, exit 125, no traceback."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    import os

    with pytest.raises(SystemExit) as exit_info:
        build_config(args, os.environ)
    assert exit_info.value.code == 125
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith("pyinit: "), err
    assert needle in err, err


@pytest.mark.parametrize(
    ("args", "env", "single_child", "signal_group"),
    [
        (["app"], {}, False, False),
        (["-g", "app"], {}, False, True),
        (["--signal-group", "app"], {}, False, True),
        (["app"], {"PYINIT_SIGNAL_GROUP": "yes"}, False, True),
        (["--single-child", "app"], {"PYINIT_SIGNAL_GROUP": "0"}, True, False),
    ],
    ids=["default-decides-per-signal", "-g", "--signal-group", "env", "env-off"],
)
def test_forwarding_target_options(
    args: list[str], env: dict[str, str], single_child: bool, signal_group: bool
) -> None:
    """-g/--signal-group/PYINIT_SIGNAL_GROUP always signal the group (tini -g); neither it nor
    --single-child leaves the choice to pyinit, per signal."""
    config = build_config(args, env)
    assert (config.single_child, config.signal_group) == (single_child, signal_group)


@pytest.mark.parametrize(
    ("args", "env", "single_child", "signal_group"),
    [
        (["-g", "app"], {"PYINIT_SINGLE_CHILD": "1"}, False, True),
        (["--single-child", "app"], {"PYINIT_SIGNAL_GROUP": "1"}, True, False),
    ],
    ids=["-g-over-env-single-child", "single-child-over-env-signal-group"],
)
def test_command_line_overrides_the_exclusive_options_variable(
    args: list[str],
    env: dict[str, str],
    single_child: bool,
    signal_group: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An image's PYINIT_SINGLE_CHILD=1 and `-g` on the command line: the command line wins, on
    the fast path and through click alike, instead of a usage error."""
    for config in (build_config(args, env), click_config(args, env, monkeypatch)):
        assert (config.single_child, config.signal_group) == (single_child, signal_group)


def test_help_lists_every_option_and_its_variable(capsys: pytest.CaptureFixture[str]) -> None:
    """-h documents each option with its PYINIT_* name and shows examples."""
    with pytest.raises(SystemExit) as exit_info:
        parse_with_click(["-h"], _fail)  # type: ignore[arg-type]
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for opt in options.OPTIONS:
        assert opt.long in out
        assert opt.env in out
    assert "Examples:" in out
    assert "124" in out
