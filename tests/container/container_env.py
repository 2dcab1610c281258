"""Everything the container suite needs from the machine: a runtime, a base image, the app image.

Two runtimes share this module: podman (issue 7) and Docker (issue 13, its daemon in dockerd.py).
A `Runtime` is one engine's command line plus the few places where the two differ; everything
else (the base image's recipe, the build context, `Container`) is written once.

How podman works on these machines: with runc (Debian's default crun fails on the kernel's mixed
cgroup set-up) and explicit ulimits (root lacks CAP_SYS_RESOURCE). Neither runtime has an image
registry here: the base image is a Debian rootfs made with debootstrap from the APT mirror this
machine is configured with (read at run time, never written down here) and imported. The rootfs
tarball is cached under CACHE_DIR, keyed by everything that goes into it, so a changed recipe or
mirror rebuilds it and an unchanged one costs nothing on the next run.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from helpers import LineReader, built_wheel

ROOT = Path(__file__).resolve().parents[2]
PROGRAMS = Path(__file__).parent / "programs"
CACHE_DIR = Path(os.environ.get("PYINIT_E2E_CACHE", "/var/cache/pyinit-e2e"))
ULIMITS = ("--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024")
# command: the Debian package that provides it
PODMAN_TOOLS = {"podman": "podman", "runc": "runc", "debootstrap": "debootstrap"}
BASE_PACKAGES = ("python3", "python3-venv")
RECIPE_VERSION = 1  # bump when the way the rootfs is made changes
APP_IMAGE = "localhost/pyinit-e2e-app:latest"
INSTALL_TIMEOUT = 900.0
BUILD_TIMEOUT = 600.0
RUNTIME_TIMEOUT = 60.0


class Unavailable(Exception):
    """This machine cannot run containers, for a reason outside the project (no root, no apt)."""


def on_ci() -> bool:
    return os.environ.get("CI") == "true"


def run(
    argv: Sequence[str], timeout: float, **kwargs: object
) -> subprocess.CompletedProcess[bytes]:
    """Run a set-up command; fail with its output when it fails."""
    kwargs.setdefault("stdin", subprocess.DEVNULL)
    result: subprocess.CompletedProcess[bytes] = subprocess.run(
        list(argv),
        capture_output=True,
        timeout=timeout,
        check=False,
        **kwargs,  # type: ignore[call-overload]
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv)} exited with {result.returncode}:\n"
            f"{_tail(result.stdout)}\n{_tail(result.stderr)}"
        )
    return result


def _tail(output: bytes) -> str:
    return output[-3000:].decode(errors="replace")


# -- tools ---------------------------------------------------------------------------------
def ensure_tools(tools: Mapping[str, str] = PODMAN_TOOLS) -> None:
    """Install the packages of the `tools` (command: package) that are missing, with apt."""
    if os.geteuid() != 0:
        raise Unavailable("not root: the suite runs rootful containers and debootstrap")
    missing = sorted({pkg for cmd, pkg in tools.items() if shutil.which(cmd) is None})
    if not missing:
        return
    if shutil.which("apt-get") is None:
        raise Unavailable(f"{', '.join(missing)} missing and no apt-get to install them")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run(["apt-get", "update"], INSTALL_TIMEOUT, env=env)
    wait_for_lock = ["-o", "DPkg::Lock::Timeout=600"]  # another apt on the machine: wait, not fail
    run(["apt-get", *wait_for_lock, "install", "-y", *missing], INSTALL_TIMEOUT, env=env)


# -- runtimes ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Runtime:
    """One container engine's command line, and what it needs on each kind of call."""

    name: str
    cli: tuple[str, ...]
    run_options: tuple[str, ...] = ()
    build_options: tuple[str, ...] = ()
    build_env: tuple[tuple[str, str], ...] = ()
    import_options: tuple[str, ...] = ()
    remove_options: tuple[str, ...] = ("--force",)

    def image_exists(self, image: str) -> bool:
        result = subprocess.run(
            [*self.cli, "image", "inspect", image],
            capture_output=True,
            timeout=RUNTIME_TIMEOUT,
            check=False,
        )
        return result.returncode == 0

    def import_image(self, tarball: Path, image: str) -> None:
        with tarball.open("rb") as stream:
            run(
                [*self.cli, "import", *self.import_options, "-", image], BUILD_TIMEOUT, stdin=stream
            )

    def build(
        self, context: Path, dockerfile: str, tag: str, build_args: Mapping[str, str]
    ) -> None:
        args = [arg for k, v in build_args.items() for arg in ("--build-arg", f"{k}={v}")]
        path = str(context / dockerfile)  # -f is relative to the client's cwd, not to the context
        run(
            [*self.cli, "build", *self.build_options, *args, "-f", path, "-t", tag, str(context)],
            BUILD_TIMEOUT,
            env={**os.environ, **dict(self.build_env)},
        )


PODMAN = Runtime(
    "podman",
    cli=("podman", "--runtime", "runc"),
    run_options=ULIMITS,
    build_options=("--pull=never", "--runtime", "runc", *ULIMITS),
    remove_options=("--force", "--time", "0", "--ignore"),
)


@dataclass(frozen=True)
class Image:
    """An image name, and the runtime whose store holds it."""

    runtime: Runtime
    name: str


# -- the base image ------------------------------------------------------------------------
def debian_source() -> tuple[str, str]:
    """(suite, mirror URI) of this machine's main Debian archive, from its APT sources."""
    suite = _os_release().get("VERSION_CODENAME", "")
    if not suite:
        raise Unavailable("not a Debian machine (no VERSION_CODENAME in /etc/os-release)")
    for uris, suites in _apt_sources():
        if suite in suites and uris:
            return suite, uris[0]
    raise Unavailable(f"no APT source for {suite} in /etc/apt/sources.list(.d)")


def _os_release() -> dict[str, str]:
    values = {}
    with contextlib.suppress(OSError):
        for line in Path("/etc/os-release").read_text().splitlines():
            key, _, value = line.partition("=")
            values[key] = value.strip().strip('"')
    return values


def _apt_sources() -> Iterator[tuple[list[str], list[str]]]:
    """(URIs, suites) of each `deb` source, one-line and deb822 formats alike."""
    apt = Path("/etc/apt")
    one_line = [apt / "sources.list", *sorted((apt / "sources.list.d").glob("*.list"))]
    for path in one_line:
        with contextlib.suppress(OSError):
            for line in path.read_text().splitlines():
                words = re.sub(r"\[[^]]*\]", "", line.split("#")[0]).split()
                if len(words) >= 3 and words[0] == "deb":
                    yield [words[1]], [words[2]]
    for path in sorted((apt / "sources.list.d").glob("*.sources")):
        with contextlib.suppress(OSError):
            for stanza in re.split(r"\n\s*\n", path.read_text()):
                fields = _deb822(stanza)
                if "deb" in fields.get("types", "").split() and fields.get("enabled") != "no":
                    yield fields.get("uris", "").split(), fields.get("suites", "").split()


def _deb822(stanza: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in stanza.splitlines():
        if line.startswith("#") or ":" not in line or line[:1].isspace():
            continue
        key, _, value = line.partition(":")
        fields[key.strip().lower()] = value.strip()
    return fields


def base_image_key(suite: str, mirror: str) -> str:
    recipe = f"{RECIPE_VERSION}|{suite}|{mirror}|{','.join(BASE_PACKAGES)}|{os.uname().machine}"
    return hashlib.sha256(recipe.encode()).hexdigest()[:16]


def ensure_base_image(runtime: Runtime = PODMAN) -> Image:
    """The imported Debian base image, made (or re-imported) when missing."""
    suite, mirror = debian_source()
    key = base_image_key(suite, mirror)
    image = Image(runtime, f"localhost/pyinit-e2e-base:{key}")
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with _cache_lock():
        if runtime.image_exists(image.name):
            return image
        tarball = CACHE_DIR / f"rootfs-{key}.tar"
        if not tarball.exists():
            _make_rootfs_tarball(suite, mirror, tarball)
        runtime.import_image(tarball, image.name)
        _drop_stale_tarballs(keep=tarball)
    return image


@contextlib.contextmanager
def _cache_lock() -> Iterator[None]:
    """Two runs on one machine must not debootstrap into the same place at once."""
    with (CACHE_DIR / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _make_rootfs_tarball(suite: str, mirror: str, tarball: Path) -> None:
    rootfs = CACHE_DIR / f"rootfs-{tarball.stem}"
    shutil.rmtree(rootfs, ignore_errors=True)
    try:
        run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(BASE_PACKAGES)}",
                suite,
                str(rootfs),
                mirror,
            ],
            BUILD_TIMEOUT,
        )
        for junk in ("var/cache/apt", "var/lib/apt/lists", "usr/share/doc", "usr/share/man"):
            shutil.rmtree(rootfs / junk, ignore_errors=True)
        partial = tarball.with_suffix(".partial")
        run(["tar", "-C", str(rootfs), "-cf", str(partial), "."], BUILD_TIMEOUT)
        partial.rename(tarball)  # only a complete tarball ever has the final name
    finally:
        shutil.rmtree(rootfs, ignore_errors=True)


def _drop_stale_tarballs(keep: Path) -> None:
    for old in CACHE_DIR.glob("rootfs-*.tar"):
        if old != keep:
            old.unlink(missing_ok=True)


# -- the app image -------------------------------------------------------------------------
def build_app_image(base: Image) -> Image:
    """Build Dockerfile.example as a user without network would: wheels put in the wheelhouse."""
    with tempfile.TemporaryDirectory(prefix="pyinit-e2e-context-") as tmp:
        context = Path(tmp)
        shutil.copy(ROOT / "Dockerfile.example", context / "Dockerfile.example")
        shutil.copytree(ROOT / "examples" / "app", context / "examples" / "app")
        wheelhouse = context / "examples" / "wheelhouse"
        wheelhouse.mkdir()
        run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--quiet",
                "--wheel-dir",
                str(wheelhouse),
                # CI's built wheel (pip wheel copies it and fetches click), else
                # a wheel built from this checkout.
                str(built_wheel() or ROOT),
            ],
            BUILD_TIMEOUT,
        )
        build_args = {"BASE_IMAGE": base.name, "PIP_INSTALL_OPTS": "--no-index"}
        base.runtime.build(context, "Dockerfile.example", APP_IMAGE, build_args)
    return Image(base.runtime, APP_IMAGE)


def build_derived_image(
    base: Image, tag: str, dockerfile: str, files: Sequence[Path] = ()
) -> Image:
    """An image FROM `base` made of `dockerfile` (a string), with `files` in its context."""
    with tempfile.TemporaryDirectory(prefix="pyinit-e2e-context-") as tmp:
        context = Path(tmp)
        (context / "Dockerfile").write_text(f"FROM {base.name}\n{dockerfile}")
        for path in files:
            shutil.copy(path, context / path.name)
        base.runtime.build(context, "Dockerfile", tag, {})
    return Image(base.runtime, tag)


# -- running containers --------------------------------------------------------------------
class Container(LineReader):
    """`podman run` / `docker run` attached, with a line-reading stdout; removed on exit."""

    def __init__(
        self,
        image: Image,
        command: Sequence[str] = (),
        *,
        options: Sequence[str] = ("--network", "none"),
        init: bool = False,
        entrypoint: str | None = None,
        env: dict[str, str] | None = None,
        volumes: Sequence[tuple[Path, str]] = (),
    ) -> None:
        self.runtime = image.runtime
        self.name = f"pyinit-e2e-{uuid.uuid4().hex[:12]}"
        argv = [*self.runtime.cli, "run", "--name", self.name, *self.runtime.run_options, *options]
        if init:
            argv.append("--init")
        if entrypoint is not None:
            argv += ["--entrypoint", entrypoint]
        for key, value in (env or {}).items():
            argv += ["--env", f"{key}={value}"]
        for host, inside in volumes:
            argv += ["--volume", f"{host}:{inside}"]
        self.stderr_file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by remove()
        self.proc = subprocess.Popen(
            [*argv, image.name, *command],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self.stderr_file,
            start_new_session=True,
        )
        super().__init__(self.proc.stdout, default_timeout=30.0)  # a container starts slower
        self.exited_at: float | None = None

    def rest_of_output(self, timeout: float = 10.0) -> list[str]:
        """Every line until the container's output closes."""
        with contextlib.suppress(AssertionError):
            while True:
                self.read_line(timeout)
        return self.lines

    def stop(self, timeout: int | None) -> float:
        """`podman stop -t timeout` (None: the runtime's default, 10 s); the seconds it took."""
        option = [] if timeout is None else ["-t", str(timeout)]
        started = time.monotonic()
        run([*self.runtime.cli, "stop", *option, self.name], (timeout or 10) + RUNTIME_TIMEOUT)
        return time.monotonic() - started

    def kill(self, signal_name: str) -> None:
        run([*self.runtime.cli, "kill", "-s", signal_name, self.name], RUNTIME_TIMEOUT)

    def inspect(self, template: str) -> str:
        """`inspect --format template`, e.g. "{{.State.ExitCode}}"."""
        argv = [*self.runtime.cli, "inspect", "--format", template, self.name]
        return run(argv, RUNTIME_TIMEOUT).stdout.decode().strip()

    def wait(self, timeout: float = RUNTIME_TIMEOUT) -> int:
        """The container's exit code, as `podman run` / `docker run` passes it on."""
        code = self.proc.wait(timeout)
        self.exited_at = time.monotonic()
        return code

    def stderr(self) -> str:
        self.stderr_file.seek(0)
        return self.stderr_file.read().decode(errors="replace")

    def failure_context(self) -> str:
        return f"; stderr: {self.stderr()[-2000:]!r}"

    def remove(self) -> None:
        subprocess.run(
            [*self.runtime.cli, "rm", *self.runtime.remove_options, self.name],
            capture_output=True,
            timeout=RUNTIME_TIMEOUT,
            check=False,
        )
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(RUNTIME_TIMEOUT)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.stderr_file.close()

    def __enter__(self) -> Container:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def program(name: str) -> tuple[Path, str]:
    """A volume that shows tests/container/programs/NAME inside the container as /t/NAME."""
    return PROGRAMS / name, f"/t/{name}:ro"
