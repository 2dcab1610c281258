"""Errors that end pyinit before the main child runs; each carries the exit code it means."""

from pyinit import exit_codes


class PyinitError(Exception):
    """pyinit cannot do what it was asked; `message` is one line for the user."""

    def __init__(self, message: str, exit_code: int = exit_codes.PYINIT_FAILED) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


class ConfigError(PyinitError):
    """A bad option or PYINIT_* value (always 125)."""


class SpawnError(PyinitError):
    """The child could not be started: exec failed (126/127) or its set-up failed (125).

    `pid` is the failed child's (already exited, not yet reaped), 0 if it was never forked."""

    pid = 0
