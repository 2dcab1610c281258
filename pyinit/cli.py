"""Command line: argv + PYINIT_* -> Config -> supervisor.run() -> exit code.

Every pre-spawn failure ends here as one line `pyinit: ...` on stderr and exit 125. click is loaded
(from `click_command`) only when the fast path in `options` declines the input.
"""

from __future__ import annotations

import os
import sys

# Not collections.abc, which imports all of collections (~0.25 MB for pyinit's life).
from _collections_abc import Sequence

from pyinit import exit_codes, options
from pyinit.config import Config
from pyinit.errors import PyinitError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn


def main(argv: Sequence[str] | None = None) -> None:
    """Parse, validate, supervise, and exit with the contract's code."""
    args = list(sys.argv[1:] if argv is None else argv)
    config = build_config(args, os.environ)
    from pyinit.supervisor import run

    sys.exit(run(config))


def build_config(args: list[str], environ: dict[str, str] | os._Environ[str]) -> Config:
    parsed = options.parse_fast(args, environ)
    if parsed is None:
        from pyinit.click_command import parse_with_click

        parsed = parse_with_click(args, fail)
    try:
        return Config.build(*parsed)
    except PyinitError as exc:
        fail(exc.message, exc.exit_code)


def fail(message: str, code: int = exit_codes.PYINIT_FAILED) -> NoReturn:
    """One line on stderr, then exit; a closed stderr must not turn this into a traceback."""
    # AttributeError: with fd 2 closed at start-up, sys.stderr is None.
    try:  # not contextlib.suppress: contextlib stays off the idle path (see signals.py)
        sys.stderr.write(f"pyinit: {message}\n")
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):
        pass
    sys.exit(code)
