"""The benchmark harness runs end to end in smoke mode and writes complete, valid JSON.

It asserts that every metric was measured for pyinit, never how fast anything was.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import pidns_available

HARNESS = Path(__file__).resolve().parents[2] / "bench" / "run.py"
METRICS = (
    "idle_wakeups",
    "startup",
    "startup_window",
    "forwarding_latency",
    "reaping",
    "memory",
    "stop_latency",
)

pytestmark = [pytest.mark.bench, pytest.mark.pidns]


@pytest.mark.timeout(150)
def test_smoke_run_measures_every_metric_for_pyinit(tmp_path: Path) -> None:
    if pidns_available() is not None:
        pytest.skip(f"needs a PID namespace: {pidns_available()}")
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, str(HARNESS), "--smoke", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["mode"] == "smoke"
    assert {"pyinit", "pyinit -IS", "pyinit -m"} <= set(report["inits"]["measured"])
    assert {
        "window_x_floor",
        "window_IS_x_floor",
        "window_m_x_floor",
        "RssAnon_over_floor_kib",
        "VmHWM_over_floor_kib",
    } <= set(report["targets"])
    metrics = report["metrics"]
    assert set(metrics) == set(METRICS)
    for name in METRICS:
        if name == "startup_window" and shutil.which("strace") is None:
            assert "strace" in metrics[name]["skipped"]
            continue
        assert "pyinit" in metrics[name]["results"], name
    results = {
        name: metrics[name]["results"]["pyinit"] for name in METRICS if "results" in metrics[name]
    }
    assert results["startup"]["wall_ms"]["n"] == report["plan"]["startup"]
    assert results["startup"]["failures"] == 0
    assert results["forwarding_latency"]["us"]["n"] == report["plan"]["latency"]
    assert results["reaping"]["cpu_us_per_orphan"]["n"] == report["plan"]["orphan_rounds"]
    assert results["reaping"]["zombies_left"] == 0
    assert results["stop_latency"]["exit_codes"] == [143]  # 128 + SIGTERM: the child died of it
    assert isinstance(results["idle_wakeups"]["switches"], int)
    assert results["memory"]["idle"]["VmHWM"] > 0
    assert results["memory"]["after_orphans"]["RssAnon"] > 0
    assert "| metric |" in done.stdout  # the table was printed
