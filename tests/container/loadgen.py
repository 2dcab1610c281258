"""A bounded HTTP load generator for 127.0.0.1 that plays a load balancer during a stop.

When a pod is deleted, Kubernetes sends the stop signal and removes the pod from its Services'
endpoints at the same time, and the load balancers notice the removal a little later. `Load`
models that: after `remove_endpoint(propagation)` it keeps sending new requests for `propagation`
seconds, then sends none (requests already in flight still complete). A request that fails in
that window is a request a user saw fail.

The load is open-loop, like users: each worker sends at a fixed pace whether or not its last
request failed, so the failure count is the number of users who saw an error, not an artefact of
how fast a refused connection comes back. Every request goes to 127.0.0.1 (never any other
address); the total number of requests and the run time are bounded, and the workers stop by
themselves.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

TARGET = "127.0.0.1"


@dataclass
class LoadResult:
    sent: int = 0
    ok: int = 0
    failed: int = 0
    errors: Counter[str] = field(default_factory=Counter)


class Load:
    def __init__(
        self,
        port: int,
        *,
        rate: float = 200.0,
        workers: int = 16,
        work: float = 0.05,
        max_requests: int = 20_000,
        max_seconds: float = 60.0,
    ) -> None:
        self.port = port
        self.path = f"/?work={work}"
        self.max_requests = max_requests
        self.deadline = time.monotonic() + max_seconds
        self.result = LoadResult()
        self.lock = threading.Lock()
        self.progress = threading.Condition(self.lock)
        self.removed_at: float | None = None
        self.aborted = threading.Event()  # teardown: stop now
        self.interval = workers / rate  # each worker's pace
        self.threads = [
            threading.Thread(target=self._worker, args=(i * self.interval / workers,), daemon=True)
            for i in range(workers)
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def wait_ok(self, count: int, timeout: float) -> None:
        """Handshake: return once `count` requests have succeeded."""
        with self.progress:
            if not self.progress.wait_for(lambda: self.result.ok >= count, timeout):
                raise AssertionError(f"only {self.result} within {timeout}s")

    def remove_endpoint(self, propagation: float) -> None:
        """The endpoint is removed now; load balancers stop sending after `propagation` s."""
        self.removed_at = time.monotonic() + propagation

    def join(self, timeout: float) -> LoadResult:
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                self.aborted.set()
                raise AssertionError(f"load generator still running after {timeout}s")
        return self.result

    def _more(self) -> bool:
        now = time.monotonic()
        if self.removed_at is not None and now >= self.removed_at:
            return False
        with self.lock:
            return now < self.deadline and self.result.sent < self.max_requests

    def _worker(self, offset: float) -> None:
        next_at = time.monotonic() + offset
        while not self.aborted.wait(max(0.0, next_at - time.monotonic())) and self._more():
            next_at += self.interval
            with self.lock:
                self.result.sent += 1
            error = self._request()
            with self.progress:
                if error is None:
                    self.result.ok += 1
                else:
                    self.result.failed += 1
                    self.result.errors[error] += 1
                self.progress.notify_all()

    def _request(self) -> str | None:
        """None on success, else what went wrong."""
        connection = http.client.HTTPConnection(TARGET, self.port, timeout=10)
        try:
            connection.request("GET", self.path)
            response = connection.getresponse()
            body = response.read()
            if response.status != 200 or body != b"ok\n":
                return f"HTTP {response.status}"
            return None
        except (OSError, http.client.HTTPException) as exc:
            return type(exc).__name__
        finally:
            connection.close()
