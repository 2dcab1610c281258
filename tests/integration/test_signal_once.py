"""Every process gets each stop signal once: an app may take a second SIGTERM mid-drain as
"quit now" (Go's signal.NotifyContext restores the default action after the first)."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from helpers import Running, reporter, until_ready_sh


def _job(tmp_path: Path) -> tuple[str, list[Path]]:
    """A shell whose group holds one reporter, with a second reporter in its own session. Both
    catch SIGTERM and live on, so every SIGTERM they get is written down until the grace
    period's SIGKILL ends them."""
    files = [tmp_path / "in-group", tmp_path / "setsid"]
    in_group = " ".join(reporter("--write-file", str(files[0])))
    detached = " ".join(reporter("--write-file", str(files[1])))
    waits = "; ".join(until_ready_sh(f) for f in files)
    return f"{in_group} & setsid {detached} & {waits}; echo job-ready; ", files


# The window in which a second SIGTERM would be seen: the leftovers live, catching, until the
# deadline's SIGKILL. Also the time each has to report its first one (a loaded machine).
GRACE = 3


def _terms(path: Path) -> int:
    return sum(line.startswith("got SIGTERM") for line in path.read_text().splitlines())


@pytest.mark.parametrize(
    "pidns",
    [
        pytest.param(False, marks=pytest.mark.integration),
        pytest.param(True, marks=pytest.mark.pidns),
    ],
    ids=["wrapper", "pid1"],
)
def test_leftovers_get_one_sigterm_when_the_main_child_exits(tmp_path: Path, pidns: bool) -> None:
    """Main child exits on its own: group members and setsid daemons get exactly one SIGTERM."""
    job, files = _job(tmp_path)
    args = ["--grace-period", str(GRACE), "--", "sh", "-c", job + "exit 3"]
    with Running(args, pidns=pidns) as run:
        assert run.wait() == 3
    assert [_terms(f) for f in files] == [1, 1]


@pytest.mark.parametrize(
    "pidns",
    [
        pytest.param(False, marks=pytest.mark.integration),
        pytest.param(True, marks=pytest.mark.pidns),
    ],
    ids=["wrapper", "pid1"],
)
def test_stop_signal_is_not_repeated_when_the_main_child_dies_of_it(
    tmp_path: Path, pidns: bool
) -> None:
    """SIGTERM kills the shell; its group already got that SIGTERM and must not get another,
    while the setsid daemon, which got nothing, gets one."""
    job, files = _job(tmp_path)
    args = ["--grace-period", str(GRACE), "--", "sh", "-c", job + "wait"]
    with Running(args, pidns=pidns) as run:
        run.expect("job-ready")
        run.send(signal.SIGTERM)
        assert run.wait() == 143
    assert [_terms(f) for f in files] == [1, 1]
