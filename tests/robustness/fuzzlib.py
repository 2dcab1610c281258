"""Hypothesis strategies for pyinit's command line and PYINIT_* variables, shared by the in-process
and the out-of-process fuzz tests."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

from hypothesis import strategies as st

from pyinit import options
from pyinit.config import Config

SIGNAL_NAMES = [s.name for s in signal.Signals] + ["RTMIN", "RTMAX", "RTMIN+3", "SIGRTMAX-2"]
UNITS = ["", "ms", "s", "m", "h", "MS", " s", "sec", "d"]

# Text as a process could really receive it: no NUL; surrogates stand for non-UTF-8 bytes
# (os.fsdecode's surrogateescape), so every string here is os.fsencode-able.
_chars = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")
_escaped = st.sampled_from([chr(0xDC00 + b) for b in range(0x80, 0x100)])
any_text = st.text(st.one_of(_chars, _escaped), max_size=30)
huge_text = st.sampled_from(["9" * 5000, "x" * 70_000, "1" * 400 + "s", "\udcff" * 3000])

ODD_NUMBERS = [
    "1e308",
    "1e309",
    "nan",
    "inf",
    "-0",
    "0x10",
    "1_0",
    "+2",
    "²",
    "\u0661",  # ARABIC-INDIC DIGIT ONE: int() takes it
    " 3 ",
    "2 ",
    "4294967295",
    "4294967296",
    "99999999999999999999",
    "-1",
    "007",
    "1.5",
]
numbers = st.one_of(
    st.integers(-5, 300).map(str),
    st.integers().map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    *[st.sampled_from(ODD_NUMBERS)] * 3,  # the spellings where parsers tend to differ
)
durations = st.one_of(st.builds(lambda n, u: n + u, numbers, st.sampled_from(UNITS)), any_text)
signal_specs = st.one_of(
    st.sampled_from(SIGNAL_NAMES),
    st.sampled_from(SIGNAL_NAMES).map(lambda s: s.lower().removeprefix("sig")),
    numbers,
    st.builds(lambda b, n: f"{b}{n}", st.sampled_from(["RTMIN+", "RTMAX-", "SIGRTMIN+"]), numbers),
    any_text,
)
pairs = st.builds(
    lambda a, sep, b: f"{a}{sep}{b}",
    st.one_of(signal_specs, numbers),
    st.sampled_from([":", "::", ",", ""]),
    st.one_of(signal_specs, numbers, st.just("DROP"), st.just("drop")),
)
users = st.one_of(
    st.sampled_from(["root", "nobody", "0", "65534", "nobody:nogroup", "0:0", ":", "nosuchuser"]),
    st.builds(lambda u, g: f"{u}:{g}", numbers, numbers),
    numbers,
    any_text,
)
booleans = st.sampled_from(
    ["1", "0", "true", "false", "yes", "no", "on", "off", "", " 1", "Y", "2"]
)

VALUES = {
    "grace_period": durations,
    "stop_delay": durations,
    "timeout": durations,
    "stop_command": st.one_of(any_text, st.just("nginx -s 'quit"), st.just("  ")),
    "rewrite": pairs,
    "remap_exit": pairs,
    "report": any_text,
    "termination_log": any_text,
    "log_format": st.sampled_from(["text", "json", "JSON", " json", "xml", ""]),
    "user": users,
    "pdeathsig": signal_specs,
    "parent_death_signal": signal_specs,
    "stop_signals": st.one_of(
        signal_specs, st.lists(signal_specs, max_size=3).map(",".join), st.just("TERM,,INT")
    ),
    "verbose": st.one_of(numbers, booleans),
    "quiet": booleans,
    "single_child": booleans,
    "signal_group": booleans,
    "keep_orphans": booleans,
}
value_for = st.sampled_from(sorted(VALUES)).flatmap(lambda n: st.tuples(st.just(n), VALUES[n]))
LONG = {opt.name: opt for opt in options.OPTIONS}
OPTION_LIKE = ["--", "-", "-v", "-vq", "--grace-period", "--report=x", "--help", "-h", "--version"]


@st.composite
def option_words(draw: st.DrawFn, junk: bool = True) -> list[str]:
    """One option as it could appear on a command line: real, misspelt, or garbage. Without
    `junk`, only shapes the fast parser understands (so it does not just hand over to click)."""
    name, value = draw(value_for)
    if draw(st.integers(0, 9)) == 0:  # a value that looks like the next option or the end
        value = draw(st.sampled_from(OPTION_LIKE))
    opt = LONG[name]
    if opt.kind in (options.FLAG, options.COUNT) and not junk:
        return [draw(st.sampled_from([opt.long, opt.short or opt.long, "-vq", "-vv", "-qv"]))]
    shapes = ["separate", "equals", "bare", "short", "junk", "huge"] if junk else ["separate"] * 3
    shape = draw(st.sampled_from([*shapes, "equals"]))
    if shape == "separate":
        return [opt.long, value]
    if shape == "equals":
        return [f"{opt.long}={value}"]
    if shape == "bare":
        return [opt.long]
    if shape == "short":
        return ["-" + draw(st.text(st.sampled_from("vqgx-="), min_size=1, max_size=4))]
    if shape == "huge":
        return [opt.long, draw(huge_text)]
    return ["--" + draw(any_text)]


@st.composite
def command_lines(
    draw: st.DrawFn, junk: bool = True, command: list[str] | None = None
) -> list[str]:
    words = [w for group in draw(st.lists(option_words(junk), max_size=5)) for w in group]
    if draw(st.booleans()):
        words.append("--")
    if command is None:
        command = draw(st.lists(any_text, min_size=0 if junk else 1, max_size=3))
    return words + command


_env_pair = st.one_of(
    value_for.map(lambda pair: (LONG[pair[0]].env, pair[1])),
    st.tuples(st.builds(lambda s: "PYINIT_" + s, st.text("ABCXYZ_", max_size=6)), any_text),
    st.tuples(st.sampled_from([opt.env for opt in options.OPTIONS]), huge_text),
)
environments = st.lists(_env_pair, max_size=4).map(dict)


@contextmanager
def environment(env: dict[str, str]) -> Iterator[None]:
    """click reads os.environ itself, so the process environment must be the fuzzed one."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PYINIT_")}
    with mock.patch.dict(os.environ, {**clean, **env}, clear=True):
        yield


def config_values(config: Config) -> dict[str, object]:
    values = {name: getattr(config, name) for name in Config.__slots__}
    user = values["user"]
    if user is not None:
        values["user"] = {name: getattr(user, name) for name in type(user).__slots__}
    return values
