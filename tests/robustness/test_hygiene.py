"""Part 6: security hygiene. No descriptor of pyinit's reaches a child, the environment passes
through untouched (but for HOME with --user when unset), and a --user child has exactly the
ids and groups asked for, no capabilities, and no way back to root."""

from __future__ import annotations

import grp
import json
import os
import pwd
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from robustlib import PROGRAMS

from helpers import PYINIT, TIMEOUT, Running, reporter

pytestmark = [pytest.mark.robustness, pytest.mark.integration]

# The system interpreter: a dropped-privilege child cannot read the test venv under /root.
SYSTEM_PYTHON = "/usr/bin/python3"
IDENTITY = [SYSTEM_PYTHON, "-I", "-S", str(PROGRAMS / "identity.py")]
needs_system_python = pytest.mark.skipif(
    not os.access(SYSTEM_PYTHON, os.X_OK), reason=f"{SYSTEM_PYTHON} is needed for --user tests"
)
BOTH = pytest.mark.parametrize(
    "pidns",
    [pytest.param(False, id="wrapper"), pytest.param(True, id="pid1", marks=pytest.mark.pidns)],
)
NO_CAPS = "0000000000000000"


def identity_of(run: Running) -> dict[str, object]:
    report = json.loads(run.expect("{"))
    assert isinstance(report, dict)
    return report


@needs_system_python
@BOTH
@pytest.mark.parametrize(
    "options",
    [
        [],
        ["-vv", "--log-format", "json", "--pdeathsig", "TERM", "--timeout", "1h"],
        ["--report", "{tmp}/report.json", "--termination-log", "{tmp}/termination-log"],
        ["--user", "nobody"],
    ],
    ids=["plain", "logging-pdeathsig-timeout", "outcome-files", "user"],
)
def test_no_pyinit_descriptor_reaches_the_child(
    options: list[str], pidns: bool, tmp_path: Path
) -> None:
    read_end, handed_over = os.pipe()  # the one extra descriptor this test passes on purpose
    try:
        args = [option.format(tmp=tmp_path) for option in options]
        with Running([*args, "--", *IDENTITY], pidns=pidns, pass_fds=(handed_over,)) as run:
            fds = identity_of(run)["fds"]
            assert run.wait() == 0
    finally:
        os.close(read_end)
        os.close(handed_over)
    assert isinstance(fds, dict)
    assert sorted(int(fd) for fd in fds) == sorted({0, 1, 2, handed_over})


@needs_system_python
def test_no_pyinit_descriptor_reaches_the_stop_command() -> None:
    """The stop command is started late, after pyinit may have opened more (psutil, /proc)."""
    stop_command = " ".join(IDENTITY)
    args = ["--stop-command", stop_command, "--", *reporter("--exit-on", "TERM")]
    with Running(args) as run:
        child, _ = run.ready()
        run.send(signal.SIGTERM)
        fds = identity_of(run)["fds"]
        os.kill(child, signal.SIGTERM)  # the stop command only reported: end the app ourselves
        assert run.wait() == 0
    assert isinstance(fds, dict)
    assert sorted(int(fd) for fd in fds) == [0, 1, 2]


def environment_seen_by_child(args: list[str], env: dict[bytes, bytes]) -> dict[bytes, bytes]:
    result = subprocess.run(
        [*PYINIT, *args, "--", "/usr/bin/env", "-0"],
        env=env,
        capture_output=True,
        timeout=TIMEOUT,
        check=True,
        start_new_session=True,
    )
    pairs = [entry.partition(b"=") for entry in result.stdout.split(b"\0") if entry]
    return {name: value for name, _, value in pairs}


ODD_ENV = {
    b"PATH": os.environb[b"PATH"],
    b"NOT_UTF8": b"\xff\xfe caf\xe9",
    b"EMPTY": b"",
    b"WITH_EQUALS": b"a=b=c",
    b"PYINIT_SINGLE_CHILD": b"1",  # read by pyinit, still passed on
    b"LD_PRELOAD": b"",
    b"NEWLINE": b"one\ntwo",
}


@pytest.mark.parametrize("args", [[], ["-v", "--log-format", "json", "--single-child"]])
def test_environment_passes_through_byte_for_byte(args: list[str]) -> None:
    assert environment_seen_by_child(args, ODD_ENV) == ODD_ENV


def test_user_sets_home_only_when_unset() -> None:
    nobody_home = pwd.getpwnam("nobody").pw_dir.encode()
    assert environment_seen_by_child(["--user", "nobody"], ODD_ENV) == {
        **ODD_ENV,
        b"HOME": nobody_home,
    }
    with_home = {**ODD_ENV, b"HOME": b"/somewhere/else"}
    assert environment_seen_by_child(["--user", "nobody"], with_home) == with_home


@pytest.fixture(scope="module")
def test_user() -> Iterator[str]:
    """A user with a group of its own and one supplementary group, deleted afterwards."""
    name = f"pyrob{os.getpid()}"
    commands = [
        ["groupadd", f"{name}a"],
        ["groupadd", f"{name}b"],
        ["useradd", "-M", "-U", "-d", f"/nonexistent/{name}", "-s", "/usr/sbin/nologin",
         "-G", f"{name}a", name],
    ]  # fmt: skip
    for command in commands:
        subprocess.run(command, check=True, timeout=TIMEOUT, capture_output=True)
    try:
        yield name
    finally:
        for command in (["userdel", name], ["groupdel", f"{name}a"], ["groupdel", f"{name}b"]):
            subprocess.run(command, check=False, timeout=TIMEOUT, capture_output=True)


def _expected(spec: str) -> tuple[int, int, set[int]]:
    """(uid, gid, groups) worked out independently of pyinit, like initgroups(3) + setgid."""
    user, _, group = spec.partition(":")
    if user.isdigit() and group == "":
        try:
            entry = pwd.getpwuid(int(user))
        except KeyError:
            return int(user), int(user), {int(user)}
    else:
        entry = pwd.getpwnam(user) if not user.isdigit() else pwd.getpwuid(int(user))
    gid = entry.pw_gid
    if group:
        gid = int(group) if group.isdigit() else grp.getgrnam(group).gr_gid
    return entry.pw_uid, gid, set(os.getgrouplist(entry.pw_name, gid))


@needs_system_python
@BOTH
@pytest.mark.parametrize(
    "spec", ["nobody", "65534:65534", "12345", "{user}", "{user}:{user}b", "{user}:{user}a"]
)
def test_user_child_has_exactly_the_ids_asked_for_and_cannot_regain_root(
    spec: str, pidns: bool, test_user: str
) -> None:
    spec = spec.format(user=test_user)
    uid, gid, groups = _expected(spec)
    with Running(["--user", spec, "--", *IDENTITY], pidns=pidns) as run:
        report = identity_of(run)
        assert run.wait() == 0
    status = report["status"]
    assert isinstance(status, dict)
    assert status["Uid"].split() == [str(uid)] * 4  # real, effective, saved, filesystem
    assert status["Gid"].split() == [str(gid)] * 4
    assert {int(g) for g in status["Groups"].split()} == groups
    for capabilities in ("CapPrm", "CapEff", "CapAmb", "CapInh"):
        assert status[capabilities] == NO_CAPS
    assert status["SigBlk"] == NO_CAPS  # an empty mask, same width
    assert report["regain"] == {
        "setuid(0)": "Operation not permitted",
        "setresuid(0, 0, 0)": "Operation not permitted",
        "setgid(0)": "Operation not permitted",
        "setgroups([0])": "Operation not permitted",
    }
    print(f"--user {spec}: {status}", file=sys.stderr)


@pytest.mark.parametrize("lc_ctype", [None, b"C", b"POSIX", b"C.UTF-8"])
def test_python_locale_coercion_does_not_leak_into_the_child(lc_ctype: bytes | None) -> None:
    """In a C locale CPython sets LC_CTYPE=C.UTF-8 in pyinit's own environment at start-up
    (PEP 538); the child must get LC_CTYPE exactly as pyinit did: absent, C, POSIX..."""
    env = {b"PATH": os.environb[b"PATH"]}
    if lc_ctype is not None:
        env[b"LC_CTYPE"] = lc_ctype
    assert environment_seen_by_child([], env) == env
    assert environment_seen_by_child(["--user", "nobody"], {**env, b"HOME": b"/h"}) == {
        **env,
        b"HOME": b"/h",
    }
