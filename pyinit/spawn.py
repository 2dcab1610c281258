"""Start a child: fork, set it up, exec; exec failures come back over a close-on-exec pipe.

posix_spawn cannot hand the terminal to the child (tcsetpgrp), drop privileges with initgroups
semantics or set a parent-death signal, so pyinit forks. Between fork and exec the child runs only
the set-up below, with every handled signal still blocked, and it never returns into pyinit's code:
it execs or `_exit`s. The protocol follows CPython's subprocess: the child writes
"<stage>:<errno>:<detail>" to the pipe on failure; EOF means the exec succeeded.

Invariant: between fork and exec the child imports nothing and opens no file of pyinit's or the
interpreter's. After `--user` it may not be allowed to read them (a venv or pyenv in root's 0700
home), and os.execvp's own PATH search imports a module. So everything the child needs is
prepared before the fork (`execpath.ExecPlan`), and the child searches PATH itself with bare
execve calls, as the target user (`execpath.exec_plan`).

`child_environment` holds the only changes pyinit ever makes to the environment it passes on.
"""

from __future__ import annotations

import errno
import os

from pyinit import execpath, exit_codes, signals
from pyinit.errors import SpawnError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from pyinit.config import User

_STAGE_EXEC = "exec"
_STAGE_USER = "user"
_STAGE_PDEATHSIG = "pdeathsig"
_STAGE_CWD = "cwd"
_STAGE_MESSAGES = {
    _STAGE_CWD: "failed to enter the start directory for {target}",
    _STAGE_USER: "failed to switch to user {target}",
    _STAGE_PDEATHSIG: "failed to set the parent-death signal for {target}",
}
_DETAIL_LIMIT = 300


class ChildSetup:
    """What the child does between fork and exec."""

    __slots__ = ("cwd", "env", "pdeathsig", "terminal_fd", "user")

    def __init__(
        self,
        user: User | None = None,
        pdeathsig: int | None = None,
        terminal_fd: int | None = None,
        env: Mapping[str, str] | None = None,
        cwd: str | int | None = None,
    ) -> None:
        self.user, self.pdeathsig, self.terminal_fd, self.env = user, pdeathsig, terminal_fd, env
        # pyinit itself runs in /; its children start where pyinit was started (a path, or a
        # descriptor of that directory), and a relative command or PATH entry resolves there.
        self.cwd = cwd


def spawn_child(argv: Sequence[str], setup: ChildSetup) -> int:
    """Run argv in a new process group; return its pid once exec has succeeded.

    Raises SpawnError (126/127 for exec failures, 125 for a failed set-up). The failed child has
    already exited; the caller's reaper collects it.
    """
    if setup.pdeathsig is not None:
        # Imported here: prctl needs ctypes (~2 ms, ~0.4 MiB), which PID 1 never uses otherwise.
        from pyinit import prctl

        prctl.load()
    plan = execpath.ExecPlan(argv, setup.env)
    parent = os.getpid()
    read_end, write_end = os.pipe()  # close-on-exec: EOF on success
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child, which execs or exits
        os.close(read_end)
        _become(plan, setup, write_end, parent)
    os.close(write_end)
    _set_group(pid)
    try:
        report = _read_all(read_end)
    finally:
        os.close(read_end)
    if report:
        error = _spawn_error(report, argv, setup)
        error.pid = pid  # the caller takes the terminal back from it if the child had taken it
        raise error
    return pid


def _set_group(pid: int) -> None:
    """Also done in the child; doing it here too means a signal sent to the group right after
    the fork cannot miss it (the classic shell race)."""
    try:  # noqa: SIM105 - contextlib stays off the idle path
        os.setpgid(pid, pid)
    except OSError:  # EACCES: the child exec'd already, having done it itself
        pass


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 256):
        chunks.append(chunk)
    return b"".join(chunks)


def _spawn_error(report: bytes, argv: Sequence[str], setup: ChildSetup) -> SpawnError:
    stage, _, rest = report.decode("utf-8", "replace").partition(":")
    number_text, _, detail = rest.partition(":")
    number = int(number_text) if number_text.isdigit() else 0
    reason = os.strerror(number) if number else detail or "the child failed before exec"
    if stage == _STAGE_EXEC and number:
        hint = " (is it installed and on PATH?)" if number == errno.ENOENT else ""
        return SpawnError(
            f"failed to run {argv[0]!r}: {reason}{hint}", exit_codes.from_exec_errno(number)
        )
    if stage == _STAGE_EXEC:  # not an exec error but pyinit's own, e.g. MemoryError
        return SpawnError(f"failed to run {argv[0]!r}: {reason}", exit_codes.PYINIT_FAILED)
    target = setup.user.name if stage == _STAGE_USER and setup.user else argv[0]
    what = _STAGE_MESSAGES.get(stage, "failed to set up {target}").format(target=repr(target))
    return SpawnError(f"{what}: {reason}", exit_codes.PYINIT_FAILED)


def _become(plan: execpath.ExecPlan, setup: ChildSetup, error_fd: int, parent: int) -> None:
    """In the child: set up, then exec; report any failure and _exit. Never returns.

    Nothing here may import or open a file (see the module docstring); modules it needs were
    loaded before the fork."""
    stage = "setup"
    try:
        os.setpgid(0, 0)
        if setup.terminal_fd is not None:
            _take_terminal(setup.terminal_fd)
        if setup.cwd is not None:
            stage = _STAGE_CWD
            # Before the user switch: the start directory is entered with pyinit's rights, as
            # if inherited.
            if isinstance(setup.cwd, int):
                os.fchdir(setup.cwd)
            else:
                os.chdir(setup.cwd)
        if setup.user is not None:
            stage = _STAGE_USER
            _switch_user(setup.user)
        if setup.pdeathsig is not None:
            from pyinit import prctl  # already imported (and libc loaded) by spawn_child

            stage = _STAGE_PDEATHSIG
            # After the uid switch: changing credentials clears the parent-death signal.
            prctl.set_pdeathsig(setup.pdeathsig)
            if os.getppid() != parent:  # pyinit died before prctl took effect
                os._exit(exit_codes.SIGNAL_BASE + setup.pdeathsig)
        stage = _STAGE_EXEC
        signals.unblock_all()
        _report(error_fd, stage, execpath.exec_plan(plan), "")
    except OSError as exc:
        _report(error_fd, stage, exc.errno or 0, _describe(exc))
    except BaseException as exc:
        _report(error_fd, stage, 0, _describe(exc))
    finally:
        os._exit(exit_codes.CANNOT_EXECUTE)


def _describe(exc: BaseException) -> str:
    """Names what stopped the child, e.g. "ImportError: ...": never an anonymous "unknown"."""
    try:
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    except BaseException:  # a broken __str__ must not hide the failure itself
        text = type(exc).__name__
    return text[:_DETAIL_LIMIT]


def _take_terminal(fd: int) -> None:
    """Become the terminal's foreground group. SIGTTOU is still blocked here, so a background
    caller is allowed to do this (tcsetpgrp(3))."""
    try:  # noqa: SIM105 - contextlib stays off the idle path
        os.tcsetpgrp(fd, os.getpid())
    except OSError:  # not our controlling terminal: run without one
        pass


def _switch_user(user: User) -> None:
    """initgroups semantics, then gid, then uid, all three ids each, so root cannot come back."""
    os.setgroups(list(user.groups))
    os.setresgid(user.gid, user.gid, user.gid)
    os.setresuid(user.uid, user.uid, user.uid)


def _report(fd: int, stage: str, number: int, detail: str) -> None:
    try:  # noqa: SIM105 - contextlib stays off the idle path
        os.write(fd, f"{stage}:{number}:{detail}".encode(errors="replace"))
    except OSError:
        pass


def child_environment(user: User | None) -> dict[str, str] | None:
    """The environment passes through untouched, except HOME for --user (see `_home_for`) and
    LC_CTYPE, which the child gets as pyinit did (see `_inherited_lc_ctype`)."""
    lc_ctype = _inherited_lc_ctype()
    coerced = lc_ctype != os.environ.get("LC_CTYPE", lc_ctype)
    home = _home_for(user)
    if not coerced and home is None:
        return None
    env = {**os.environ}
    if coerced:
        del env["LC_CTYPE"]
        if lc_ctype is not None:
            env["LC_CTYPE"] = lc_ctype
    if home is not None:
        env["HOME"] = home
    return env


def _home_for(user: User | None) -> str | None:
    """HOME for --user: set when it is unset, or when it is root's home and the user is not root
    (container runtimes set HOME=/root for a root image, and an app that drops privileges must
    not write there). None: leave HOME alone."""
    if user is None:
        return None
    home = os.environ.get("HOME")
    if home is not None and (user.uid == 0 or home != _root_home()):
        return None
    return user.home


def _root_home() -> str:
    import pwd

    try:
        return pwd.getpwuid(0).pw_dir
    except KeyError:
        return "/root"


def _inherited_lc_ctype() -> str | None:
    """LC_CTYPE as pyinit was started with it. In a C or POSIX locale CPython's start-up sets
    LC_CTYPE=C.UTF-8 in its own environment (PEP 538), which the app must not inherit; the
    environment as exec'd is still in /proc/self/environ; if that cannot be read, trust os.environ.
    """
    try:
        with open("/proc/self/environ", "rb") as stream:
            inherited = stream.read().split(b"\0")
    except OSError:
        return os.environ.get("LC_CTYPE")
    for entry in inherited:
        if entry.startswith(b"LC_CTYPE="):
            return os.fsdecode(entry[len(b"LC_CTYPE=") :])
    return None
