"""Part 1b, out of process: fuzzed argv (as bytes, non-UTF-8 included) and PYINIT_* through the real
entry point (helpers.PYINIT: `python -m pyinit`, or the installed command).

The in-process verdict of `cli.build_config` on the same input is the oracle: a usage error must
come out as exit 125 with that very line, and a valid input must run the child with exactly its
argv (`printf '%s\\0'` echoes it back byte for byte) and exit 0, or what --remap-exit makes of 0.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess

import pytest
from fuzzlib import LONG, VALUES, any_text, environment, option_words
from hypothesis import event, given, settings
from hypothesis import strategies as st

from pyinit import cli

from helpers import PYINIT

pytestmark = [pytest.mark.robustness, pytest.mark.integration]

PRINTF = ["/usr/bin/printf", "%s\\0"]
# Options whose effects stay inside the run: no files written, no user switch, no time limit.
HARMLESS = {"grace_period", "stop_delay", "rewrite", "remap_exit", "single_child",
            "signal_group", "keep_orphans", "log_format", "verbose", "quiet", "pdeathsig",
            "stop_signals", "parent_death_signal"}  # fmt: skip
HARMLESS_ENV = st.lists(
    st.sampled_from(sorted(HARMLESS)).flatmap(lambda n: st.tuples(st.just(LONG[n].env), VALUES[n])),
    max_size=3,
).map(dict)


def _harmless(words: list[str]) -> bool:
    return not any(w.startswith(("--report", "--termination", "--user", "--timeout", "--stop-c"))
                   for w in words)  # fmt: skip


@st.composite
def pyinit_argv(draw: st.DrawFn) -> tuple[list[str], list[str]]:
    """(pyinit's own words, the child's arguments)."""
    words = [w for group in draw(st.lists(option_words(), max_size=3)) for w in group]
    words = words if _harmless(words) else []
    child_args = draw(st.lists(any_text, max_size=4))
    return [*words, "--", *PRINTF, *child_args], child_args


def _verdict(args: list[str], env: dict[str, str]) -> tuple[int | None, str, object]:
    """What build_config says in process: (exit code or None, stderr, config)."""
    err = io.StringIO()
    with (
        environment(env),
        contextlib.redirect_stderr(err),
        contextlib.redirect_stdout(io.StringIO()),
    ):
        try:
            return None, "", cli.build_config(args, env)
        except SystemExit as exc:
            code = exc.code
    assert isinstance(code, int)
    return code, err.getvalue(), None


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PYINIT_")}
    return subprocess.run(
        [os.fsencode(a) for a in [*PYINIT, *args]],
        env={os.fsencode(k): os.fsencode(v) for k, v in {**clean, **env}.items()},
        capture_output=True,
        timeout=20,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        check=False,
    )


def assert_clean_stderr(stderr: bytes) -> None:
    """Only pyinit's own log lines: text lines `pyinit: ...` or JSON objects, no traceback."""
    assert b"Traceback" not in stderr, stderr
    for line in stderr.splitlines():
        assert line.startswith((b"pyinit: ", b"{")), stderr


@settings(max_examples=int(os.environ.get("ROBUSTNESS_PROCESS_EXAMPLES", "60")), deadline=None)
@given(argv=pyinit_argv(), env=HARMLESS_ENV)
def test_real_entry_point_matches_the_in_process_verdict(
    argv: tuple[list[str], list[str]], env: dict[str, str]
) -> None:
    args, child_args = argv
    code, message, config = _verdict(args, env)
    if config is not None and list(config.command) != [*PRINTF, *child_args]:  # type: ignore[attr-defined]
        return  # e.g. `--keep-orphans yes -- ...` runs `yes`: right, but not this test's child
    event(f"verdict {code}")
    result = _run(args, env)
    assert_clean_stderr(result.stderr)
    if code is None:
        assert config is not None
        assert result.returncode == config.remap_exit.get(0, 0)  # type: ignore[attr-defined]
        expected = b"".join(os.fsencode(a) + b"\0" for a in child_args) if child_args else b"\0"
        assert result.stdout == expected
    elif code == 0:
        assert result.returncode == 0
        assert result.stdout
    else:
        assert (result.returncode, result.stdout) == (125, b"")
        assert result.stderr == os.fsencode(message)


@pytest.mark.parametrize(
    ("command", "code"),
    [
        (["/nonexistent/\udcff\udcfe"], 127),
        (["no-such-command-\udce9"], 127),
        (["/etc/passwd"], 126),  # exists, not executable (EACCES)
        (["/tmp"], 126),  # a directory
    ],
)
def test_commands_that_cannot_run_give_one_line_and_their_code(
    command: list[str], code: int
) -> None:
    result = _run(["--", *command], {})
    assert result.returncode == code
    assert result.stdout == b""
    assert result.stderr.startswith(b"pyinit: ")
    assert result.stderr.count(b"\n") == 1
