"""An app that stops gracefully on SIGQUIT, as nginx does (its image has `STOPSIGNAL SIGQUIT`).

Prints `ready`, waits for SIGQUIT, says so, cleans up, exits 0. SIGTERM is left at its default,
so a runtime that sent SIGTERM instead would kill it without the cleanup line.
"""

from __future__ import annotations

import signal
import sys


def main() -> int:
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGQUIT})
    print("ready", flush=True)
    signal.sigwait({signal.SIGQUIT})
    print("got SIGQUIT: graceful stop", flush=True)
    print("cleanup done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
