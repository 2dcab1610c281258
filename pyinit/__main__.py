"""Entry point for both `pyinit` and `python -m pyinit`.

Only `signal` may be imported before the handled signals are blocked: a SIGTERM that reaches a
Python PID 1 before that is dropped by the kernel (PID 1 has no default actions), and every import
widens the window.
"""

import os
import sys

from pyinit import signals


def main() -> None:
    signals.block_handled()
    from pyinit.cli import main as cli_main

    try:
        cli_main()
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            exit_now(exc.code or 0)
        raise


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
