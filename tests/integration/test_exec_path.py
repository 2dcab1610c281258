"""The command starts wherever glibc's execvp would start it, searched as the target user, and the
child imports and opens nothing of pyinit's or the interpreter's between fork and exec."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import TIMEOUT, UNSHARE, run_pyinit

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
PIDNS = pytest.param(True, id="pid1", marks=pytest.mark.pidns)
WRAPPER = pytest.param(False, id="wrapper")
# pyinit run from a bare interpreter (-I -S: no site, so no .pth hook preloads modules), with an
# audit hook that reports every import and file open in a process other than pyinit itself,
# i.e. in the forked child before it execs.
AUDITED = """
import os, sys
sys.path.insert(0, sys.argv.pop(1))
pyinit_pid = os.getpid()
def hook(event, args):
    if event in ("import", "open") and os.getpid() != pyinit_pid:
        os.write(2, f"CHILD-{event}: {args[0]!r}\\n".encode())
sys.addaudithook(hook)
from pyinit.__main__ import main
main()
"""


def needs_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("--user and permission tests need root")


@pytest.fixture
def public_dir() -> Iterator[Path]:
    """A directory every user can reach (pytest's tmp_path is 0700 for root)."""
    made = Path(tempfile.mkdtemp(prefix="pyinit-exec-"))
    made.chmod(0o755)
    try:
        yield made
    finally:
        shutil.rmtree(made)


def script(directory: Path, name: str, body: str, mode: int = 0o755) -> Path:
    directory.mkdir(mode=0o755, exist_ok=True)
    path = directory / name
    path.write_text(body)
    path.chmod(mode)
    return path


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--", "true"], 0),
        (["--user", "nobody", "--", "true"], 0),
        (["--pdeathsig", "KILL", "--user", "nobody", "--", "true"], 0),
        (["--", "no-such-command"], 127),
        (["--user", "nobody", "--", "/etc/shadow"], 126),
    ],
    ids=["path-search", "user", "pdeathsig", "not-found", "denied"],
)
def test_child_imports_and_opens_nothing_before_exec(args: list[str], code: int) -> None:
    """pyinit's child should exec, or report why it could not, without importing a module or
    opening a file (after --user it may not be allowed to read them)."""
    if "--user" in args:
        needs_root()
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", AUDITED, str(ROOT), *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        stdin=subprocess.DEVNULL,
        cwd="/",
    )
    assert "CHILD-" not in result.stderr, result.stderr
    assert result.returncode == code, result.stderr


@pytest.fixture
def private_install() -> Iterator[Path]:
    """pyinit installed in a venv inside a 0700 directory (like a venv or pyenv in root's home),
    with the `pyinit` command as pip would install it. Returns that command."""
    base = Path(tempfile.mkdtemp(prefix="pyinit-private-"))
    base.chmod(0o700)
    try:
        venv = base / "venv"
        subprocess.run(
            [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60
        )
        purelib = Path(sysconfig.get_path("purelib", vars={"base": str(venv)}))
        shutil.copytree(ROOT / "pyinit", purelib / "pyinit")
        command = venv / "bin" / "pyinit"
        text = (ROOT / "bin" / "pyinit").read_text()
        command.write_text(text.replace("#!python", f"#!{venv / 'bin' / 'python'}", 1))
        command.chmod(0o755)
        yield command
    finally:
        shutil.rmtree(base)


@pytest.mark.parametrize("pidns", [WRAPPER, PIDNS])
def test_user_runs_a_bare_command_name_from_a_private_interpreter(
    private_install: Path, pidns: bool
) -> None:
    """`cd / && pyinit --user nobody -- id` should run id as nobody even when the interpreter
    that runs pyinit is unreadable to nobody."""
    needs_root()
    argv = [*(UNSHARE if pidns else []), str(private_install), "--user", "nobody", "--", "id"]
    result = subprocess.run(
        argv, capture_output=True, text=True, timeout=TIMEOUT, cwd="/", stdin=subprocess.DEVNULL
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("uid=65534"), result.stdout
    assert result.stderr == ""


@pytest.mark.parametrize("pidns", [WRAPPER, PIDNS])
@pytest.mark.parametrize("how", ["path", "search"])
def test_script_without_shebang_runs_through_sh(tmp_path: Path, pidns: bool, how: str) -> None:
    """A file the kernel cannot execute (ENOEXEC: no #! line) should run as `/bin/sh file args`,
    as execvp does (tini, dumb-init and env agree), by path and found on PATH."""
    path = script(tmp_path / "bin", "plain", 'echo "plain $1 $#"\nexit 3\n')
    env = {**os.environ, "PATH": f"{path.parent}:{os.environ.get('PATH', '/usr/bin:/bin')}"}
    command = str(path) if how == "path" else "plain"
    result = run_pyinit(["--", command, "one", "two"], pidns=pidns, env=env)
    assert result.returncode == 3, result.stderr
    assert result.stdout == "plain one 2\n"


def test_script_without_shebang_and_no_shell_is_an_exec_format_error(tmp_path: Path) -> None:
    """Where /bin/sh does not exist (distroless), the file's own ENOEXEC is the error: 126 with
    the kernel's words, not the shell's ENOENT (127, "not found"). /usr/bin, where /bin/sh
    points on this Debian, is hidden by an empty tmpfs in a private mount namespace."""
    needs_root()
    if not Path("/bin/sh").resolve().is_relative_to("/usr/bin"):
        pytest.skip("/bin/sh is not under /usr/bin here")
    path = script(tmp_path, "plain", "echo ran\n")
    hide = 'mount -t tmpfs tmpfs /usr/bin && exec "$@"'
    private = ["unshare", "--mount", "--propagation", "private", "sh", "-c", hide, "sh"]
    result = run_pyinit(["--", str(path)], prefix=private)
    assert result.returncode == 126, result.stderr
    assert "Exec format error" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("pidns", [WRAPPER, PIDNS])
def test_path_search_skips_entries_it_may_not_execute(tmp_path: Path, pidns: bool) -> None:
    """EACCES (a file without x bits, even for root) early in PATH: the search goes on and runs
    the later match, as execvp does."""
    script(tmp_path / "a", "tool", "#!/bin/sh\necho from-a\n", mode=0o644)
    script(tmp_path / "b", "tool", "#!/bin/sh\necho from-b\n")
    env = {
        **os.environ,
        "PATH": f"{tmp_path / 'missing'}:{tmp_path / 'a'}:{tmp_path / 'b'}:/usr/bin:/bin",
    }
    result = run_pyinit(["--", "tool"], pidns=pidns, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "from-b\n"


def test_only_eacces_found_is_126_permission_denied(tmp_path: Path) -> None:
    """When nothing on PATH could run and one entry was EACCES: 126, 'Permission denied'."""
    script(tmp_path / "a", "tool", "#!/bin/sh\necho no\n", mode=0o644)
    env = {**os.environ, "PATH": f"{tmp_path / 'missing'}:{tmp_path / 'a'}:{tmp_path / 'none'}"}
    result = run_pyinit(["--", "tool"], env=env)
    assert result.returncode == 126
    assert result.stderr == "pyinit: failed to run 'tool': Permission denied\n"


def test_not_found_anywhere_on_path_is_127(tmp_path: Path) -> None:
    """Nothing on PATH (including a PATH entry that is a file: ENOTDIR) → 127, not found."""
    (tmp_path / "file").write_text("")
    env = {**os.environ, "PATH": f"{tmp_path / 'missing'}:{tmp_path / 'file'}"}
    result = run_pyinit(["--", "tool"], env=env)
    assert result.returncode == 127
    assert "No such file or directory" in result.stderr


@pytest.mark.parametrize("pidns", [WRAPPER, PIDNS])
def test_user_searches_path_as_the_target_user(public_dir: Path, pidns: bool) -> None:
    """With --user, a PATH entry only root may enter is skipped: the command found is the one
    the user can run, not root's."""
    needs_root()
    private = public_dir / "private"
    script(private, "tool", "#!/bin/sh\necho root-only\n")
    private.chmod(0o700)
    script(public_dir / "public", "tool", "#!/bin/sh\necho public $(id -u)\n")
    env = {**os.environ, "PATH": f"{private}:{public_dir / 'public'}:/usr/bin:/bin"}
    as_root = run_pyinit(["--", "tool"], pidns=pidns, env=env, cwd="/")
    assert as_root.stdout == "root-only\n", as_root.stderr
    as_nobody = run_pyinit(["--user", "nobody", "--", "tool"], pidns=pidns, env=env, cwd="/")
    assert as_nobody.returncode == 0, as_nobody.stderr
    assert as_nobody.stdout == "public 65534\n"


def test_unset_path_searches_glibc_default(tmp_path: Path) -> None:
    """No PATH at all: /bin:/usr/bin, as glibc's execvp."""
    env = {name: value for name, value in os.environ.items() if name != "PATH"}
    result = run_pyinit(["--", "sh", "-c", "echo $0"], env=env, cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "sh\n"


def test_empty_path_entry_means_the_current_directory(tmp_path: Path) -> None:
    """An empty PATH entry is the current directory, as for execvp and the shell."""
    script(tmp_path, "here", "#!/bin/sh\necho here\n")
    env = {**os.environ, "PATH": f"{tmp_path / 'missing'}::/usr/bin"}
    result = run_pyinit(["--", "here"], env=env, cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "here\n"
