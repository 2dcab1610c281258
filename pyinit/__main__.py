"""Entry point for both `pyinit` and `python -m pyinit`.

A SIGTERM that reaches a Python PID 1 before its handled signals are blocked is dropped by the
kernel (PID 1 has no default actions), and every import before the block widens that window. So
`main` blocks them first through `_signal`, the C module the interpreter has already loaded
(`signal` would cost ~2 ms: it imports enum); bin/pyinit has already done so before even looking
up this package. `signals.block_handled` then blocks the same set again and resets the
dispositions. Only then does pyinit import anything, through its own paths first
(`trust_interpreter_paths`).
"""

import _signal  # type: ignore[import-not-found]  # no stub; it is signal's C half
import os
import sys


def handled_early() -> set[int]:
    """signals.HANDLED (a test holds them equal), from nothing but `_signal`."""
    unblockable_or_faults: set[int] = {
        _signal.SIGKILL,
        _signal.SIGSTOP,
        _signal.SIGSEGV,
        _signal.SIGBUS,
        _signal.SIGILL,
        _signal.SIGFPE,
        _signal.SIGTRAP,
        _signal.SIGSYS,
    }
    every: set[int] = {*range(1, 32), *range(_signal.SIGRTMIN, _signal.SIGRTMAX + 1)}
    return every - unblockable_or_faults


def trust_interpreter_paths() -> None:
    """Put the interpreter's own sys.path entries (standard library, site-packages) before the
    ones the app controls: PYTHONPATH and the script's directory or the working directory, which
    CPython puts in front. Otherwise an app's `select.py` or `enum.py` there would replace the
    standard module in pyinit. They stay on the path (at the end), so a pyinit found through them
    still imports its dependencies; its own modules come from the package, already imported.
    """
    stdlib_zip = os.path.join(
        sys.base_prefix, sys.platlibdir, f"python{sys.version_info[0]}{sys.version_info[1]}.zip"
    )
    # The zip entry heads the interpreter's own part (getpath adds it whether or not it exists).
    if stdlib_zip in sys.path:
        boundary = sys.path.index(stdlib_zip)
        sys.path[:] = sys.path[boundary:] + sys.path[:boundary]


def main() -> None:
    _signal.pthread_sigmask(_signal.SIG_BLOCK, handled_early())
    trust_interpreter_paths()
    from pyinit import signals

    signals.block_handled()
    from pyinit.cli import main as cli_main

    try:
        cli_main()
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            exit_now(exc.code or 0)
        raise
    except Exception as exc:  # the contract: one line and 125, never a traceback
        # Only pre-spawn code can get here (the supervisor never raises): e.g. --version
        # into a full disk. Nothing is running yet, so failing is safe.
        report_internal_error(exc)


def report_internal_error(exc: Exception) -> None:
    detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else repr(exc)
    try:  # noqa: SIM105 - contextlib is not on the start-up path; keep it off
        os.write(2, f"pyinit: {detail}\n".encode(errors="replace"))
    except OSError:
        pass
    exit_now(125)  # exit_codes.PYINIT_FAILED; that module is not needed this early


def exit_now(code: int) -> None:
    """Exit without the interpreter's teardown (module and GC clean-up: 3-4 ms idle, 8+ under
    load), which would sit between the last child's death and pyinit's own, i.e. in the stop
    latency a container runtime waits for. Nothing needs it: pyinit registers no atexit
    handlers, writes its log with os.write and its report with an explicit fsync."""
    for stream in (sys.stdout, sys.stderr):
        try:  # noqa: SIM105 - contextlib is not on the start-up path; keep it off
            stream.flush()
        except (OSError, ValueError, AttributeError):  # closed, or None without a console
            pass
    os._exit(code)


if __name__ == "__main__":
    main()
