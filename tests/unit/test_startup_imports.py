"""The modules pyinit imports to start a command stay light.

Each heavy module costs a Python PID 1 start-up time and memory it keeps for its whole life, so
they are imported only on the paths that need them: click for help and odd input, ctypes for
prctl (subreaper, --pdeathsig), json for JSON logs and reports; psutil never (it was a
dependency). Neither does the idle loop need `signal` (its enums: enum, functools, collections,
~0.7 MB together), contextlib or the collections package: `_signal`, try/except and
`_collections_abc` do the same.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import pyinit

HEAVY = (
    "click",
    "psutil",
    "ctypes",
    "json",
    "dataclasses",
    "typing",
    "signal",
    "enum",
    "contextlib",
    "collections",
    "functools",
    "warnings",
)

# Parse and configure the way `pyinit -- true` does, and load everything the supervisor needs,
# without running it.
PROBE = """
import sys
sys.path.insert(0, sys.argv.pop(1))
from pyinit import signals
signals.block_handled()
from pyinit.cli import build_config
import pyinit.supervisor
config = build_config(["--", "true"], {})
print(" ".join(sorted(name for name in sys.modules if name.split(".")[0] in sys.argv[1:])))
"""


def loaded_after_startup(*names: str) -> set[str]:
    """Run with -I -S: site (an editable install's import hook) would load some of them first."""
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", PROBE, str(Path(pyinit.__file__).parents[1]), *names],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    return set(done.stdout.split())


@pytest.mark.parametrize("module", HEAVY)
def test_start_up_path_does_not_import(module: str) -> None:
    assert loaded_after_startup(module) == set()


def test_probe_sees_what_is_imported() -> None:
    assert loaded_after_startup("pyinit") >= {"pyinit.supervisor", "pyinit.spawn", "pyinit.signals"}
