"""An interactive bash on a pseudo-terminal, as the tty tests and the Docker tty tests drive it:
the prompt, the job-control warnings bash prints when it cannot have the terminal, the
Ctrl-Z / `fg` round trip both suites check, and the app both suites end with Ctrl-C."""

from __future__ import annotations

import pexpect

TYPE_CHECKING = False
if TYPE_CHECKING:
    Pty = pexpect.spawn[str]

PROMPT = "PROMPT$ "
WARNINGS = ("cannot set terminal process group", "no job control in this shell")
# A Python app that says whether it owns the terminal, then sleeps with SIGINT at its default
# action, so Ctrl-C ends it in the kernel with 130. Not Python's KeyboardInterrupt: its handler
# only sets a flag that the interpreter acts on at its next check, and a ^C landing after the
# last check before time.sleep's system call waits out the whole sleep (proved by delaying that
# call in user space with an LD_PRELOAD shim).
SLEEPER = (
    "import os, signal, time\n"
    "signal.signal(signal.SIGINT, signal.SIG_DFL)\n"
    "print('FG', os.tcgetpgrp(0) == os.getpgrp(), flush=True)\n"
    "time.sleep(60)\n"
)


def run_in_shell(shell: Pty, command: str) -> str:
    """Run a quick command at the prompt; return what it printed."""
    shell.sendline(command)
    shell.expect_exact(PROMPT)
    return str(shell.before)


def finish(child: Pty) -> tuple[str, int | None]:
    """Read to EOF; return everything printed since the last match, and the exit code."""
    child.expect(pexpect.EOF)
    rest = str(child.before)
    child.close()
    return rest, child.exitstatus


def stop_resume_and_exit(shell: Pty, code: int) -> tuple[str, int | None]:
    """Ctrl-Z a foreground job, `fg` it and check it reads the terminal again, then `exit code`;
    return what `finish` returns."""
    shell.sendline("sh -c 'echo JOB-READY; exec cat'")
    shell.expect_exact("JOB-READY\r\n")  # printed by the job itself: it is in the foreground
    shell.sendcontrol("z")
    shell.expect(r"Stopped +sh -c")
    shell.expect_exact(PROMPT)
    shell.sendline("fg")
    shell.expect_exact("exec cat")
    shell.sendline("ping")
    shell.expect_exact("ping\r\nping\r\n")  # the tty's echo, then cat's copy
    shell.sendeof()
    shell.expect_exact(PROMPT)
    shell.sendline(f"exit {code}")
    return finish(shell)
