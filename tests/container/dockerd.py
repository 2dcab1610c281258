"""A private Docker daemon for the suite: started for the session, gone afterwards.

Debian's docker.io provides dockerd, containerd and runc. The suite starts its own dockerd with its
own socket, exec root and config file, so it neither needs nor touches a Docker the machine may
already run, and dockerd starts its own (managed) containerd inside that exec root. Its data root,
where the images live, is CACHE_DIR/docker, so the next run finds the base and app images (and
BuildKit's cache) already there; a second run on the same machine at the same time gets a
throw-away data root instead of sharing one (two daemons on one data root corrupt it).

The client is Debian's /usr/bin/docker, the one that matches this dockerd's API: another `docker`
earlier on PATH (/usr/local/bin on some machines) may be a different version.
BuildKit (needed for Dockerfile.example's `RUN --mount`) is built into dockerd 20.10 and is
selected with DOCKER_BUILDKIT=1; no buildx plugin is needed.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import psutil
from container_env import CACHE_DIR, RUNTIME_TIMEOUT, Runtime, Unavailable

CLIENT = "/usr/bin/docker"
# command: the Debian package that provides it
TOOLS = {"dockerd": "docker.io", "containerd": "containerd", "runc": "runc",
         "debootstrap": "debootstrap", "busybox": "busybox"}  # fmt: skip
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
# The imported rootfs has no image config; docker would leave PATH unset for `docker build`.
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
CONFIG = {
    # No networking beyond "none" and "host": no bridge, no iptables rules left on the host.
    "iptables": False,
    "ip-masq": False,
    "bridge": "none",
    # The data root persists between runs: keep BuildKit's cache from growing without bound.
    "builder": {"gc": {"enabled": True, "defaultKeepStorage": "2GB"}},
}


@contextlib.contextmanager
def private_dockerd() -> Iterator[Runtime]:
    """A running dockerd and the runtime that talks to it; stopped and cleaned up on exit."""
    if not Path(CLIENT).exists() or shutil.which("dockerd") is None:
        raise Unavailable(f"{CLIENT} or dockerd missing after installing docker.io")
    run_dir = Path(tempfile.mkdtemp(prefix="pyinit-dockerd-"))  # short: holds a unix socket
    with _data_root() as data_root:
        daemon = _start(run_dir, data_root)
        runtime = _runtime(run_dir / "docker.sock")
        try:
            yield runtime
        finally:
            _prune_dangling_images(runtime)
            _stop(daemon, run_dir, data_root)
            shutil.rmtree(run_dir, ignore_errors=True)


@contextlib.contextmanager
def _data_root() -> Iterator[Path]:
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with (CACHE_DIR / "docker.lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            scratch = Path(tempfile.mkdtemp(prefix="docker-scratch-", dir=CACHE_DIR))
            try:
                yield scratch
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
            return
        yield CACHE_DIR / "docker"


def _runtime(socket: Path) -> Runtime:
    return Runtime(
        "docker",
        cli=(CLIENT, "--host", f"unix://{socket}"),
        build_options=("--network", "none"),
        build_env=(("DOCKER_BUILDKIT", "1"),),
        import_options=("--change", f"ENV PATH={DEFAULT_PATH}"),
    )


def _start(run_dir: Path, data_root: Path) -> subprocess.Popen[bytes]:
    config = run_dir / "daemon.json"
    config.write_text(json.dumps(CONFIG))
    log: IO[bytes] = (run_dir / "dockerd.log").open("wb")
    daemon = subprocess.Popen(
        [
            "dockerd",
            "--config-file", str(config),
            "--data-root", str(data_root),
            "--exec-root", str(run_dir / "exec"),
            "--pidfile", str(run_dir / "dockerd.pid"),
            "--host", f"unix://{run_dir / 'docker.sock'}",
        ],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    log.close()
    _wait_until_serving(daemon, run_dir)
    return daemon


def _wait_until_serving(daemon: subprocess.Popen[bytes], run_dir: Path) -> None:
    """Poll `docker version` until the API answers: dockerd offers no readiness handshake."""
    version = [*_runtime(run_dir / "docker.sock").cli, "version"]
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if daemon.poll() is not None:
            break
        probe = subprocess.run(version, capture_output=True, timeout=RUNTIME_TIMEOUT, check=False)
        if probe.returncode == 0:
            return
        time.sleep(0.1)  # polling an external daemon, not synchronising the code under test
    log = (run_dir / "dockerd.log").read_text(errors="replace")[-3000:]
    _stop(daemon, run_dir, None)
    raise RuntimeError(f"dockerd did not start within {START_TIMEOUT}s:\n{log}")


def _prune_dangling_images(runtime: Runtime) -> None:
    """Each run's app image replaces the last (a new wheel): drop the untagged old ones."""
    subprocess.run(
        [*runtime.cli, "image", "prune", "--force"],
        capture_output=True,
        timeout=RUNTIME_TIMEOUT,
        check=False,
    )


def _stop(daemon: subprocess.Popen[bytes], run_dir: Path, data_root: Path | None) -> None:
    """SIGTERM dockerd (it stops its containers and its containerd), then sweep what is left."""
    with contextlib.suppress(ProcessLookupError):
        daemon.send_signal(signal.SIGTERM)
    try:
        daemon.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        daemon.kill()
        daemon.wait(STOP_TIMEOUT)
    _kill_leftovers(run_dir)
    _unmount_under([str(run_dir)] + ([str(data_root)] if data_root is not None else []))


def _kill_leftovers(run_dir: Path) -> None:
    """containerd and its shims, should any outlive dockerd: their command lines name our exec
    root, a fresh temporary directory, so no other run's daemon can match."""
    mine = f"{run_dir}/"
    for proc in psutil.process_iter(["cmdline"]):
        if any(mine in arg for arg in proc.info["cmdline"] or []):
            with contextlib.suppress(psutil.Error):
                proc.kill()


def _unmount_under(roots: list[str]) -> None:
    with contextlib.suppress(OSError):
        mounts = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
        for mount in sorted(mounts, reverse=True):
            if any(mount.startswith(root + "/") for root in roots):
                subprocess.run(["umount", "-l", mount], capture_output=True, check=False)
