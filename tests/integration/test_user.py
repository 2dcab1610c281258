"""--user: the child runs with exactly the intended identity and cannot regain root."""

from __future__ import annotations

import json
import os
import pwd
import sys

import pytest

from helpers import run_pyinit

pytestmark = pytest.mark.integration

PROBE = """
import json, os
status = dict(l.split(":", 1) for l in open("/proc/self/status") if ":" in l)
try:
    os.setuid(0)
    regained = True
except PermissionError:
    regained = False
print(json.dumps({
    "uid": status["Uid"].split(), "gid": status["Gid"].split(),
    "groups": sorted(int(g) for g in status["Groups"].split()),
    "cap_eff": int(status["CapEff"], 16), "cap_prm": int(status["CapPrm"], 16),
    "home": os.environ.get("HOME"), "regained": regained,
}))
"""


def _world_executable_python() -> str:
    """The test venv may live under /root (mode 700), out of an unprivileged user's reach."""
    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3", sys.executable):
        if os.access(candidate, os.X_OK) and _others_can_run(candidate):
            return candidate
    pytest.skip("no Python interpreter that an unprivileged user can run")


def _others_can_run(path: str) -> bool:
    real = os.path.realpath(path)
    parts = real.split("/")
    for depth in range(2, len(parts) + 1):
        mode = os.stat("/".join(parts[:depth]) or "/").st_mode
        if not mode & 0o001:
            return False
    return True


def _probe(args: list[str], env: dict[str, str] | None = None) -> dict[str, object]:
    if os.geteuid() != 0:
        pytest.skip("--user needs root")
    result = run_pyinit([*args, "--", _world_executable_python(), "-c", PROBE], env=env)
    assert result.returncode == 0, result.stderr
    probe: dict[str, object] = json.loads(result.stdout)
    return probe


def test_runs_as_the_user_with_its_groups_and_no_way_back() -> None:
    """--user nobody: real, effective, saved and fs ids all nobody's; no capabilities."""
    entry = pwd.getpwnam("nobody")
    probe = _probe(["--user", "nobody"])
    assert probe["uid"] == [str(entry.pw_uid)] * 4
    assert probe["gid"] == [str(entry.pw_gid)] * 4
    assert probe["groups"] == sorted(set(os.getgrouplist("nobody", entry.pw_gid)))
    assert probe["cap_eff"] == 0
    assert probe["cap_prm"] == 0
    assert probe["regained"] is False


def test_explicit_group_replaces_the_primary_group() -> None:
    """--user nobody:daemon: gid is daemon's; nothing of root's groups is left over."""
    import grp

    daemon = grp.getgrnam("daemon").gr_gid
    probe = _probe(["--user", f"nobody:{daemon}"])
    assert probe["gid"] == [str(daemon)] * 4
    assert 0 not in probe["groups"]  # type: ignore[operator]


def test_numeric_ids_without_passwd_entries() -> None:
    """--user 4321:4322 works without any passwd or group entry."""
    probe = _probe(["--user", "4321:4322"])
    assert probe["uid"] == ["4321"] * 4
    assert probe["gid"] == ["4322"] * 4
    assert probe["groups"] == [4322]


def test_home_is_set_when_missing_or_roots() -> None:
    """HOME becomes the user's home if unset or root's (as a runtime sets it for a root image);
    any other HOME is the operator's choice and stays."""
    home = pwd.getpwnam("nobody").pw_dir
    without_home = {k: v for k, v in os.environ.items() if k != "HOME"}
    assert _probe(["--user", "nobody"], env=without_home)["home"] == home
    root_home = {**os.environ, "HOME": pwd.getpwuid(0).pw_dir}
    assert _probe(["--user", "nobody"], env=root_home)["home"] == home
    assert _probe(["--user", "nobody"], env={**os.environ, "HOME": "/keep"})["home"] == "/keep"


def test_unknown_user_is_a_usage_error() -> None:
    """An unknown user: exit 125 with one line naming it, before anything runs."""
    result = run_pyinit(["--user", "no-such-user-xyz", "--", "true"])
    assert result.returncode == 125
    assert result.stderr == "pyinit: invalid --user: unknown user 'no-such-user-xyz'\n"
