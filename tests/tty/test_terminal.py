"""Interactive use through a real pseudo-terminal: foreground hand-off, job control, resizes.

pexpect makes the spawned process the session leader of a new pty, so `spawn_pyinit` runs pyinit
the way a terminal emulator or `docker run -it` would run it, and `spawn_shell` gives an interactive
bash in which pyinit is a job like any other. Every wait is an expect() with a bounded timeout.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import pexpect
import psutil
import pytest

from helpers import (
    PYINIT,
    TIMEOUT,
    UNSHARE,
    Running,
    reporter,
    session_members,
    sleep_until,
)
from ptyshell import PROMPT, SLEEPER, WARNINGS, finish, run_in_shell, stop_resume_and_exit

pytestmark = [pytest.mark.integration, pytest.mark.tty]

ROOT = Path(__file__).resolve().parents[2]
STARTED = "pyinit: info: started"
# A child that says whether it owns the terminal, then echoes lines until EOF.
ECHO_LOOP = (
    "import os, sys\n"
    "print('LOOP-READY', os.tcgetpgrp(0) == os.getpgrp(), flush=True)\n"
    "for line in sys.stdin:\n"
    "    print('echo:' + line.strip(), flush=True)\n"
)
TYPE_CHECKING = False
if TYPE_CHECKING:
    Pty = pexpect.spawn[str]
PIDNS = pytest.param(True, id="pid1", marks=pytest.mark.pidns)
WRAPPER = pytest.param(False, id="wrapper")


def _environment() -> dict[str, str]:
    """Just enough for bash and Python: no rc files, no user PYINIT_*, a fixed prompt."""
    keep = {"PATH", "LANG", "LC_ALL", "VIRTUAL_ENV"}
    env = {name: value for name, value in os.environ.items() if name in keep}
    env.update(TERM="dumb", PS1=PROMPT, HOME=str(ROOT), HISTFILE="/dev/null")
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '/usr/bin:/bin')}"
    return env


class Terminals:
    """Spawns processes on fresh ptys and kills their whole sessions at teardown."""

    def __init__(self) -> None:
        self.spawned: list[Pty] = []

    def spawn(self, argv: Sequence[str]) -> Pty:
        child = pexpect.spawn(
            argv[0],
            list(argv[1:]),
            env=_environment(),
            cwd=str(ROOT),
            encoding="utf-8",
            codec_errors="replace",
            timeout=TIMEOUT,
            dimensions=(24, 80),
        )
        self.spawned.append(child)
        return child

    def close(self) -> None:
        for child in self.spawned:
            assert child.pid is not None
            for pid in [child.pid, *session_members(child.pid)]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            child.close(force=True)


@pytest.fixture
def terminals() -> Iterator[Terminals]:
    made = Terminals()
    try:
        yield made
    finally:
        made.close()


def spawn_pyinit(terminals: Terminals, args: Sequence[str], pidns: bool) -> Pty:
    """pyinit as the session leader of a pty (as PID 1: unshare is, and pyinit shares its group,
    which is the terminal's foreground group)."""
    return terminals.spawn([*(UNSHARE if pidns else []), *PYINIT, *args])


def spawn_shell(terminals: Terminals) -> Pty:
    shell = terminals.spawn(["bash", "--norc", "--noprofile", "-i"])
    shell.expect_exact(PROMPT)
    run_in_shell(shell, "set -b")  # report a job's stop at once, not at the next prompt
    return shell


def matched(child: Pty) -> str:
    """The first group of the last expect()'s regular expression."""
    assert isinstance(child.match, re.Match)
    return str(child.match.group(1))


def foreground_name(session_leader: int) -> str | None:
    """The name of the leader of the terminal's foreground group (tpgid, in our pid namespace)."""
    with open(f"/proc/{session_leader}/stat") as stream:
        tpgid = int(stream.read().rsplit(")", 1)[1].split()[5])
    try:
        return psutil.Process(tpgid).name() if tpgid > 0 else None
    except psutil.Error:
        return None


def got_lines(text: str) -> list[str]:
    """The reporter's `got SIG...` lines, signal names only."""
    return re.findall(r"got (SIG\w+)", text)


def pyinit_in(command: Sequence[str], *options: str) -> str:
    return shlex.join([*PYINIT, *options, "--", *command])


def python_child(code: str) -> list[str]:
    return [sys.executable, "-c", code]


# -- pyinit as the session's first process (docker run -it, a terminal emulator) ------------------
@pytest.mark.parametrize("pidns", [WRAPPER, PIDNS])
def test_ctrl_c_goes_to_the_child_which_exits_130(terminals: Terminals, pidns: bool) -> None:
    child = spawn_pyinit(terminals, ["-v", "--", *python_child(SLEEPER)], pidns)
    child.expect(r"FG (\w+)")
    assert matched(child) == "True", "the child's group is not the terminal's foreground"
    child.sendintr()
    rest, status = finish(child)
    assert status == 130
    assert "exiting with 130 (signalled)" in rest  # killed by the SIGINT, not `exit 130`
    # The kernel delivered ^C to the child's group, not to pyinit's.
    assert "received SIGINT" not in rest


@pytest.mark.parametrize("pidns", [WRAPPER, PIDNS])
def test_ctrl_backslash_delivers_sigquit(terminals: Terminals, pidns: bool) -> None:
    child = spawn_pyinit(
        terminals, ["-v", "--", *reporter("--exit-on", "SIGQUIT", "--code", "3")], pidns
    )
    child.expect(r"ready (\d+) ")
    child.sendcontrol("\\")
    rest, status = finish(child)
    assert got_lines(rest) == ["SIGQUIT"], rest
    assert status == 3
    assert "received SIGQUIT" not in rest


@pytest.mark.parametrize("pidns", [WRAPPER, PIDNS])
def test_resize_reaches_the_child_and_nothing_else_does(terminals: Terminals, pidns: bool) -> None:
    """SIGWINCH comes from the kernel to the foreground group; the child sees no SIGHUP or
    SIGCONT from pyinit's terminal handling (dumb-init #136) at start, resize or exit."""
    child = spawn_pyinit(terminals, ["-vv", "--", *reporter("--exit-on", "SIGINT")], pidns)
    child.expect(r"ready (\d+) ")
    if pidns:
        assert matched(child) == "2", "pyinit is not PID 1"
    child.setwinsize(30, 100)
    child.expect_exact("got SIGWINCH")
    child.sendintr()
    rest, status = finish(child)
    assert got_lines(str(child.after) + rest) == ["SIGINT"]
    assert status == 0
    assert "received SIGWINCH" not in rest
    assert "SIGHUP" not in rest
    assert "SIGCONT" not in rest


@pytest.mark.parametrize("pidns", [WRAPPER, PIDNS])
def test_interactive_bash_has_job_control(terminals: Terminals, pidns: bool) -> None:
    shell = spawn_pyinit(terminals, ["--", "bash", "--norc", "--noprofile", "-i"], pidns)
    shell.expect_exact(PROMPT)
    for warning in WARNINGS:
        assert warning not in str(shell.before)

    run_in_shell(shell, "sleep 100 &")
    assert re.search(r"\[1\][+-]? +Running +sleep 100 &", run_in_shell(shell, "jobs"))
    shell.sendline("fg %1")
    shell.expect_exact("sleep 100")
    # bash prints the job before it hands it the terminal: a ^C in between would reach bash.
    assert shell.pid is not None
    leader = shell.pid
    sleep_until(lambda: foreground_name(leader) == "sleep")
    shell.sendintr()  # reaches sleep only if `fg` gave it the terminal
    shell.expect_exact(PROMPT)
    assert "sleep" not in run_in_shell(shell, "jobs")

    shell.sendline("sh -c 'echo JOB-READY; exec sleep 101'")
    shell.expect_exact("JOB-READY\r\n")  # printed by the job itself: it is in the foreground
    shell.sendcontrol("z")
    shell.expect(r"\[1\][+-]? +Stopped +sh -c")
    shell.expect_exact(PROMPT)
    run_in_shell(shell, "bg")
    assert re.search(r"\[1\][+-]? +Running +sh -c", run_in_shell(shell, "jobs"))
    run_in_shell(shell, "kill %1")

    rest, status = stop_resume_and_exit(shell, 7)
    assert status == 7
    for warning in WARNINGS:
        assert warning not in rest


def test_leftovers_get_no_sighup_when_pyinit_exits(terminals: Terminals, tmp_path: Path) -> None:
    """A session leader's exit sends SIGHUP to the terminal's foreground group: pyinit gives the
    terminal back to its own group first, so processes left in the child's group (here kept by
    --keep-orphans) are not hung up by pyinit's own exit."""
    record = tmp_path / "reporter.log"
    leftover = shlex.join(reporter("--write-file", str(record)))
    script = f"{leftover} >/dev/null 2>&1 </dev/null & until [ -s {record} ]; do sleep 0.01; done"
    child = spawn_pyinit(terminals, ["--keep-orphans", "--", "sh", "-c", script], pidns=False)
    _, status = finish(child)
    assert status == 0
    _, pid, _ = record.read_text().split()[:3]
    os.kill(int(pid), signal.SIGUSR1)  # delivered after any SIGHUP already pending (1 < 10)
    sleep_until(lambda: "got SIGUSR1" in record.read_text())
    os.kill(int(pid), signal.SIGKILL)
    assert got_lines(record.read_text()) == ["SIGUSR1"]


# -- pyinit as a job of the user's interactive shell ------------------------------------------
def test_wrapper_ctrl_z_stops_the_job_and_fg_resumes_it(terminals: Terminals) -> None:
    shell = spawn_shell(terminals)
    shell.sendline(pyinit_in(python_child(ECHO_LOOP)))
    shell.expect_exact("LOOP-READY True")
    shell.sendline("hello")
    shell.expect_exact("echo:hello")
    shell.sendcontrol("z")
    shell.expect(r"\[1\][+-]? +Stopped")
    shell.expect_exact(PROMPT)
    shell.sendline("fg")
    shell.sendline("again")
    shell.expect_exact("echo:again")

    # A SIGTSTP sent to pyinit itself is forwarded; the child's stop then stops the job.
    assert shell.pid is not None
    os.kill(psutil.Process(shell.pid).children()[0].pid, signal.SIGTSTP)
    shell.expect(r"\[1\][+-]? +Stopped")
    # In the background the child's read stops it (SIGTTIN); pyinit follows, as the job.
    shell.expect_exact(PROMPT)
    shell.sendline("bg")
    shell.expect(r"\[1\][+-]? +Stopped")
    shell.sendline("fg")
    shell.sendline("third")
    shell.expect_exact("echo:third")
    shell.sendeof()
    shell.expect_exact(PROMPT)
    assert "status=0" in run_in_shell(shell, "echo status=$?")


def test_wrapper_inside_a_script_stops_the_whole_job(terminals: Terminals) -> None:
    """A non-interactive parent (`bash -c`, a script) shares pyinit's job: Ctrl-Z must stop it
    as well, as it would without pyinit, or the user's shell never sees the job stop."""
    shell = spawn_shell(terminals)
    script = pyinit_in(python_child(ECHO_LOOP)) + "; echo after-$?"
    shell.sendline(shlex.join(["bash", "-c", script]))
    shell.expect_exact("LOOP-READY True")
    shell.sendcontrol("z")
    shell.expect(r"\[1\][+-]? +Stopped +bash -c")
    shell.expect_exact(PROMPT)
    shell.sendline("fg")
    shell.sendline("again")
    shell.expect_exact("echo:again")
    shell.sendeof()
    shell.expect_exact("after-0")


def test_wrapper_started_in_background_leaves_the_terminal_until_fg(terminals: Terminals) -> None:
    shell = spawn_shell(terminals)
    shell.sendline(pyinit_in(python_child(ECHO_LOOP)) + " &")
    shell.expect_exact("LOOP-READY False")  # pyinit did not steal the shell's terminal
    # Its first read stops the child (SIGTTIN); pyinit stops too, so the shell sees the job stop.
    shell.expect(r"\[1\][+-]? +Stopped")
    assert "still-mine" in run_in_shell(shell, "echo still-mine")
    shell.sendline("fg")
    shell.sendline("typed")
    shell.expect_exact("echo:typed")
    shell.sendeof()
    shell.expect_exact(PROMPT)
    assert "status=0" in run_in_shell(shell, "echo status=$?")


def run_script(shell: Pty, tmp_path: Path, body: str) -> None:
    """Start `bash script.sh` (non-interactive: no job control) as the interactive shell's
    foreground job."""
    path = tmp_path / "script.sh"
    path.write_text(body)
    shell.sendline(f"bash {path}")


def expect_read_works(shell: Pty) -> None:
    """The script reads a line from the terminal; it is stopped instead if somebody else's
    group holds the foreground (SIGTTIN: bash prints the job as Stopped)."""
    shell.expect_exact("WAITING-FOR-INPUT")
    shell.sendline("typed")
    shell.expect([r"READ:typed", r"Stopped"])
    assert shell.after == "READ:typed", "the script was stopped at its read"


def test_background_pyinit_in_a_script_leaves_the_terminal(
    terminals: Terminals, tmp_path: Path
) -> None:
    """`pyinit -- cmd &` in a non-interactive script has stdin on /dev/null but shares the
    script's foreground group: pyinit should not hand the terminal to its child (tini decides on
    stdin too), so the script's next read works."""
    shell = spawn_shell(terminals)
    log = tmp_path / "pyinit.log"
    started = f"until grep -q started {log}; do sleep 0.01; done"
    run_script(
        shell,
        tmp_path,
        f"{pyinit_in(['sleep', '100'], '-v')} 2>{log} &\n{started}\n"
        "echo WAITING-FOR-INPUT\nread x\necho READ:$x\nkill $!\nwait\n",
    )
    expect_read_works(shell)
    shell.expect_exact(PROMPT)


# Root without CAP_SETUID/CAP_SETGID: the child takes the terminal, then its --user switch fails.
NO_SETID = "setpriv --bounding-set -setuid,-setgid "


@pytest.mark.parametrize(
    ("line", "status"),
    [
        pytest.param(pyinit_in(["/nonexistent"]), "127", id="enoent"),
        pytest.param(pyinit_in(["/etc/passwd"]), "126", id="eacces"),
        pytest.param(NO_SETID + pyinit_in(["true"], "--user", "nobody"), "125", id="user-switch"),
    ],
)
def test_exec_failure_gives_the_terminal_back(
    terminals: Terminals, tmp_path: Path, line: str, status: str
) -> None:
    """The child takes the terminal before it execs; when the exec (or the set-up before it)
    fails pyinit should take it back, or the script that ran pyinit is stopped at its next
    read."""
    shell = spawn_shell(terminals)
    run_script(
        shell,
        tmp_path,
        f"{line}\necho status=$?\necho WAITING-FOR-INPUT\nread x\necho READ:$x\n",
    )
    shell.expect(r"status=(\d+)")
    assert matched(shell) == status
    expect_read_works(shell)
    shell.expect_exact(PROMPT)


def test_background_pyinit_may_write_with_tostop(terminals: Terminals) -> None:
    """pyinit's own log lines never get it stopped by SIGTTOU (it keeps SIGTTOU blocked)."""
    shell = spawn_shell(terminals)
    run_in_shell(shell, "stty tostop")
    shell.sendline(pyinit_in(["sleep", "100"], "-v") + " &")
    shell.expect_exact(STARTED)
    assert re.search(r"\[1\][+-]? +Running", run_in_shell(shell, "jobs"))
    # One line: given a prompt in between, bash may reap and forget the job (pyinit exits within
    # a millisecond of the SIGTERM), and `wait %1` then fails with 127.
    shell.sendline("kill %1; wait %1; echo status=$?")
    shell.expect(r"status=(\d+)")
    assert matched(shell) == "143"


# -- nobody above pyinit does job control -----------------------------------------------------
@pytest.mark.parametrize("pidns", [WRAPPER, PIDNS])
@pytest.mark.parametrize("how", ["ctrl-z", "sigtstp-to-pyinit"])
def test_stopped_child_waits_for_sigcont_without_job_control(
    terminals: Terminals, pidns: bool, how: str
) -> None:
    """As PID 1, or as a session leader, no shell can resume pyinit: it stays running (and
    answers signals), the child stays stopped until a SIGCONT, which pyinit forwards."""
    child = spawn_pyinit(terminals, ["-v", "--", *python_child(ECHO_LOOP)], pidns)
    child.expect_exact("LOOP-READY True")
    assert child.pid is not None
    pyinit = _pyinit_process(child.pid, pidns)
    if how == "ctrl-z":
        child.sendcontrol("z")
    else:
        pyinit.send_signal(signal.SIGTSTP)
    child.expect_exact("stays stopped until pyinit gets a SIGCONT")
    app = pyinit.children()[0]
    assert app.status() == psutil.STATUS_STOPPED
    assert pyinit.status() != psutil.STATUS_STOPPED
    pyinit.send_signal(signal.SIGCONT)
    sleep_until(lambda: app.status() != psutil.STATUS_STOPPED)
    child.sendline("again")
    child.expect_exact("echo:again")
    child.sendeof()
    _, status = finish(child)
    assert status == 0


def _pyinit_process(session_leader: int, pidns: bool) -> psutil.Process:
    leader = psutil.Process(session_leader)
    if not pidns:
        return leader
    found = sleep_until(leader.children)
    assert isinstance(found, list)
    first = found[0]
    assert isinstance(first, psutil.Process)
    return first


# -- no terminal ----------------------------------------------------------------------------
@pytest.mark.parametrize("pidns", [WRAPPER, PIDNS])
@pytest.mark.parametrize("stdin", ["devnull", "foreign-pty"])
def test_without_a_terminal_nothing_happens(stdin: str, pidns: bool) -> None:
    """/dev/null, or a tty that is not pyinit's controlling terminal: no ioctl errors, and the
    child gets exactly the signals sent to pyinit, job-control ones included."""
    master, slave = os.openpty()
    try:
        with Running(
            ["-vv", "--", *reporter("--exit-on", "SIGTERM")],
            stdin=slave if stdin == "foreign-pty" else subprocess.DEVNULL,
            pidns=pidns,
        ) as run:
            run.ready()
            for signum, name in ((signal.SIGTSTP, "got SIGTSTP"), (signal.SIGCONT, "got SIGCONT")):
                run.send(signum)
                run.expect(name)
            run.send(signal.SIGTERM)
            run.expect("cleanup SIGTERM")
            assert run.wait() == 0
            errors = run.stderr()
    finally:
        os.close(master)
        os.close(slave)
    assert got_lines("\n".join(run.lines)) == ["SIGTSTP", "SIGCONT", "SIGTERM"]
    for word in ("ioctl", "terminal", "Inappropriate", "SIGHUP", "child stopped"):
        assert word not in errors
    assert "forwarded SIGTSTP" in errors
