"""Parsing of every value a user can type: durations, signals, rewrite/remap pairs, users."""

from __future__ import annotations

import os
import pwd
import signal
from pathlib import Path

import pytest

from pyinit.config import DROP, Config, parse_duration, parse_remap, parse_rewrite, parse_user
from pyinit.errors import ConfigError
from pyinit.signals import FORWARDED, HANDLED, KERNEL_FAULT, parse_signal, signal_name


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("500ms", 0.5),
        ("2", 2.0),
        ("2s", 2.0),
        ("1.5m", 90.0),
        ("1h", 3600.0),
        (" 0 ", 0.0),
        ("25S", 25.0),
    ],
)
def test_parses_durations(text: str, seconds: float) -> None:
    """pyinit should read durations with ms/s/m/h units, a bare number being seconds."""
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "abc", "-1s", "1d", "nan", "inf", "1.5.2s", "s", "ms"])
def test_rejects_bad_durations(text: str) -> None:
    """pyinit should refuse durations it cannot read, negative or non-finite ones."""
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("TERM", 15),
        ("SIGTERM", 15),
        ("term", 15),
        ("15", 15),
        ("sigusr1", 10),
        ("RTMIN", signal.SIGRTMIN),
        ("RTMIN+3", signal.SIGRTMIN + 3),
        ("SIGRTMAX-1", signal.SIGRTMAX - 1),
    ],
)
def test_parses_signal_names_and_numbers(text: str, number: int) -> None:
    """pyinit should accept TERM, SIGTERM, term, numbers and real-time offsets."""
    assert parse_signal(text) == number


@pytest.mark.parametrize("text", ["", "0", "65", "32", "FOO", "SIG", "SIG_DFL", "RTMIN+99", "-1"])
def test_rejects_bad_signals(text: str) -> None:
    """pyinit should refuse numbers out of range and names that are not signals."""
    with pytest.raises(ValueError, match="signal"):
        parse_signal(text)


def test_signal_names_round_trip() -> None:
    """Every handled signal's printed name should parse back to the same number."""
    for number in HANDLED:
        assert parse_signal(signal_name(number)) == number


def test_forwards_every_catchable_signal_but_chld_and_faults() -> None:
    """The forwarded set is 1-31 and the real-time range, minus KILL, STOP, CHLD and faults."""
    assert signal.SIGCHLD not in FORWARDED
    assert not KERNEL_FAULT & FORWARDED
    assert {
        signal.SIGTERM,
        signal.SIGINT,
        signal.SIGQUIT,
        signal.SIGHUP,
        signal.SIGWINCH,
        signal.SIGUSR1,
        signal.SIGABRT,
        signal.SIGPIPE,
        signal.SIGRTMIN,
        signal.SIGRTMAX,
    } <= FORWARDED
    assert len(FORWARDED) == 31 - 2 - 1 - len(KERNEL_FAULT) + (
        signal.SIGRTMAX - signal.SIGRTMIN + 1
    )


def test_parses_rewrites_including_drop() -> None:
    """--rewrite takes FROM:TO with names or numbers and DROP as a target."""
    assert parse_rewrite("TERM:QUIT") == (signal.SIGTERM, signal.SIGQUIT)
    assert parse_rewrite("28:drop") == (signal.SIGWINCH, DROP)
    assert parse_rewrite("28:0") == (signal.SIGWINCH, DROP), "dumb-init's -r 28:0"


@pytest.mark.parametrize("text", ["TERM", "TERM:", ":QUIT", "CHLD:TERM", "KILL:TERM", "TERM:FOO"])
def test_rejects_bad_rewrites(text: str) -> None:
    """A rewrite of a signal pyinit never forwards, or a malformed pair, is refused."""
    with pytest.raises(ValueError, match=r"form|signal|forwarded"):
        parse_rewrite(text)


@pytest.mark.parametrize("text", ["143", "143:", "a:0", "256:0", "1:-1"])
def test_rejects_bad_remaps(text: str) -> None:
    """--remap-exit takes two codes from 0 to 255."""
    with pytest.raises(ValueError, match=r"form|0 to 255"):
        parse_remap(text)


def test_resolves_a_user_with_initgroups_semantics() -> None:
    """--user nobody resolves to nobody's uid, primary gid and group list."""
    entry = pwd.getpwnam("nobody")
    user = parse_user("nobody")
    assert (user.uid, user.gid, user.home) == (entry.pw_uid, entry.pw_gid, entry.pw_dir)
    assert set(user.groups) == set(os.getgrouplist("nobody", entry.pw_gid))


def test_numeric_user_without_entry_gets_own_number_as_group() -> None:
    """An unknown numeric uid must not silently run with root's group 0."""
    user = parse_user("54321")
    assert (user.uid, user.gid, user.groups) == (54321, 54321, (54321,))


@pytest.mark.parametrize("text", ["no-such-user-xyz", "nobody:no-such-group-xyz", ":0", ""])
def test_rejects_unknown_users_and_groups(text: str) -> None:
    """An unknown user or group is a usage error, found before anything runs."""
    with pytest.raises(ValueError, match=r"unknown|user"):
        parse_user(text)


def test_default_grace_depends_on_the_stop_cause() -> None:
    """No setting: a stop signal never escalates (as tini); --timeout and leftovers get 10 s."""
    config = Config.build(("app",), {})
    assert config.grace_periods == {"signal": None, "timeout": 10.0, "main_exited": 10.0}


def test_explicit_grace_applies_to_every_cause() -> None:
    """--grace-period 25s bounds a signal stop, a time limit and leftovers alike."""
    config = Config.build(("app",), {"grace_period": "25s"})
    assert config.grace_periods == {"signal": 25.0, "timeout": 25.0, "main_exited": 25.0}


def test_grace_zero_means_never_escalate() -> None:
    """--grace-period 0 means no SIGKILL from pyinit, as --timeout 0 means no limit."""
    config = Config.build(("app",), {"grace_period": "0"})
    assert config.grace_periods == {"signal": None, "timeout": None, "main_exited": None}


def test_stop_delay_needs_no_finite_grace() -> None:
    """With no deadline (the default for signals, or 0) any stop delay is valid."""
    assert Config.build(("app",), {"stop_delay": "60s"}).stop_delay == pytest.approx(60.0)
    config = Config.build(("app",), {"stop_delay": "60s", "grace_period": "0"})
    assert config.stop_delay == pytest.approx(60.0)


def test_stop_signals_default_to_term_and_int() -> None:
    """SIGQUIT is not a stop signal by default: a JVM takes it as a thread-dump request."""
    assert Config.build(("app",), {}).stop_signals == {signal.SIGTERM, signal.SIGINT}


def test_parses_stop_signals() -> None:
    """--stop-signals takes a comma-separated list of names or numbers."""
    config = Config.build(("app",), {"stop_signals": "TERM, sigint,3,RTMIN+1"})
    assert config.stop_signals == {
        signal.SIGTERM,
        signal.SIGINT,
        signal.SIGQUIT,
        signal.SIGRTMIN + 1,
    }


@pytest.mark.parametrize("text", ["", "TERM,", "CHLD", "KILL", "SEGV", "FOO", "TERM;INT"])
def test_rejects_bad_stop_signals(text: str) -> None:
    """Only signals pyinit forwards can start the stop; an empty item is a typo."""
    with pytest.raises(ConfigError, match="--stop-signals"):
        Config.build(("app",), {"stop_signals": text})


def test_parent_death_signal_is_parsed() -> None:
    """--parent-death-signal (tini's -p) takes any signal."""
    assert Config.build(("app",), {"parent_death_signal": "SIGTERM"}).parent_death_signal == 15
    assert Config.build(("app",), {}).parent_death_signal is None


def test_relative_output_paths_are_resolved_against_the_start_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pyinit leaves its start directory, so --report and --termination-log become absolute."""
    monkeypatch.chdir(tmp_path)
    config = Config.build(("app",), {"report": "out/r.json", "termination_log": "msg"})
    assert config.report == str(tmp_path / "out" / "r.json")
    assert config.termination_log == str(tmp_path / "msg")


def test_stop_delay_must_be_shorter_than_grace() -> None:
    """A delay that eats the whole grace period leaves no time to stop: refuse it."""
    with pytest.raises(ConfigError, match="--stop-delay"):
        Config.build(("app",), {"grace_period": "5s", "stop_delay": "5s"})
    config = Config.build(("app",), {"grace_period": "5s", "stop_delay": "4.9s"})
    assert config.stop_delay == pytest.approx(4.9)


def test_config_is_immutable() -> None:
    """Nothing may change the settings once pyinit runs."""
    config = Config.build(("app",), {})
    with pytest.raises(AttributeError):
        config.stop_delay = 1.0


def test_timeout_zero_means_no_limit() -> None:
    """PYINIT_TIMEOUT=0 switches the limit off, as `timeout 0` does."""
    assert Config.build(("app",), {"timeout": "0"}).timeout is None
    assert Config.build(("app",), {"timeout": "2m"}).timeout == pytest.approx(120.0)


def test_empty_termination_log_disables_it() -> None:
    """--termination-log '' switches the message off."""
    assert Config.build(("app",), {"termination_log": ""}).termination_log is None
