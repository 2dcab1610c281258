"""Validated, immutable settings, and the parsers for every value a user can type.

Each parser raises ValueError with a message fit for the user; `Config.build` turns those into
ConfigError (exit 125). This module is shared by the click CLI and the fast argv path, so both
accept exactly the same values. It avoids dataclasses and typing on purpose: their imports cost
PID 1 milliseconds and megabytes it keeps for its whole life.
"""

from __future__ import annotations

import math
import os

# Not collections.abc, which imports all of collections (~0.25 MB for pyinit's life).
from _collections_abc import Callable

from pyinit.errors import ConfigError
from pyinit.signals import DEFAULT_STOP_SIGNALS, FORWARDED, parse_signal, signal_name

# What starts a stop (the report's `stop.cause`), and the grace period each gets when
# --grace-period is not given (None: pyinit never SIGKILLs). A stop signal comes from a runtime
# that has its own deadline and SIGKILL, which pyinit cannot know (docker stop -t, Kubernetes'
# terminationGracePeriodSeconds): escalating earlier would take drain time away, and tini never
# escalates. --timeout and a main child that left processes behind have no runtime deadline behind
# them, so there pyinit is the only backstop. README: "The default grace period".
STOP_CAUSES = ("signal", "timeout", "main_exited")
DEFAULT_GRACE_PERIODS: dict[str, float | None] = {
    "signal": None,
    "timeout": 10.0,
    "main_exited": 10.0,
}
DEFAULT_TERMINATION_LOG = "/dev/termination-log"
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
DROP = 0  # rewrite target meaning "do not forward"


def parse_duration(text: str) -> float:
    """Parse 500ms, 2, 2s, 1.5m or 1h into seconds (a bare number is seconds)."""
    spec = text.strip().lower()
    unit = next((u for u in ("ms", "s", "m", "h") if spec.endswith(u)), "")
    try:
        value = float(spec[: len(spec) - len(unit)]) * _UNITS.get(unit, 1.0)
    except ValueError:
        raise ValueError(f"{text!r} is not a duration (e.g. 500ms, 2, 2s, 1.5m, 1h)") from None
    if not math.isfinite(value) or value < 0:  # after the unit: 1e308h overflows to inf
        raise ValueError(f"{text!r} is not a duration: it must be a finite number >= 0")
    return value


def parse_rewrite(text: str) -> tuple[int, int]:
    """FROM:TO with signal names or numbers; TO may be DROP (or 0)."""
    source, target = _split_pair(text, "FROM:TO, e.g. TERM:QUIT or WINCH:DROP")
    number = _forwarded_signal(source, "be rewritten")
    # 0 as the target is dumb-init's spelling of DROP (`-r 28:0`), so its flags carry over.
    dropped = target.strip().upper() in ("DROP", "0")
    return number, DROP if dropped else parse_signal(target)


def parse_remap(text: str) -> tuple[int, int]:
    """FROM:TO exit codes, each 0-255."""
    pair = _split_pair(text, "FROM:TO, e.g. 143:0")
    codes = []
    for part in pair:
        part = part.strip()
        if not part.isdigit() or int(part) > 255:
            raise ValueError(f"{text!r}: exit codes are whole numbers from 0 to 255")
        codes.append(int(part))
    return codes[0], codes[1]


def _split_pair(text: str, shape: str) -> tuple[str, str]:
    source, colon, target = text.partition(":")
    if not colon or not source.strip() or not target.strip():
        raise ValueError(f"{text!r} is not of the form {shape}")
    return source, target


def parse_stop_command(text: str) -> tuple[str, ...]:
    """Split like a POSIX shell would, without running one."""
    import shlex

    try:
        words = tuple(shlex.split(text))
    except ValueError as exc:
        raise ValueError(f"{text!r} cannot be split into words: {exc}") from None
    if not words:
        raise ValueError("the stop command is empty")
    return words


class User:
    """Who the child runs as: resolved once, before the spawn, so a typo is a usage error."""

    __slots__ = ("gid", "groups", "home", "name", "uid")

    def __init__(self, uid: int, gid: int, groups: tuple[int, ...], home: str, name: str) -> None:
        self.uid, self.gid, self.groups, self.home, self.name = uid, gid, groups, home, name


def parse_user(text: str) -> User:
    """USER[:GROUP], names or numeric ids, resolved like initgroups(3) would."""
    import pwd

    user_part, _, group_part = text.partition(":")
    if not user_part:
        raise ValueError(f"{text!r} does not name a user (USER[:GROUP])")
    try:
        entry = pwd.getpwuid(int(user_part)) if user_part.isdigit() else pwd.getpwnam(user_part)
    except KeyError:
        entry = None
    if entry is None and not user_part.isdigit():
        raise ValueError(f"unknown user {user_part!r}")
    uid = entry.pw_uid if entry else _id_in_range(int(user_part), "user")
    # A numeric uid with no passwd entry gets its own number as group, never root's group 0.
    gid = entry.pw_gid if entry else uid
    if group_part:
        gid = _id_in_range(_resolve_group(group_part), "group")
    groups = tuple(os.getgrouplist(entry.pw_name, gid)) if entry else (gid,)
    home = entry.pw_dir if entry else "/"
    return User(uid, gid, groups, home, entry.pw_name if entry else str(uid))


def _id_in_range(number: int, what: str) -> int:
    """(uid_t)-1 means "leave unchanged" to set*id(2), and larger ids do not exist."""
    if number >= 2**32 - 1:
        raise ValueError(f"{what} id {number} is out of range (0 to {2**32 - 2})")
    return number


def _resolve_group(text: str) -> int:
    import grp

    if text.isdigit():
        return int(text)
    try:
        return grp.getgrnam(text).gr_gid
    except KeyError:
        raise ValueError(f"unknown group {text!r}") from None


class Config:
    """Everything pyinit was asked to do; immutable once built."""

    __slots__ = (
        "command",
        "grace_periods",
        "keep_orphans",
        "log_format",
        "parent_death_signal",
        "pdeathsig",
        "quiet",
        "remap_exit",
        "report",
        "rewrite",
        "signal_group",
        "single_child",
        "stop_command",
        "stop_delay",
        "stop_signals",
        "termination_log",
        "timeout",
        "user",
        "verbose",
    )

    command: tuple[str, ...]
    grace_periods: dict[str, float | None]  # stop cause -> seconds, or None: never SIGKILL
    keep_orphans: bool
    log_format: str
    parent_death_signal: int | None
    pdeathsig: int | None
    quiet: bool
    remap_exit: dict[int, int]
    report: str | None
    rewrite: dict[int, int]
    signal_group: bool  # forward to the whole group always (-g); neither flag: decide per signal
    single_child: bool
    stop_command: tuple[str, ...] | None
    stop_delay: float
    stop_signals: frozenset[int]
    termination_log: str | None
    timeout: float | None
    user: User | None
    verbose: int

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Config is immutable")

    @classmethod
    def build(cls, command: tuple[str, ...], raw: dict[str, object]) -> Config:
        """Build from the raw strings of argv/env (None = not given); raise ConfigError."""
        self = object.__new__(cls)
        try:
            values = _convert(command, raw)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        for name in cls.__slots__:
            object.__setattr__(self, name, values[name])
        return self


_OPTION_OF = {
    "single_child": "--single-child",
    "signal_group": "--signal-group",
    "keep_orphans": "--keep-orphans",
    "quiet": "--quiet",
    "verbose": "--verbose",
    "termination_log": "--termination-log",
    "report": "--report",
    "grace_period": "--grace-period",
    "stop_delay": "--stop-delay",
    "timeout": "--timeout",
    "stop_command": "--stop-command",
    "rewrite": "--rewrite",
    "remap_exit": "--remap-exit",
    "pdeathsig": "--pdeathsig",
    "parent_death_signal": "--parent-death-signal",
    "stop_signals": "--stop-signals",
    "user": "--user",
    "log_format": "--log-format",
}


# One option becomes a differently shaped setting: --grace-period is a grace period per stop cause.
_SLOT_OF = {"grace_period": "grace_periods"}


def _convert(command: tuple[str, ...], raw: dict[str, object]) -> dict[str, object]:
    if not command or not command[0]:
        raise ValueError("no command given (usage: pyinit [OPTIONS] [--] COMMAND [ARG]...)")
    out: dict[str, object] = {"command": command}
    for name, parse in _PARSERS.items():
        value = raw.get(name)
        try:
            out[_SLOT_OF.get(name, name)] = parse(value)
        except ValueError as exc:
            raise ValueError(f"invalid {_OPTION_OF.get(name, name)}: {exc}") from None
    if out["single_child"] and out["signal_group"]:
        raise ValueError(
            "--single-child and --signal-group contradict each other: signals go to the main "
            "child only, or to its whole group"
        )
    graces, delay = out["grace_periods"], out["stop_delay"]
    assert isinstance(graces, dict)
    assert isinstance(delay, float)
    grace = graces["signal"]  # the only stop a delay applies to
    if delay > 0 and grace is not None and delay >= grace:
        raise ValueError(
            f"--stop-delay ({delay:g}s) must be shorter than --grace-period ({grace:g}s): "
            "the grace period counts from the stop signal, so the delay would leave no time to stop"
        )
    return out


_Parser = Callable[[object], object]


def _optional(parse: _Parser) -> _Parser:
    return lambda value: None if value is None else parse(value)


def _string(value: object) -> str:
    assert isinstance(value, str)
    return value


def _strings(value: object) -> list[str]:
    assert isinstance(value, (list, tuple))
    return [str(v) for v in value]


_TRUE = frozenset({"1", "true", "t", "yes", "y", "on"})
_FALSE = frozenset({"0", "false", "f", "no", "n", "off"})


def _flag(value: object) -> bool:
    """A flag from argv (bool) or from PYINIT_* (1/0, true/false, yes/no, on/off)."""
    if value is None or isinstance(value, bool):
        return bool(value)
    text = _string(value).strip().lower()
    if text not in _TRUE | _FALSE:
        raise ValueError(f"{value!r} is not a boolean (1/0, true/false, yes/no, on/off)")
    return text in _TRUE


def _count(value: object) -> int:
    if value is None or isinstance(value, int):
        return int(value or 0)
    try:
        count = int(_string(value))  # int() exactly, as click reads PYINIT_VERBOSE
    except ValueError:
        count = -1
    if count < 0:
        raise ValueError(f"{value!r} is not a count (0, 1, 2, ...)")
    return count


def _log_format(value: object) -> str:
    text = "text" if value is None else _string(value).strip().lower()
    if text not in ("text", "json"):
        raise ValueError(f"{value!r} is not one of text, json")
    return text


def _timeout(value: object) -> float | None:
    seconds = None if value is None else parse_duration(_string(value))
    return seconds or None  # 0 means no limit, as in GNU timeout


def _grace_periods(value: object) -> dict[str, float | None]:
    if value is None:
        return dict(DEFAULT_GRACE_PERIODS)
    seconds = parse_duration(_string(value)) or None  # 0 means never, as --timeout 0 means none
    return dict.fromkeys(STOP_CAUSES, seconds)


def parse_stop_signals(text: str) -> frozenset[int]:
    """A comma-separated list of forwardable signals, e.g. TERM,INT,QUIT."""
    numbers = set()
    for item in text.split(","):
        if not item.strip():
            raise ValueError(f"{text!r} is not a comma-separated list of signals, e.g. TERM,INT")
        numbers.add(_forwarded_signal(item, "stop the app"))
    return frozenset(numbers)


def _forwarded_signal(text: str, role: str) -> int:
    """A signal pyinit forwards; one it never forwards cannot play `role`."""
    number = parse_signal(text)
    if number not in FORWARDED:
        raise ValueError(f"{signal_name(number)} is never forwarded, so it cannot {role}")
    return number


def _absolute_path(value: object) -> str | None:
    """pyinit moves its own working directory to / once the command runs (so it never keeps a
    volume busy), so a relative path is resolved against the start directory first."""
    text = _string(value)
    if not text:
        return None
    try:
        return os.path.abspath(text)
    except OSError as exc:  # the start directory was removed: getcwd() fails
        raise ValueError(f"{text!r} is relative and the current directory is gone: {exc}") from None


def _termination_log(value: object) -> str | None:
    if value is None:
        return DEFAULT_TERMINATION_LOG if os.access(DEFAULT_TERMINATION_LOG, os.W_OK) else None
    return _absolute_path(value)


_PARSERS: dict[str, _Parser] = {
    "grace_period": _grace_periods,
    "stop_delay": lambda v: 0.0 if v is None else parse_duration(_string(v)),
    "timeout": _timeout,
    "single_child": lambda v: _flag(v),
    "signal_group": lambda v: _flag(v),
    "keep_orphans": lambda v: _flag(v),
    "quiet": lambda v: _flag(v),
    "verbose": lambda v: _count(v),
    "stop_command": _optional(lambda v: parse_stop_command(_string(v))),
    "rewrite": lambda v: dict(parse_rewrite(s) for s in _strings(v or ())),
    "remap_exit": lambda v: dict(parse_remap(s) for s in _strings(v or ())),
    "pdeathsig": _optional(lambda v: parse_signal(_string(v))),
    "parent_death_signal": _optional(lambda v: parse_signal(_string(v))),
    "stop_signals": lambda v: DEFAULT_STOP_SIGNALS if v is None else parse_stop_signals(_string(v)),
    "user": _optional(lambda v: parse_user(_string(v))),
    "log_format": _log_format,
    "termination_log": _termination_log,
    "report": _optional(_absolute_path),
}
