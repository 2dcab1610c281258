"""A child for pyinit's tests: reports what it receives, on stdout, one line per event.

    ready <pid> <pgid>          once its handlers are installed (the handshake); then it
                                unblocks every signal (see helpers.blocked_at_start)
    got <SIGNAME> <monotonic>   for every signal it catches
    cleanup <SIGNAME>           when a --exit-on signal arrives, just before exiting

Options: --ignore SIG (repeatable), --default SIG (repeatable: leave SIG as it was, the default
action for most; Python itself catches INT and ignores PIPE and XFSZ),
--exit-on SIG (exit with --code after "cleanup"), --code N (default 0), --write-file PATH (also
append every line there), --catch-chld (report SIGCHLD too: it has none of its own children).
"""

import argparse
import contextlib
import os
import signal
import time

# The same names the tests compare against. Imported here, not in the handler: a second signal
# during a first, lazy import would meet a half-initialised module.
from pyinit.signals import signal_name

UNCATCHABLE = {signal.SIGKILL, signal.SIGSTOP}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ignore", action="append", default=[])
    parser.add_argument("--default", action="append", default=[])
    parser.add_argument("--exit-on", action="append", default=[])
    parser.add_argument("--code", type=int, default=0)
    parser.add_argument("--write-file")
    parser.add_argument("--catch-chld", action="store_true")
    args = parser.parse_args()
    ignored = {_number(name) for name in args.ignore}
    exit_on = {_number(name) for name in args.exit_on}
    untouched = {_number(name) for name in args.default}

    def emit(line: str) -> None:
        # os.write, not sys.stdout: a handler that runs while the "ready" line is being written
        # would make a reentrant call into the buffered writer and die with RuntimeError.
        os.write(1, (line + "\n").encode())
        if args.write_file:
            with open(args.write_file, "a") as stream:
                stream.write(line + "\n")

    def on_signal(signum: int, _frame: object) -> None:
        name = _name(signum)
        emit(f"got {name} {time.monotonic():.6f}")
        if signum in exit_on:
            emit(f"cleanup {name}")
            os._exit(args.code)

    # The C handler of every caught signal writes a byte here, and the main loop waits by reading
    # it. Not signal.pause(): a signal landing after the interpreter's last check and before
    # pause()'s system call runs only the C handler, and the Python one (the "got" line) would
    # wait for the next signal; the byte is there whenever the signal came.
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write, warn_on_full_buffer=False)
    for signum in [*range(1, 32), *range(signal.SIGRTMIN, signal.SIGRTMAX + 1)]:
        if signum in UNCATCHABLE or signum in untouched:
            continue
        if signum == signal.SIGCHLD and not args.catch_chld:
            continue
        handler = signal.SIG_IGN if signum in ignored else on_signal
        with contextlib.suppress(OSError, ValueError):
            signal.signal(signum, handler)
    emit(f"ready {os.getpid()} {os.getpgrp()}")
    # A signal blocked since before exec (blocked_at_start) and sent during start-up is handled
    # now, after the ready line.
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    while True:
        os.read(wake_read, 4096)


def _number(name: str) -> int:
    name = name.upper().removeprefix("SIG")
    if name.isdigit():
        return int(name)
    if name.startswith("RTMIN+"):
        return signal.SIGRTMIN + int(name[6:])
    return int(signal.Signals["SIG" + name])


def _name(signum: int) -> str:
    return signal_name(signum)


if __name__ == "__main__":
    main()
