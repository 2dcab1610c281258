"""The handled signals are blocked before pyinit imports anything that costs time.

Until they are blocked, a SIGTERM sent to pyinit as PID 1 is dropped by the kernel, so `main`
blocks them before it imports any module (through `_signal`, which is built in), and bin/pyinit
does so as its first statement, before it even looks for the package.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyinit
from pyinit import signals
from pyinit.__main__ import handled_early

# Runs the entry point as `python -m pyinit -- true` would, once runpy has imported the package,
# and prints each module it imports with whether the handled signals were blocked by then. Run
# with -I -S so that no site hook (an editable install's import finder) imported them already.
PROBE = """
import _signal, os, sys
sys.path.insert(0, sys.argv[1])
from pyinit.__main__ import main, handled_early
PYINIT = os.getpid()

class Spy:
    def find_spec(self, name, path=None, target=None):
        if os.getpid() == PYINIT:  # not the forked child, which unblocks before its exec
            blocked = _signal.pthread_sigmask(_signal.SIG_BLOCK, [])
            state = "after-block" if blocked >= handled_early() else "before-block"
            print(name, state, flush=True)
        return None

sys.meta_path.insert(0, Spy())
sys.argv = ["pyinit", "--", "true"]
main()
"""


def test_early_set_is_the_handled_set() -> None:
    assert handled_early() == set(signals.HANDLED)


def test_main_blocks_the_handled_signals_before_any_import() -> None:
    """pyinit should import nothing (signals, cli, supervisor ...) before the block."""
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", PROBE, str(Path(pyinit.__file__).parents[1])],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    imports = dict(line.split() for line in done.stdout.splitlines())
    assert {"pyinit.signals", "pyinit.supervisor"} <= set(imports)
    assert set(imports.values()) == {"after-block"}


# Runs bin/pyinit's code as its shebang would, under a spy that records the blocked set at the
# first import the script triggers (with -S that is `site`, which then sets up the paths).
SCRIPT_PROBE = """
import _signal, sys
script = sys.argv[1]
sys.path.append(sys.argv[2])

class Spy:
    seen = None
    def find_spec(self, name, path=None, target=None):
        if Spy.seen is None:
            Spy.seen = sorted(_signal.pthread_sigmask(_signal.SIG_BLOCK, []))
            print("first-import", name, *Spy.seen, flush=True)
        return None

sys.meta_path.insert(0, Spy())
sys.argv = [script, "--", "true"]
code = compile(open(script).read(), script, "exec")
exec(code, {"__name__": "__main__", "__file__": script})
"""


def test_script_blocks_the_handled_set_before_its_first_import() -> None:
    """bin/pyinit should block exactly signals.HANDLED before it imports anything."""
    script = Path(__file__).resolve().parents[2] / "bin" / "pyinit"
    done = subprocess.run(
        [
            sys.executable,
            "-I",
            "-S",
            "-c",
            SCRIPT_PROBE,
            str(script),
            str(Path(pyinit.__file__).parents[1]),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    first = done.stdout.split("\n")[0].split()
    assert first[:1] == ["first-import"]
    assert {int(number) for number in first[2:]} == set(signals.HANDLED)
