"""Lifecycle events, as short text lines or one JSON object per line, on stderr.

Writing a log line must never stop PID 1: every write error (stderr closed, EPIPE, EAGAIN) is
swallowed. Nothing here runs in signal context, because pyinit has no signal handlers. A
switched-off level costs one comparison; json is imported only in json mode.
"""

from __future__ import annotations

import errno
import os
import select
import time

DEBUG, INFO, WARNING, ERROR = 10, 20, 30, 40
_SILENT = 100
# poll() reports a pipe writable once PIPE_BUF bytes are free: a line no longer than that can
# never block PID 1 after the poll, and it is written atomically, never interleaved.
LINE_LIMIT = 4096
_LEVEL_NAMES = {DEBUG: "debug", INFO: "info", WARNING: "warning", ERROR: "error"}


def level_for(verbose: int, quiet: bool, json_format: bool) -> int:
    """Text is quiet by default (warnings); JSON logs every lifecycle event (info)."""
    if quiet:
        return ERROR
    base = INFO if json_format else WARNING
    return max(DEBUG, base - 10 * verbose)


def iso_timestamp(wall: float) -> str:
    millis = int(wall * 1000) % 1000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(wall)) + f".{millis:03d}Z"


class Log:
    __slots__ = ("_dumps", "_poll", "level")

    def __init__(self, level: int = WARNING, json_format: bool = False) -> None:
        self.level = level
        self._dumps = None
        self._poll = select.poll()
        self._poll.register(2, select.POLLOUT)
        if json_format:
            import json

            self._dumps = json.dumps

    def enabled(self, level: int) -> bool:
        return level >= self.level

    def event(self, level: int, name: str, message: str, **fields: object) -> None:
        """Record lifecycle event `name`; `message` is the text form, `fields` the JSON form."""
        if level < self.level:
            return
        if self._dumps is None:
            # Errors read like usage errors ("pyinit: ..."); lesser levels say what they are.
            label = "" if level >= ERROR else _LEVEL_NAMES[level] + ": "
            line = f"pyinit: {label}{message}\n"
        else:
            record: dict[str, object] = {
                "ts": iso_timestamp(time.time()),
                "level": _LEVEL_NAMES[level],
                "event": name,
            }
            record.update(fields)
            line = self._dumps(record, default=str, ensure_ascii=False) + "\n"
        data = line.encode("utf-8", "backslashreplace")
        if self._dumps is not None and len(data) > LINE_LIMIT:
            data = self._shorten_json(level, name, message).encode()
        self._write(fit(data, LINE_LIMIT))

    def _shorten_json(self, level: int, name: str, message: str) -> str:
        """Still one valid object: the event, and as much of its text form as fits. The full
        detail (e.g. every killed process) is in --report and the termination message."""
        assert self._dumps is not None
        record = {
            "ts": iso_timestamp(time.time()),
            "level": _LEVEL_NAMES[level],
            "event": name,
            "message": message[: LINE_LIMIT // 2],
            "truncated": True,
        }
        return self._dumps(record, ensure_ascii=True) + "\n"

    def debug(self, name: str, message: str, **fields: object) -> None:
        self.event(DEBUG, name, message, **fields)

    def info(self, name: str, message: str, **fields: object) -> None:
        self.event(INFO, name, message, **fields)

    def warning(self, name: str, message: str, **fields: object) -> None:
        self.event(WARNING, name, message, **fields)

    def error(self, name: str, message: str, **fields: object) -> None:
        self.event(ERROR, name, message, **fields)

    def _write(self, data: bytes) -> None:
        try:
            if not self._poll.poll(0):
                # stderr would block (a stalled log reader): PID 1 must go on forwarding and
                # reaping, so the line is dropped. A closed or broken stderr reports an event
                # and the write below finds out.
                return
            os.write(2, data)
        except OSError as exc:
            if exc.errno in (errno.EPIPE, errno.EBADF):
                # A closed stderr never comes back, and every further write would raise
                # another SIGPIPE at pyinit: stop writing for good.
                self.level = _SILENT


def fit(data: bytes, limit: int) -> bytes:
    """`data` if it is at most `limit` bytes, else its start, cut on a UTF-8 character boundary
    and marked " ...\n", within the limit."""
    if len(data) <= limit:
        return data
    return data[: limit - 5].decode("utf-8", "ignore").encode() + b" ...\n"
