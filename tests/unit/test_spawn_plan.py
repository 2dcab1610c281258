"""What the child is given before the fork: the PATH candidates, and how its failures read."""

from __future__ import annotations

import pytest

from pyinit import execpath, spawn
from pyinit.execpath import exec_candidates
from pyinit.spawn import ChildSetup


@pytest.mark.parametrize(
    ("name", "path", "expected"),
    [
        (b"id", b"/usr/local/bin:/usr/bin", [b"/usr/local/bin/id", b"/usr/bin/id"]),
        (b"id", None, [b"/bin/id", b"/usr/bin/id"]),
        (b"id", b"/a::/b", [b"/a/id", b"id", b"/b/id"]),
        (b"id", b"", [b"id"]),
        (b"id", b"/a/", [b"/a/id"]),
        (b"./id", b"/a", [b"./id"]),
        (b"sub/id", b"/a", [b"sub/id"]),
        (b"", b"/a", []),
    ],
    ids=[
        "path",
        "unset-glibc-default",
        "empty-entry",
        "empty-path",
        "trailing-slash",
        "relative",
        "with-slash",
        "empty-name",
    ],
)
def test_candidates_follow_execvp(name: bytes, path: bytes | None, expected: list[bytes]) -> None:
    """pyinit should try the files glibc's execvp would try, in its order."""
    assert exec_candidates(name, path) == expected


def test_plan_encodes_argv_and_environment_before_the_fork() -> None:
    """Everything the child passes to execve is bytes already: no encoding after the fork."""
    plan = execpath.ExecPlan(["tool", "ä"], {"PATH": "/x", "LANG": "C"})
    assert plan.argv == [b"tool", "ä".encode()]
    assert plan.env == {b"PATH": b"/x", b"LANG": b"C"}
    assert plan.candidates == [b"/x/tool"]
    assert not plan.direct


@pytest.mark.parametrize(
    ("report", "message", "code"),
    [
        (b"exec:2:", "failed to run 'app': No such file or directory", 127),
        (b"exec:13:", "failed to run 'app': Permission denied", 126),
        (b"exec:0:ImportError: no module", "failed to run 'app': ImportError: no module", 125),
        (b"setup:0:MemoryError", "failed to set up 'app': MemoryError", 125),
        (b"setup:0:", "failed to set up 'app': the child failed before exec", 125),
    ],
    ids=["enoent", "eacces", "import-error", "memory-error", "nothing-said"],
)
def test_child_failures_are_named(report: bytes, message: str, code: int) -> None:
    """pyinit should name what stopped the child, never say 'unknown error'."""
    error = spawn._spawn_error(report, ["app"], ChildSetup())
    assert error.message.startswith(message)
    assert error.exit_code == code


def test_describe_names_the_exception_type() -> None:
    """A failure without an errno is reported by type and message."""
    assert spawn._describe(ImportError("x")) == "ImportError: x"
    assert spawn._describe(KeyboardInterrupt()) == "KeyboardInterrupt"
