"""The option table, shared by the click command and the fast path that skips click.

Importing click costs a Python PID 1 about 25 ms of start-up and 4-5 MB it would keep for its whole
life, for parsing a handful of options once. So `parse_fast` handles the argv and PYINIT_* shapes it
understands completely and returns None for anything else (help, version, unknown options, odd
spellings), and click then parses the same input and owns every message. Values are validated in one
place, `Config.build`, whichever path read them; a property test holds the two paths equal.
"""

from _collections_abc import (
    Mapping,
    Sequence,
)  # not collections.abc, which imports all of collections

FLAG, COUNT, VALUE, MULTI = "flag", "count", "value", "multi"
ENV_PREFIX = "PYINIT_"


class Option:
    __slots__ = ("help", "kind", "long", "metavar", "name", "short")

    def __init__(self, name: str, kind: str, help: str, metavar: str = "", short: str = "") -> None:
        self.name, self.kind, self.help, self.metavar, self.short = name, kind, help, metavar, short
        self.long = "--" + name.replace("_", "-")

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()


OPTIONS = (
    Option(
        "grace_period",
        VALUE,
        "Time from the start of the stop until everything left is SIGKILLed; 0 means never. "
        "[default: never for a stop signal (the runtime's own SIGKILL is the backstop, as "
        "under tini); 10s for --timeout and for leftovers after the main child exited] Set it "
        "a few seconds below the runtime's (terminationGracePeriodSeconds, docker stop -t) to "
        "get pyinit's records of what it killed.",
        "DURATION",
    ),
    Option(
        "stop_delay",
        VALUE,
        "Keep everything running this long after a stop signal before "
        "acting (replaces a preStop 'sleep'); a second stop signal cuts it short. Counts "
        "against the grace period; not applied to --timeout. [default: 0]",
        "DURATION",
    ),
    Option(
        "stop_signals",
        VALUE,
        "The signals that start the stop sequence (stop delay, stop command, grace period), "
        "comma-separated. Every other signal, SIGQUIT included, is only forwarded. "
        "[default: TERM,INT]",
        "LIST",
    ),
    Option(
        "stop_command",
        VALUE,
        "Run this command instead of forwarding the stop signal, e.g. "
        "'nginx -s quit'; split like a shell would, no shell run. Falls back to the signal if "
        "it cannot run or fails.",
        "CMD",
    ),
    Option(
        "rewrite",
        MULTI,
        "Forward signal FROM as TO, or not at all with TO=DROP (or 0), e.g. "
        "TERM:QUIT, WINCH:DROP. Repeatable; comma-separated in the environment.",
        "FROM:TO",
    ),
    Option(
        "single_child",
        FLAG,
        "Forward signals to the main child only, never to its process group (tini's default).",
    ),
    Option(
        "signal_group",
        FLAG,
        "Forward signals to the main child's whole process group, whether or not the main child "
        "handles them (tini -g, dumb-init's default). [default: the group only for a signal the "
        "main child leaves at its default action, else the main child alone]",
        short="-g",
    ),
    Option(
        "timeout",
        VALUE,
        "Stop the command after DURATION as if SIGTERM arrived, without the stop delay; "
        "exit 124. 0 means no limit. [default: no limit]",
        "DURATION",
    ),
    Option(
        "keep_orphans",
        FLAG,
        "When the main child exits, leave its leftover descendants "
        "running instead of stopping them.",
    ),
    Option(
        "remap_exit",
        MULTI,
        "Exit with TO where pyinit would exit with FROM (applied last), "
        "e.g. 143:0. Repeatable; comma-separated in the environment.",
        "FROM:TO",
    ),
    Option("report", VALUE, "Write a JSON outcome report to PATH at exit (atomically).", "PATH"),
    Option(
        "termination_log",
        VALUE,
        "Write a short summary of why the container stopped to PATH, "
        "unless the app already wrote there; '' disables. [default: /dev/termination-log if "
        "it exists and is writable]",
        "PATH",
    ),
    Option(
        "log_format",
        VALUE,
        "Log as short text lines or one JSON object per line (text|json). [default: text]",
        "FORMAT",
    ),
    Option(
        "user",
        VALUE,
        "Run the command as USER (name or id), with its groups, or as "
        "USER:GROUP; pyinit stays root.",
        "USER[:GROUP]",
    ),
    Option(
        "parent_death_signal",
        VALUE,
        "pyinit gets SIGNAL when the process that started it dies (tini -p); a stop signal "
        "then stops the whole tree gracefully; as PID 1 too.",
        "SIGNAL",
        short="-p",
    ),
    Option(
        "pdeathsig",
        VALUE,
        "Send SIGNAL to the main child if pyinit itself dies (e.g. is SIGKILLed).",
        "SIGNAL",
    ),
    Option(
        "verbose", COUNT, "Log more: once for lifecycle events, twice for every signal.", short="-v"
    ),
    Option("quiet", FLAG, "Log errors only.", short="-q"),
)
_BY_LONG = {opt.long: opt for opt in OPTIONS}
_BY_SHORT = {opt.short[1]: opt for opt in OPTIONS if opt.short}

Parsed = tuple[tuple[str, ...], dict[str, object]]


def parse_fast(argv: Sequence[str], environ: Mapping[str, str]) -> Parsed | None:
    """(command, raw values) for well-formed input, or None to let click decide."""
    raw = _from_environment(environ)
    given: dict[str, object] = {}
    index = 0
    while index < len(argv):
        arg = argv[index]
        if arg == "--":
            index += 1
            break
        if not arg.startswith("-") or arg == "-":
            break
        take = _take_long if arg.startswith("--") else _take_short
        taken = take(argv, index, given)
        if taken is None:
            return None
        index += taken
    command = tuple(argv[index:])
    if not command:
        return None
    raw.update(given)
    drop_overridden(raw, set(given))
    return command, raw


# Options that exclude each other. One given on the command line overrides the other's PYINIT_*
# variable, as the command line overrides the environment for a single option: an image's
# `ENV PYINIT_SINGLE_CHILD=1` must not make `docker run image -g ...` a usage error.
EXCLUSIVE = (("single_child", "signal_group"),)


def drop_overridden(raw: dict[str, object], from_command_line: set[str]) -> None:
    for pair in EXCLUSIVE:
        for mine, other in (pair, pair[::-1]):
            if mine in from_command_line and other not in from_command_line:
                raw.pop(other, None)


def _from_environment(environ: Mapping[str, str]) -> dict[str, object]:
    raw: dict[str, object] = {}
    for opt in OPTIONS:
        value = environ.get(opt.env)
        if value:  # click also treats an empty variable as unset
            raw[opt.name] = value.split(",") if opt.kind == MULTI else value
    return raw


def _take_long(argv: Sequence[str], index: int, given: dict[str, object]) -> int | None:
    name, eq, value = argv[index].partition("=")
    opt = _BY_LONG.get(name)
    if opt is None:
        return None
    if opt.kind in (FLAG, COUNT):
        if eq:
            return None
        _apply(opt, given, None)
        return 1
    return _take_value(opt, argv, index, value if eq else None, given)


def _take_short(argv: Sequence[str], index: int, given: dict[str, object]) -> int | None:
    """-vq, -p TERM, -pTERM, -vpTERM: flags, then at most one option that takes a value (the
    rest of the word, or the next word), as click reads them."""
    letters = argv[index][1:]
    for position, letter in enumerate(letters):
        opt = _BY_SHORT.get(letter)
        if opt is None:
            return None
        if opt.kind in (FLAG, COUNT):
            _apply(opt, given, None)
            continue
        return _take_value(opt, argv, index, letters[position + 1 :] or None, given)
    return 1


def _take_value(
    opt: Option, argv: Sequence[str], index: int, inline: str | None, given: dict[str, object]
) -> int | None:
    """The value of the option at argv[index]: `inline` (--opt=V, -pV) if given, else the next
    word; return how many words were taken, or None if there is no value."""
    if inline is not None:
        _apply(opt, given, inline)
        return 1
    if index + 1 >= len(argv):
        return None
    _apply(opt, given, argv[index + 1])
    return 2


def _apply(opt: Option, given: dict[str, object], value: str | None) -> None:
    if opt.kind == FLAG:
        given[opt.name] = True
    elif opt.kind == COUNT:
        previous = given.get(opt.name, 0)
        assert isinstance(previous, int)
        given[opt.name] = previous + 1
    elif opt.kind == MULTI:
        values = given.setdefault(opt.name, [])
        assert isinstance(values, list)
        values.append(value)
    else:
        given[opt.name] = value
