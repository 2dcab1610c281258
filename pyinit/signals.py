"""Which signals pyinit handles, and the only module that changes pyinit's own signal mask.

Invariant: after `block_handled()`, every signal in HANDLED is blocked and at SIG_DFL, except the
ones pyinit inherited ignored (`INHERITED_IGNORED`): those stay SIG_IGN and unblocked, so the kernel
discards them and the app inherits the ignore. Everything else is consumed only by `wait_signal()`
(sigwaitinfo / sigtimedwait) and never by a handler. No Python signal handler exists, so nothing
ever runs in signal context.
"""

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    import signal
else:
    # The C half of `signal`: the same functions and constants, as plain ints. `signal` itself
    # builds enums, and enum with what it imports stays ~0.7 MB in every pyinit for its life.
    import _signal as signal

# The default for --stop-signals. SIGQUIT is not one: a JVM prints a thread dump on it and keeps
# running, and tini and dumb-init simply forward it.
DEFAULT_STOP_SIGNALS = frozenset({signal.SIGTERM, signal.SIGINT})
# Synchronous faults are the kernel telling pyinit about its own bug: blocking them would hang or
# be ignored, forwarding them makes no sense (catatonit does the same).
KERNEL_FAULT = frozenset(
    {signal.SIGSEGV, signal.SIGBUS, signal.SIGILL, signal.SIGFPE, signal.SIGTRAP, signal.SIGSYS}
)
TTY_STOP = frozenset({signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU})
_UNCATCHABLE = frozenset({signal.SIGKILL, signal.SIGSTOP})
# 32 and 33 belong to glibc's threading; SIGRTMIN already starts above them.
_STANDARD = range(1, 32)
_REALTIME = range(signal.SIGRTMIN, signal.SIGRTMAX + 1)
ALL_VALID = frozenset((*_STANDARD, *_REALTIME))

# Every name, aliases too (SIGIOT, SIGCLD, SIGPOLL), as signal.Signals has them; a number's own
# name is its alphabetically first one, as in signal.Signals (a test holds both equal).
_NUMBERS: dict[str, int] = {
    name: number
    for name, number in vars(signal).items()
    if name.startswith("SIG") and not name.startswith("SIG_") and isinstance(number, int)
}
_NAMES: dict[int, str] = {number: name for name, number in sorted(_NUMBERS.items(), reverse=True)}

FORWARDED: frozenset[int] = frozenset(ALL_VALID - KERNEL_FAULT - _UNCATCHABLE - {signal.SIGCHLD})
HANDLED: frozenset[int] = FORWARDED | {signal.SIGCHLD}
# An inherited SIG_IGN of these is not kept: CPython ignores SIGPIPE and SIGXFSZ itself at start-up
# (so an inherited ignore cannot be told apart, and a child inheriting it breaks `yes | head`), and
# a SIGCHLD left at SIG_IGN would make the kernel reap pyinit's children behind its back.
_NEVER_KEPT_IGNORED = frozenset({signal.SIGPIPE, signal.SIGXFSZ, signal.SIGCHLD})

# Filled in by block_handled(): what the caller ignored (`nohup`, `trap '' HUP`, a non-interactive
# shell's background job has INT and QUIT ignored), and what pyinit therefore waits for.
INHERITED_IGNORED: frozenset[int] = frozenset()
_waited: frozenset[int] = HANDLED
# The parent pyinit was started by, read as early as pyinit runs Python code: the parent-death
# option compares it with getppid() to catch a parent that died before prctl() took effect.
PARENT_AT_START = os.getppid()


def block_handled() -> None:
    """Block every handled signal; keep an inherited SIG_IGN, put anything else back to SIG_DFL.

    Blocking comes first so no signal is lost in between. A signal the caller ignored stays
    ignored, as it would under no init or tini: the app inherits SIG_IGN across fork and exec, and
    pyinit unblocks it, because Linux queues a *blocked* signal even when it is ignored and pyinit
    must neither forward it nor stop on it. Python's own SIGINT handler (installed only when
    SIGINT was at SIG_DFL) goes back to SIG_DFL.
    """
    global INHERITED_IGNORED, _waited
    signal.pthread_sigmask(signal.SIG_BLOCK, HANDLED)
    ignored = set()
    for signum in HANDLED:
        disposition = signal.getsignal(signum)
        if disposition == signal.SIG_IGN and signum not in _NEVER_KEPT_IGNORED:
            ignored.add(signum)
            signal.signal(signum, signal.SIG_IGN)  # again: discards any copy queued meanwhile
        elif disposition != signal.SIG_DFL:
            signal.signal(signum, signal.SIG_DFL)
    if ignored:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, ignored)
    INHERITED_IGNORED = frozenset(ignored)
    _waited = HANDLED - INHERITED_IGNORED
    # Never handled, but an inherited SIG_IGN would pass on to the child (faulthandler's own
    # handlers, if enabled, stay).
    for signum in KERNEL_FAULT:
        if signal.getsignal(signum) == signal.SIG_IGN:
            signal.signal(signum, signal.SIG_DFL)


def unblock_all() -> None:
    """Give the calling process an empty mask; used only in the child between fork and exec."""
    signal.pthread_sigmask(signal.SIG_SETMASK, ())


def wait_signal(timeout: float | None) -> signal.struct_siginfo | None:
    """Sleep in the kernel until a handled signal is pending or `timeout` seconds pass."""
    if timeout is None:
        return signal.sigwaitinfo(_waited)
    # sigtimedwait rejects negative values and overflows on absurd ones.
    return signal.sigtimedwait(_waited, min(max(timeout, 0.0), 86_400.0))


def signal_name(signum: int) -> str:
    """SIGTERM, SIGRTMIN+3, or the number itself for anything unnamed."""
    if signal.SIGRTMIN < signum < signal.SIGRTMAX:
        offset = signum - signal.SIGRTMIN
        return f"SIGRTMIN+{offset}" if offset <= 15 else f"SIGRTMAX-{signal.SIGRTMAX - signum}"
    return _NAMES.get(signum, str(signum))


def parse_signal(text: str) -> int:
    """Parse TERM, SIGTERM, term, 15, RTMIN+3 or SIGRTMAX-1 into a signal number.

    Raises ValueError with a message fit for the user.
    """
    spec = text.strip().upper()
    number = int(spec) if spec.isdigit() else _named_signal(spec.removeprefix("SIG"))
    if number not in ALL_VALID:
        raise ValueError(f"{text!r} is not a valid signal")
    return number


def _named_signal(name: str) -> int:
    for base, anchor in (("RTMIN", signal.SIGRTMIN), ("RTMAX", signal.SIGRTMAX)):
        if name.startswith(base):
            rest = name[len(base) :]
            if not rest:
                return int(anchor)
            if rest[0] in "+-" and rest[1:].isdigit():
                return int(anchor) + int(rest)
            break
    number = _NUMBERS.get("SIG" + name)
    if number is None:
        raise ValueError(f"{name!r} is not a signal name (try TERM, SIGINT, 15 or RTMIN+1)")
    return number
