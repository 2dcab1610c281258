"""The loop: spawn the main child, then wait for signals and deadlines and act on them.

Invariants:
- pyinit is single-threaded and has no signal handlers; signals are consumed only by
  `signals.wait_signal`, so none is lost between the spawn and the first wait.
- `reaper.reap_children` runs after every wake-up and is the only waitpid caller.
- A pid is signalled only until it is reaped (after that the kernel may reuse it).
- Once the main child exists, no exception leaves `run` without the tree being killed and reaped.
"""

from __future__ import annotations

import os
import time

from pyinit import exit_codes, outcome, reaper, signals, state, tree
from pyinit.errors import SpawnError
from pyinit.log import DEBUG, Log, level_for
from pyinit.procfs import Dispositions
from pyinit.signals import signal_name
from pyinit.spawn import ChildSetup, child_environment, spawn_child
from pyinit.terminal import Terminal

TYPE_CHECKING = False
if TYPE_CHECKING:
    import signal

    from pyinit.config import Config
else:
    import _signal as signal  # plain-int constants without enum: see pyinit.signals

MAX_CONSECUTIVE_ERRORS = 20
# Where a forwarded signal went (`Supervisor._send_to_child`); "" is nowhere.
PID, GROUP = "pid", "group"
_SIGCONT = int(signal.SIGCONT)


def run(config: Config) -> int:
    """Supervise config.command to the end; return the exit code (never raises)."""
    log = Log(
        level_for(config.verbose, config.quiet, config.log_format == "json"),
        config.log_format == "json",
    )
    return Supervisor(config, log).run()


class Supervisor:
    def __init__(self, config: Config, log: Log) -> None:
        self.config = config
        self.log = log
        self.pid = os.getpid()
        self.is_pid1 = self.pid == 1
        self.terminal = Terminal.detect()
        self.record = outcome.Outcome(config.command)
        # A signal the caller ignored never reaches pyinit (signals.block_handled), so it cannot
        # start the stop either.
        stop_signals = config.stop_signals - signals.INHERITED_IGNORED
        self.state = state.State(
            time.monotonic(), config.grace_periods, config.stop_delay, config.timeout, stop_signals
        )
        self.main_pid = 0
        self.main_alive = False
        self.stop_command_pid: int | None = None
        self.start_directory = _current_directory()
        self.env = child_environment(config.user)
        # Text logs stay short (stop signals only, unless -vv); JSON records every signal.
        self.log_every_signal = config.log_format == "json" or log.enabled(DEBUG)
        # Signals whose whole handling is "pass it on unchanged": forwarded before any
        # bookkeeping, because every microsecond before the kill is the app's latency.
        self.plain_signals = (
            signals.FORWARDED - stop_signals - {signal.SIGCONT} - set(config.rewrite)
        )
        # The default ("auto") forwarding: the main child's dispositions, read per signal while it
        # is unreaped. None with -g or --single-child, or where /proc cannot tell: the group.
        self.dispositions: Dispositions | None = None
        # Where the stop signal went: the rest of the group still needs the leftovers' SIGTERM
        # when the main child exits if the stop signal reached the main child alone.
        self.stop_reached: set[str] = set()

    # -- lifecycle -------------------------------------------------------------------------
    def run(self) -> int:
        self._become_reaper()
        parent_gone = self._watch_parent()
        start_fd = self._leave_start_directory()
        try:
            self.main_pid = spawn_child(self.config.command, self._setup(True, start_fd))
        except SpawnError as exc:
            # The child may have taken the terminal before it failed: the shell that started
            # pyinit must get it back, or its next read stops it with SIGTTIN.
            self.terminal.take_back(exc.pid)
            reaper.reap_children()
            self.record.reason, self.record.error = outcome.EXEC_FAILED, exc.message
            self.log.error("exec_failed", exc.message, command=list(self.config.command))
            return self._finish(exc.exit_code)
        except OSError as exc:  # fork itself failed: EAGAIN under a pids limit, ENOMEM
            self.record.reason, self.record.error = outcome.INTERNAL_ERROR, str(exc)
            self.log.error("spawn_failed", f"failed to start the command: {exc.strerror}")
            return self._finish(exit_codes.PYINIT_FAILED)
        finally:
            _close(start_fd)
        self.main_alive = True
        if not (self.config.single_child or self.config.signal_group):
            self.dispositions = Dispositions.open(self.main_pid)
        self.record.main_pid = self.main_pid
        self.log.info(
            "child_started",
            f"started {self.config.command[0]!r} as pid {self.main_pid}",
            pid=self.main_pid,
            command=list(self.config.command),
            pid1=self.is_pid1,
        )
        if start_fd is None:
            self._chdir_root()
        if parent_gone:
            self._on_parent_gone()
        try:
            self._loop()
        except BaseException as exc:  # the loop is broken: never leave the tree running
            return self._emergency_exit(exc)
        return self._finish(self._main_exit_code())

    def _become_reaper(self) -> None:
        if self.is_pid1:
            return
        try:
            from pyinit import prctl

            prctl.become_subreaper()
        except OSError as exc:
            self.log.warning(
                "subreaper_failed",
                f"failed to become a child subreaper: {exc.strerror}; orphans of the command "
                "will not be reaped or stopped by pyinit (run it as PID 1, or on Linux >= 3.4)",
            )

    def _watch_parent(self) -> bool:
        """--parent-death-signal: the kernel sends it to pyinit when its parent dies (tini -p),
        as PID 1 too (the parent is then the runtime's shim, or `unshare` in a CI sandbox).
        Returns True if the parent died before that took effect and the kernel will not send it:
        pyinit was re-parented and the signal is not pending already."""
        signum = self.config.parent_death_signal
        if signum is None:
            return False
        from pyinit import prctl

        try:
            prctl.set_pdeathsig(signum)
        except OSError as exc:
            self.log.warning(
                "parent_death_signal_failed",
                f"failed to set the parent-death signal: {exc.strerror}",
            )
            return False
        if self.is_pid1:  # getppid() is 0 when the parent is outside the namespace: no race check
            return False
        # If the parent died between prctl and getppid, the kernel queued the signal itself:
        # acting on it here as well would forward it twice (a second SIGTERM means "quit now").
        return os.getppid() != signals.PARENT_AT_START and signum not in signal.sigpending()

    def _on_parent_gone(self) -> None:
        """Act as if the parent-death signal had arrived: it was due before prctl took effect."""
        signum = self.config.parent_death_signal
        assert signum is not None
        self.log.info(
            "parent_gone",
            f"parent {signals.PARENT_AT_START} died during start-up; acting on "
            + signal_name(signum),
            signal=signal_name(signum),
        )
        if signum not in signals.HANDLED:  # KILL, STOP or a fault: what the kernel would do
            os.kill(self.pid, signum)
            return
        if signum == signal.SIGCHLD or signum in signals.INHERITED_IGNORED:
            return
        self.record.count(self.record.received, signum)
        self._perform(self.state.on_signal(signum, time.monotonic()))

    def _leave_start_directory(self) -> int | None:
        """Never keep the start directory busy: a volume as WORKDIR could not be unmounted while
        pyinit runs (dumb-init moves to / as well). pyinit leaves before the fork, so not even
        the app's first instruction finds it there; the main child goes back through the
        returned descriptor (that very directory, even if renamed since). None if it cannot be
        held: the child then inherits it and pyinit leaves once the child has started. The stop
        command goes back by path (ChildSetup.cwd); paths pyinit writes are absolute."""
        try:
            fd = os.open(".", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            os.fchdir(fd)  # the child's fchdir, with the same rights: proven to work before leaving
        except OSError:
            os.close(fd)
            return None
        self._chdir_root()  # should / be out of reach, pyinit stays and the child's fchdir is moot
        return fd

    def _chdir_root(self) -> None:
        try:
            os.chdir("/")
        except OSError as exc:
            self.log.debug("chdir_failed", f"failed to change directory to /: {exc.strerror}")

    def _setup(self, for_main: bool, start_fd: int | None = None) -> ChildSetup:
        return ChildSetup(
            user=self.config.user,
            pdeathsig=self.config.pdeathsig if for_main else None,
            terminal_fd=self.terminal.handoff_fd() if for_main else None,
            env=self.env,
            cwd=start_fd if for_main else self.start_directory,
        )

    def _loop(self) -> None:
        errors = 0
        while not self.state.done:
            try:
                self._step()
                errors = 0
            except Exception as exc:  # PID 1 must outlive its own bugs: log, keep supervising
                errors += 1
                self.log.error("internal_error", f"internal error (continuing): {exc!r}")
                if errors >= MAX_CONSECUTIVE_ERRORS:
                    raise

    def _step(self) -> None:
        info = signals.wait_signal(self.state.next_timeout(time.monotonic()))
        if info is not None:
            self._on_signal(info)
        self._on_reaped(reaper.reap_children())
        self._perform(self.state.on_tick(time.monotonic()))

    # -- events ----------------------------------------------------------------------------
    def _on_signal(self, info: signal.struct_siginfo) -> None:
        signum = info.si_signo
        if signum == signal.SIGCHLD:
            return
        if info.si_pid == self.pid and info.si_code <= 0:
            # pyinit's own EPIPE/EFBIG raise SIGPIPE/SIGXFSZ at itself: not the app's business.
            # Not logged either: the failed log write is what raised it.
            return
        if signum in self.plain_signals and self.main_alive and not self.state.done:
            # What state.on_signal would answer for these ([FORWARD]), without its cost.
            reached = self._send_to_child(signum)
            self._note_received(info)
            if reached:
                self._note_forwarded(signum, signum, reached)
            return
        self._note_received(info)
        if signum == signal.SIGCONT and self.main_alive:
            self.terminal.hand_to(self.main_pid)
        self._perform(self.state.on_signal(signum, time.monotonic()))

    def _note_received(self, info: signal.struct_siginfo) -> None:
        signum = info.si_signo
        self.record.count(self.record.received, signum)
        if self.log_every_signal or signum in self.state.stop_signals:
            self.log.info(
                "signal_received",
                f"received {signal_name(signum)} from pid {info.si_pid}",
                signal=signal_name(signum),
                sender=info.si_pid,
            )

    def _note_forwarded(self, signum: int, target: int, reached: str) -> None:
        self.record.count(self.record.forwarded, target)
        if self.log_every_signal or signum in self.state.stop_signals:
            self.log.info(
                "signal_forwarded",
                f"forwarded {signal_name(target)} to {reached} {self.main_pid}",
                signal=signal_name(target),
                pid=self.main_pid,
                group=reached == GROUP,
            )

    def _on_reaped(self, reaped: reaper.Reaped) -> None:
        if self.main_alive and self.main_pid in reaped.stopped:
            self._follow_stopped_child()
        for pid, status in reaped.exited:
            if pid == self.main_pid and self.main_alive:  # once reaped, the pid may come back
                self._on_main_exit(status, reaped.children_left)
            elif pid == self.stop_command_pid:
                self._on_stop_command_exit(status)
            else:
                self.log.debug(
                    "orphan_reaped",
                    f"reaped pid {pid} (exit {exit_codes.from_wait_status(status)})",
                    pid=pid,
                )
        if not reaped.children_left:
            self.state.on_children_gone()

    def _on_main_exit(self, status: int, children_left: bool) -> None:
        self.main_alive = False
        if self.dispositions is not None:
            self.dispositions.close()
            self.dispositions = None
        self.record.main_status = status
        code = exit_codes.from_wait_status(status)
        self.log.info(
            "child_exited",
            f"main child {self.main_pid} exited with {code}"
            + (", others still running" if children_left else ""),
            pid=self.main_pid,
            exit_code=code,
            children_left=children_left,
        )
        self.terminal.take_back(self.main_pid)
        self._perform(
            self.state.on_main_exit(
                status, time.monotonic(), children_left, self.config.keep_orphans
            )
        )

    def _follow_stopped_child(self) -> None:
        """Job control as a wrapper in an interactive shell: when the app is stopped (Ctrl-Z),
        stop pyinit too so the shell sees its job stop; the shell's SIGCONT resumes us and we
        pass it on. With no terminal (CI) there is no job control to serve. As PID 1 or session
        leader nobody could resume a stopped pyinit (and it would stop answering signals), so
        the child alone stays stopped until a SIGCONT, which pyinit forwards."""
        if self.terminal.fd is None:
            return
        if self.is_pid1 or not self.terminal.has_job_control():
            self.log.warning(
                "child_stopped",
                "main child stopped; it stays stopped until pyinit gets a SIGCONT "
                "(no job control above pyinit)",
            )
            return
        self.log.info("suspended", "main child stopped; stopping pyinit too (job control)")
        self.terminal.take_back(self.main_pid)
        # The whole group, as Ctrl-Z would have: a `bash -c`/script parent or a pipeline peer
        # in pyinit's job must stop too, or the shell never sees the job stop.
        os.killpg(os.getpgrp(), signal.SIGSTOP)

    # -- actions ---------------------------------------------------------------------------
    def _perform(self, actions: list[state.Action]) -> None:
        for kind, signum in actions:
            if kind == state.FORWARD:
                self._forward(signum)
            elif kind == state.STOP:
                self._stop(signum)
            elif kind == state.DELAY_BEGUN:
                self.log.info(
                    "stop_delay_begun",
                    f"{signal_name(signum)}: waiting {self.config.stop_delay:g}s before stopping",
                    signal=signal_name(signum),
                    delay=self.config.stop_delay,
                )
            elif kind == state.DELAY_ENDED:
                self.log.info("stop_delay_ended", "stop delay over", signal=signal_name(signum))
            elif kind in (state.TERM_ALL, state.TERM_OUTSIDERS):
                # Unless a stop signal reached the whole group, the rest of the group never got
                # one: --single-child, a main child that handles it, a --stop-command, a DROP.
                self._term_leftovers(kind == state.TERM_ALL or GROUP not in self.stop_reached)
            elif kind == state.KILL_ALL:
                self._kill_everything()
            elif kind == state.GIVE_UP:
                self.log.error(
                    "kill_timeout",
                    f"processes survived SIGKILL for {state.KILL_WAIT:g}s; exiting anyway",
                )

    def _forward(self, signum: int) -> None:
        target = self.config.rewrite.get(signum, signum)
        if target == 0:  # DROP
            name = signal_name(signum)
            self.log.info("signal_dropped", f"dropped {name} (--rewrite)", signal=name)
            return
        if target != signum:
            name = signal_name(signum)  # not before: a plain forward never needs it
            self.log.info(
                "signal_rewritten",
                f"rewrote {name} to {signal_name(target)}",
                signal=name,
                to=signal_name(target),
            )
        reached = self._send_to_child(target)
        if reached:
            self._note_forwarded(signum, target, reached)
            # The stop's own signal counts too: --timeout sends SIGTERM even when it is not one
            # of --stop-signals, and the group must not get a second one as leftovers.
            if signum in self.state.stop_signals or signum == self.state.stop_signal:
                self.stop_reached.add(reached)

    def _send_to_child(self, signum: int) -> str:
        """Send signum to the main child (PID) or its whole group (GROUP); return which, or ""
        if nobody was left to get it. By default (neither --single-child nor -g) the group gets
        it only while the main child leaves it at the default action: a main child that catches
        or ignores a signal has taken charge of it, and its group members (a shell's background
        jobs, an app's workers) get it from the main child if at all, as under tini without -g.
        A shell running `app; echo done` catches nothing but SIGCHLD, so the app behind it still
        gets the SIGTERM. SIGCONT always goes to the group: it ends nothing, and Ctrl-Z stopped
        the whole group."""
        dispositions = self.dispositions
        if self.config.single_child or (
            dispositions is not None and signum != _SIGCONT and dispositions.handles(signum)
        ):
            reached = PID if self.main_alive and _kill(self.main_pid, signum) else ""
        elif tree.signal_group(signum, self.main_pid, self.main_alive, self.is_pid1):
            reached = GROUP
        else:
            reached = ""
        if not reached:
            self.log.debug("forward_failed", f"no process left to get {signal_name(signum)}")
        return reached

    def _stop(self, signum: int) -> None:
        record = self.record
        if record.stop_signal is None:
            record.stop_signal, record.stop_cause = signum, self.state.stop_cause
        self.log.info(
            "stop_begun",
            f"stopping ({self.state.stop_cause}); {self._until_kill()}",
            signal=signal_name(signum),
            cause=self.state.stop_cause,
            grace_period=self.state.grace,
        )
        if self.config.stop_command is None or not self._run_stop_command():
            self._forward(signum)
        self._resume_if_stopped()

    def _resume_if_stopped(self) -> None:
        """A stopped app (kill -STOP, a debugger, Ctrl-Z with nobody to resume it) cannot act on
        the stop signal and would only meet the deadline SIGKILL; systemd sends SIGCONT too."""
        if self.main_alive and tree.is_stopped(self.main_pid):
            self.log.info("resumed", "main child was stopped: sent SIGCONT so it can stop")
            self._send_to_child(signal.SIGCONT)

    def _run_stop_command(self) -> bool:
        command = self.config.stop_command
        assert command is not None
        try:
            self.stop_command_pid = spawn_child(command, self._setup(for_main=False))
        except (SpawnError, OSError) as exc:
            message = exc.message if isinstance(exc, SpawnError) else str(exc)
            self.log.warning("stop_command_failed", f"{message}; forwarding the signal instead")
            return False
        self.log.info(
            "stop_command_started",
            f"ran stop command {' '.join(command)!r} as pid {self.stop_command_pid}",
            command=list(command),
            pid=self.stop_command_pid,
        )
        return True

    def _on_stop_command_exit(self, status: int) -> None:
        code = exit_codes.from_wait_status(status)
        self.stop_command_pid = None
        self.log.info("stop_command_exited", f"stop command exited with {code}", exit_code=code)
        if code != 0 and self.state.stop_signal is not None and self.main_alive:
            self.log.warning(
                "stop_command_failed",
                f"stop command exited with {code}; forwarding "
                f"{signal_name(self.state.stop_signal)} instead",
            )
            self._forward(self.state.stop_signal)

    def _term_leftovers(self, include_group: bool) -> None:
        """The main child is gone but others remain: SIGTERM them, grace period running."""
        found = tree.signal_everything(
            signal.SIGTERM,
            self.main_pid,
            self.is_pid1,
            self.log,
            include_group,
            self.main_alive,
            spare_group=self.stop_command_pid,
        )
        tree.resume_stopped(found, self.log)
        self.log.info(
            "leftovers_terminated",
            f"sent SIGTERM to {len(found)} leftover process(es); {self._until_kill()}",
            processes=[info.as_dict() for info in found],
        )

    def _kill_everything(self) -> None:
        killed = tree.signal_everything(
            signal.SIGKILL, self.main_pid, self.is_pid1, self.log, leader_alive=self.main_alive
        )
        known = {info.pid for info in self.record.killed}
        fresh = [info for info in killed if info.pid not in known]
        if not fresh:
            return
        self.record.killed.extend(fresh)
        self.log.warning(
            "escalated",
            "grace period over; SIGKILLed " + ", ".join(str(info) for info in fresh),
            killed=[info.as_dict() for info in fresh],
        )

    def _until_kill(self) -> str:
        kill_at = self.state.kill_at
        if kill_at is None:
            return "no SIGKILL from pyinit (no grace period set)"
        return f"SIGKILL in {max(0.0, kill_at - time.monotonic()):.3g}s"

    # -- the end ---------------------------------------------------------------------------
    def _main_exit_code(self) -> int:
        status = self.state.main_status
        return exit_codes.PYINIT_FAILED if status is None else exit_codes.from_wait_status(status)

    def _emergency_exit(self, exc: BaseException) -> int:
        self.log.error("internal_error", f"pyinit cannot go on ({exc!r}); killing the tree")
        self.record.reason, self.record.error = outcome.INTERNAL_ERROR, repr(exc)
        try:
            tree.signal_everything(
                signal.SIGKILL, self.main_pid, self.is_pid1, self.log, leader_alive=self.main_alive
            )
            deadline = time.monotonic() + state.KILL_WAIT
            while reaper.reap_children().children_left and time.monotonic() < deadline:
                signals.wait_signal(state.KILL_RESCAN)
        except BaseException as again:
            self.log.error("internal_error", f"cleanup failed too: {again!r}")
        return self._finish(exit_codes.PYINIT_FAILED, internal=True)

    def _finish(self, code: int, internal: bool = False) -> int:
        record, st = self.record, self.state
        record.ended_wall = time.time()
        record.timed_out, record.escalated = st.timed_out, st.escalated
        record.grace_period = st.grace
        if st.stop_began is not None:
            record.stop_cause = st.stop_cause
            record.stop_signal = record.stop_signal or st.stop_signal
            record.stop_duration = time.monotonic() - st.stop_began
        if not internal and record.reason != outcome.EXEC_FAILED:
            record.reason = self._reason()
        record.exit_code = exit_codes.final(
            code, timed_out=st.timed_out, remap=self.config.remap_exit
        )
        self._write_records()
        self.log.info(
            "pyinit_exit",
            f"exiting with {record.exit_code} ({record.reason})",
            exit_code=record.exit_code,
            reason=record.reason,
        )
        return record.exit_code

    def _reason(self) -> str:
        st = self.state
        if st.timed_out:
            return outcome.TIMED_OUT
        if st.escalated and st.main_alive_at_kill:
            return outcome.ESCALATED
        if st.stop_cause in ("signal", "timeout"):
            return outcome.STOPPED
        status = st.main_status
        if status is not None and os.WIFSIGNALED(status):
            return outcome.SIGNALLED
        return outcome.EXITED

    def _write_records(self) -> None:
        try:
            if self.config.termination_log:
                outcome.write_termination_log(
                    self.config.termination_log, self.record.termination_message(), self.log
                )
            if self.config.report:
                outcome.write_report(self.config.report, self.record.report(), self.log)
        except Exception as exc:  # a record must never change the exit code
            self.log.error("record_failed", f"failed to write the outcome: {exc!r}")


def _current_directory() -> str | None:
    try:
        return os.getcwd()
    except OSError:  # removed under us: the stop command then runs where pyinit is
        return None


def _close(fd: int | None) -> None:
    if fd is not None:
        os.close(fd)


def _kill(pid: int, signum: int) -> bool:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        return False
    return True
