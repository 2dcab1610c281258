"""Drop-in safety (issue 11): swapping tini or dumb-init for pyinit, changing nothing else, never
ends, kills or stops anything earlier than tini would, and keeps every intent the caller expressed
(an ignored signal, a thread-dump request, a dying parent). Run as a wrapper and as PID 1."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from helpers import (
    PYINIT,
    TIMEOUT,
    LineReader,
    Running,
    blocked_at_start,
    reporter,
    run_pyinit,
    session_members,
    sleep_until,
)

pytestmark = pytest.mark.integration

BOTH = pytest.mark.parametrize(
    "pidns",
    [pytest.param(False, id="wrapper"), pytest.param(True, id="pid1", marks=pytest.mark.pidns)],
)


def _ignore_hup() -> None:
    """preexec_fn: what `nohup` and `trap '' HUP` hand down."""
    signal.signal(signal.SIGHUP, signal.SIG_IGN)


def _sig_ign(status_text: str) -> set[int]:
    line = next(line for line in status_text.splitlines() if line.startswith("SigIgn:"))
    mask = int(line.split()[1], 16)
    return {bit + 1 for bit in range(64) if mask >> bit & 1}


# -- 1. the grace period ---------------------------------------------------------------------


def _event(run: Running, name: str) -> str:
    """The next JSON log line (stderr merged into stdout) for event `name`."""
    while True:
        line = run.read_line()
        if line.startswith("{") and json.loads(line).get("event") == name:
            return line


@BOTH
def test_stop_signal_sets_no_deadline_by_default(pidns: bool, tmp_path: Path) -> None:
    """With no setting, a SIGTERM stop has no pyinit SIGKILL: the app (ignoring SIGTERM here)
    ends when it chooses, and the records say no deadline was set and nothing escalated."""
    report = tmp_path / "report.json"
    args = ["--log-format", "json", "--report", str(report), "--"]
    app = reporter("--ignore", "TERM", "--exit-on", "USR2", "--code", "0")
    with Running([*args, *app], pidns=pidns, merge_stderr=True) as run:
        run.ready()
        run.send(signal.SIGTERM)
        begun = json.loads(_event(run, "stop_begun"))
        assert begun["grace_period"] is None
        run.send(signal.SIGUSR2)
        run.expect("cleanup SIGUSR2")
        assert run.wait() == 0
    written = json.loads(report.read_text())
    assert written["schema_version"] == 2  # a nullable grace period is a schema change
    stop = written["stop"]
    assert stop["cause"] == "signal"
    assert stop["grace_period_seconds"] is None
    assert stop["escalated"] is False


@BOTH
def test_grace_period_zero_never_escalates(pidns: bool) -> None:
    """--grace-period 0 means "never SIGKILL", as --timeout 0 means "no limit"."""
    app = reporter("--ignore", "TERM", "--exit-on", "USR2", "--code", "5")
    with Running(["-v", "--grace-period", "0", "--", *app], pidns=pidns, merge_stderr=True) as run:
        run.ready()
        run.send(signal.SIGTERM)
        assert "no SIGKILL" in run.expect("pyinit: info: stopping")
        run.send(signal.SIGUSR2)
        run.expect("cleanup SIGUSR2")
        assert run.wait() == 5


def test_explicit_grace_period_still_bounds_a_signal_stop() -> None:
    """An explicit --grace-period applies to signal stops: the recipe for pyinit's records."""
    with Running(["--grace-period", "0.4", "--", *reporter("--ignore", "TERM")]) as run:
        run.ready()
        started = time.monotonic()
        run.send(signal.SIGTERM)
        assert run.wait() == 137
        assert 0.4 <= time.monotonic() - started < 2.4


def test_timeout_stop_starts_at_once_not_after_the_stop_delay() -> None:
    """--timeout 1s --stop-delay 3s takes about 1 s: the delay is for stop signals only."""
    # The limit counts from pyinit's start: a SIGTERM during the reporter's start-up waits.
    app = [*blocked_at_start("TERM"), *reporter("--exit-on", "TERM", "--code", "0")]
    with Running(["--timeout", "1s", "--stop-delay", "3s", "--", *app]) as run:
        run.ready()
        _, received = run.expect("got SIGTERM").split()[1:]
        run.expect("cleanup SIGTERM")
        assert run.wait() == 124
        # With the delay, pyinit (started after run.started) would send it 1 + 3 s after its start.
        assert float(received) - run.started < 4.0


# -- 2. SIGQUIT ------------------------------------------------------------------------------


@BOTH
def test_sigquit_is_forwarded_and_the_app_keeps_running(pidns: bool, tmp_path: Path) -> None:
    """`kill -3 1` for a JVM thread dump: the app gets SIGQUIT, no stop begins; the later
    SIGTERM is what stops it."""
    report = tmp_path / "report.json"
    app = reporter("--exit-on", "TERM", "--code", "0")
    with Running(["--report", str(report), "--", *app], pidns=pidns) as run:
        run.ready()
        run.send(signal.SIGQUIT)
        run.expect("got SIGQUIT")
        run.send(signal.SIGTERM)
        run.expect("cleanup SIGTERM")
        assert run.wait() == 0
    stop = json.loads(report.read_text())["stop"]
    assert stop["signal"] == "SIGTERM", "SIGQUIT must not have started the stop"


@BOTH
def test_stopsignal_sigquit_still_stops_an_nginx_like_app(pidns: bool) -> None:
    """An image with STOPSIGNAL SIGQUIT: QUIT is forwarded, the app exits, pyinit with it."""
    app = reporter("--exit-on", "QUIT", "--code", "0")
    with Running(["--", *app], pidns=pidns) as run:
        run.ready()
        run.send(signal.SIGQUIT)
        run.expect("cleanup SIGQUIT")
        assert run.wait() == 0


@pytest.mark.parametrize(
    ("via_env", "signum"),
    [(False, signal.SIGQUIT), (True, signal.SIGUSR1)],
    ids=["option-QUIT", "env-USR1"],
)
def test_stop_signals_adds_a_signal_to_the_stop_sequence(via_env: bool, signum: int) -> None:
    """--stop-signals TERM,INT,QUIT (the nginx recipe), or PYINIT_STOP_SIGNALS: the added
    signal gets the stop sequence and its deadline."""
    stop_signals = f"TERM,INT,{signal.Signals(signum).name}"
    env = {**os.environ}
    args = ["--grace-period", "0.4"]
    if via_env:
        env["PYINIT_STOP_SIGNALS"] = stop_signals
    else:
        args += ["--stop-signals", stop_signals]
    with Running([*args, "--", *reporter()], env=env) as run:
        run.ready()
        run.send(signum)
        run.expect("got ")
        assert run.wait() == 137


def test_a_signal_left_out_of_stop_signals_only_forwards() -> None:
    """--stop-signals TERM: SIGINT is forwarded and starts nothing."""
    app = reporter("--exit-on", "TERM", "--code", "0")
    with Running(["-v", "--stop-signals", "TERM", "--", *app], merge_stderr=True) as run:
        run.ready()
        run.send(signal.SIGINT)
        run.expect("got SIGINT")
        run.send(signal.SIGTERM)
        run.expect("cleanup SIGTERM")
        assert run.wait() == 0
    stops = [line for line in run.lines if "stopping (" in line]
    assert len(stops) == 1
    assert "SIGINT" not in " ".join(stops)


# -- 3. inherited ignored signals ------------------------------------------------------------


@BOTH
def test_inherited_ignored_hup_stays_ignored_for_the_app(pidns: bool) -> None:
    """`trap '' HUP; pyinit -- job`: the job starts with SIGHUP ignored, as under tini."""
    result = run_pyinit(["--", "cat", "/proc/self/status"], pidns=pidns, preexec_fn=_ignore_hup)
    assert result.returncode == 0, result.stderr
    assert _sig_ign(result.stdout) == {signal.SIGHUP}


@BOTH
def test_hup_to_pyinit_does_not_kill_a_nohup_job(pidns: bool) -> None:
    """SIGHUP ignored at start is neither forwarded nor a stop: the job survives it and the later
    SIGTERM ends it (143, not 129)."""
    job = ["sh", "-c", "echo ready $$ $$; exec sleep 60"]
    with Running(["--", *job], pidns=pidns, preexec_fn=_ignore_hup) as run:
        run.ready()
        run.send(signal.SIGHUP)
        run.send(signal.SIGTERM)
        assert run.wait() == 128 + signal.SIGTERM


def test_nohup_keeps_the_job_immune_to_hangups() -> None:
    """`nohup pyinit -- job`, the real command."""
    result = run_pyinit(["--", "cat", "/proc/self/status"], prefix=["nohup"])
    assert result.returncode == 0, result.stderr
    assert _sig_ign(result.stdout) == {signal.SIGHUP}


def test_background_job_of_a_script_keeps_int_and_quit_ignored() -> None:
    """A non-interactive shell starts `pyinit -- job &` with SIGINT and SIGQUIT ignored; the job
    keeps them (PIPE and XFSZ, which Python ignores itself, still reach it at default)."""
    script = " ".join([*PYINIT, "--", "cat", "/proc/self/status"]) + " & wait"
    result = subprocess.run(
        ["sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert _sig_ign(result.stdout) == {signal.SIGINT, signal.SIGQUIT}


def test_ignored_sigint_does_not_start_the_stop() -> None:
    """SIGINT ignored at start never reaches pyinit: no stop, the app keeps running."""

    def ignore_int() -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    job = ["sh", "-c", "echo ready $$ $$; exec sleep 60"]
    with Running(["-v", "--", *job], preexec_fn=ignore_int, merge_stderr=True) as run:
        run.ready()
        run.send(signal.SIGINT)
        run.send(signal.SIGTERM)
        assert run.wait() == 128 + signal.SIGTERM
        run.expect("pyinit: info: exiting with")  # pyinit's last line: its whole log is read
    assert not any("SIGINT" in line for line in run.lines)


# -- 4. parent death and the working directory -----------------------------------------------

# Starts pyinit as its child and waits: the "CI runner" of the tests below. (It prints nothing:
# a line of its own would race the app's, which pyinit's start-up only usually delays.)
PARENT = "import subprocess, sys\nsubprocess.Popen(sys.argv[1:]).wait()\n"


class _Adopted(LineReader):
    """The stdout of a process that started pyinit; teardown kills its whole session."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        super().__init__(proc.stdout)
        self.proc = proc

    def ready(self) -> tuple[int, int]:
        _, pid, pgid = self.expect("ready").split()
        return int(pid), int(pgid)

    def __enter__(self) -> _Adopted:
        return self

    def __exit__(self, *exc: object) -> None:
        for pid in [self.proc.pid, *session_members(self.proc.pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.proc.wait(TIMEOUT)
        assert self.proc.stdout is not None
        self.proc.stdout.close()


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.mark.parametrize("option", ["--parent-death-signal", "-p"])
def test_parent_death_runs_the_graceful_stop(option: str) -> None:
    """-p TERM (tini's -p): when the process that started pyinit is SIGKILLed, pyinit gets
    SIGTERM and stops the whole tree gracefully: the app's cleanup runs and pyinit exits."""
    app = reporter("--exit-on", "TERM", "--code", "0")
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, *PYINIT, option, "TERM", "--", *app],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    with _Adopted(parent) as run:
        app_pid, _ = run.ready()
        pyinit_pid = psutil.Process(app_pid).ppid()
        parent.kill()
        parent.wait(TIMEOUT)
        assert run.expect("cleanup") == "cleanup SIGTERM"
        sleep_until(lambda: _gone(pyinit_pid))
        sleep_until(lambda: _gone(app_pid))


@pytest.mark.pidns
def test_parent_death_runs_the_graceful_stop_as_pid_1() -> None:
    """-p TERM as PID 1 (a CI sandbox made with unshare, a runtime's shim): when the process
    outside the namespace that started pyinit dies, the app still gets SIGTERM and cleans up."""
    app = reporter("--exit-on", "TERM", "--code", "0")
    unshare = ["unshare", "--pid", "--fork", "--mount-proc"]  # no --kill-child: -p is the test
    parent = subprocess.Popen(
        [*unshare, *PYINIT, "-p", "TERM", "--", *app],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    with _Adopted(parent) as run:
        run.ready()
        parent.kill()
        parent.wait(TIMEOUT)
        assert run.expect("cleanup") == "cleanup SIGTERM"
        sleep_until(lambda: not session_members(parent.pid))


def test_pdeathsig_kills_the_child_when_pyinit_is_killed() -> None:
    """--pdeathsig KILL: SIGKILL of pyinit itself takes the main child with it."""
    with Running(["--pdeathsig", "KILL", "--", *reporter()]) as run:
        app_pid, _ = run.ready()
        os.kill(run.proc.pid, signal.SIGKILL)
        run.proc.wait(TIMEOUT)
        sleep_until(lambda: _gone(app_pid))


@BOTH
def test_pyinit_leaves_the_start_directory_and_the_app_keeps_it(
    pidns: bool, tmp_path: Path
) -> None:
    """pyinit's own cwd is / (it never keeps a WORKDIR volume busy); the app's is the start
    directory, and a relative --report still lands there."""
    script = "readlink /proc/$PPID/cwd; pwd; echo ready $$ $$; exec sleep 60"
    with Running(
        ["--report", "report.json", "--", "sh", "-c", script], pidns=pidns, cwd=tmp_path
    ) as run:
        assert run.read_line() == "/"
        assert run.read_line() == str(tmp_path)
        run.ready()
        run.send(signal.SIGTERM)
        assert run.wait() == 143
    assert json.loads((tmp_path / "report.json").read_text())["exit_code"] == 143


@pytest.mark.skipif(not shutil.which("setpriv"), reason="needs setpriv (util-linux)")
def test_a_start_directory_pyinit_cannot_search_still_holds_the_app(tmp_path: Path) -> None:
    """pyinit leaves the start directory before the fork and the app re-enters it by descriptor;
    where pyinit cannot do that (no search permission: root without CAP_DAC_OVERRIDE here), the
    app still starts there, as it always did, and pyinit leaves once it has started."""
    no_dac = "-dac_override,-dac_read_search"
    # pyinit leaves right after the spawn here: the app waits (bounded) to see it in /.
    script = (
        'pwd; i=0; while [ "$(readlink /proc/$PPID/cwd)" != / ] && [ $i -lt 1000 ]; do '
        "sleep 0.01; i=$((i + 1)); done; readlink /proc/$PPID/cwd"
    )
    unsearchable = [
        *("setpriv", "--bounding-set", no_dac, "--inh-caps", no_dac),
        *("sh", "-c", 'chmod 000 . && exec "$@"', "sh"),
    ]
    try:
        done = run_pyinit(["--", "sh", "-c", script], prefix=unsearchable, cwd=tmp_path)
    finally:
        tmp_path.chmod(0o755)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [str(tmp_path), "/"]


def test_stop_command_runs_in_the_start_directory(tmp_path: Path) -> None:
    """The stop command, spawned after pyinit moved to /, still starts in the start directory,
    and a relative command name resolves there."""
    stop = tmp_path / "stop.sh"
    stop.write_text("#!/bin/sh\npwd > stop-cwd\nexit 1\n")
    stop.chmod(0o755)
    app = reporter("--exit-on", "TERM", "--code", "0")
    with Running(["--stop-command", "./stop.sh", "--", *app], cwd=tmp_path) as run:
        run.ready()
        run.send(signal.SIGTERM)
        run.expect("cleanup SIGTERM")  # stop.sh failed, so pyinit forwarded SIGTERM after all
        assert run.wait() == 0
    assert (tmp_path / "stop-cwd").read_text().strip() == str(tmp_path)
