"""The handled signals are blocked before pyinit imports anything that costs time.

Until they are blocked, a SIGTERM sent to pyinit as PID 1 is dropped by the kernel, so the block
comes before even `signal` and `enum` are imported (`signal` alone takes milliseconds).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyinit
from pyinit import signals
from pyinit.__main__ import handled_early

# Records the blocked set at the moment `enum` or `signal` is first imported, then runs the entry
# point as `python -m pyinit -- true` would. Run with -I -S so that no site hook (an editable
# install's import finder) has imported them already.
PROBE = """
import _signal, sys
sys.path.insert(0, sys.argv[1])
print("preloaded", *sorted({"enum", "signal"} & set(sys.modules)), flush=True)

class Spy:
    seen = {}
    def find_spec(self, name, path=None, target=None):
        if name in ("enum", "signal") and name not in self.seen:
            blocked = _signal.pthread_sigmask(_signal.SIG_BLOCK, [])
            self.seen[name] = _signal.SIGTERM in blocked and _signal.SIGCHLD in blocked
            print(name, "after-block" if self.seen[name] else "before-block", flush=True)
        return None

sys.meta_path.insert(0, Spy())
sys.argv = ["pyinit", "--", "true"]
from pyinit.__main__ import main
main()
"""


def test_early_set_is_the_handled_set() -> None:
    assert handled_early() == set(signals.HANDLED)


def test_signals_are_blocked_before_signal_and_enum_are_imported() -> None:
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", PROBE, str(Path(pyinit.__file__).parents[1])],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    lines = set(done.stdout.split("\n")) - {""}
    assert lines == {"preloaded", "enum after-block", "signal after-block"}


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
