"""pyinit names and parses signals from `_signal` as `signal.Signals` would, without its enum."""

from __future__ import annotations

import signal

import pytest

from pyinit.signals import ALL_VALID, parse_signal, signal_name

NAMED = [number for number in sorted(ALL_VALID) if not signal.SIGRTMIN < number < signal.SIGRTMAX]


@pytest.mark.parametrize("number", NAMED)
def test_a_number_is_named_as_signal_signals_names_it(number: int) -> None:
    """signal_name should give the enum's canonical name (SIGABRT, not SIGIOT)."""
    assert signal_name(number) == signal.Signals(number).name


@pytest.mark.parametrize("name", sorted(signal.Signals.__members__))
def test_every_name_signal_signals_knows_parses(name: str) -> None:
    """Aliases too (SIGIOT, SIGCLD, SIGPOLL), with or without the SIG prefix."""
    number = int(signal.Signals.__members__[name])
    assert parse_signal(name) == number
    assert parse_signal(name.removeprefix("SIG").lower()) == number


@pytest.mark.parametrize("text", ["SIG_DFL", "_DFL", "SIG_BLOCK", "NSIG", "SIGSTKSZ", "BOGUS"])
def test_non_signal_names_are_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="not a"):
        parse_signal(text)
