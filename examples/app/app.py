"""A tiny HTTP service that stops the way a container app should.

On SIGTERM (or SIGINT) it stops accepting connections, lets the requests already in flight finish
(the drain), runs its cleanup, says so, and exits 0. Everything it needs is in the standard library.

  GET /            -> "ok"
  GET /?work=0.2   -> "ok" after 0.2 s: a slow request, so that a stop finds some in flight

Settings come from the environment: HOST (default 0.0.0.0), PORT (default 8080).

Under pyinit with --stop-delay, SIGTERM reaches this app only after the delay: until then it keeps
serving as if nothing happened, which is the point. In Kubernetes the pod's endpoints are being
removed from the Services and load balancers at the same time as the kubelet sends the stop signal,
and that takes a moment; a server that closed its listener at once would refuse the requests that
still arrive meanwhile. By the time the delay ends no new traffic comes, and the drain only has to
finish what is in flight.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

MAX_WORK = 30.0


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        query = parse_qs(urlsplit(self.path).query)
        try:
            work = min(float(query.get("work", ["0"])[0]), MAX_WORK)
        except ValueError:
            work = 0.0
        if work > 0:
            time.sleep(work)
        body = b"ok\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """One line per request would drown the stop messages that matter here."""


class Server(ThreadingHTTPServer):
    # Request threads are joined by server_close(): that join is the drain.
    daemon_threads = False
    block_on_close = True
    request_queue_size = 128


STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


def main() -> int:
    host = os.environ.get("HOST", "0.0.0.0")
    port = int(os.environ.get("PORT", "8080"))
    # Blocked before any thread starts, so every thread inherits the mask and the stop signal
    # can only be taken by sigwait() below. With a Python handler instead, the kernel may deliver
    # the signal to a request thread while the main thread sleeps in a lock wait that nothing
    # then interrupts: the handler would run late, or never.
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    server = Server((host, port), Handler)
    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    serving.start()
    print(f"ready: pid {os.getpid()} serving on {host}:{port}", flush=True)
    signum = signal.sigwait(STOP_SIGNALS)
    print(f"got {signal.Signals(signum).name}: draining", flush=True)
    started = time.monotonic()
    server.shutdown()  # no new connections are accepted from here on
    server.server_close()  # closes the listener, then waits for the requests in flight
    serving.join()
    print(f"cleanup done in {time.monotonic() - started:.3f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
