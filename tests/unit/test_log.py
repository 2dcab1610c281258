"""Log lines: never longer than a pipe guarantees room for, JSON always valid."""

from __future__ import annotations

import json

import pytest

from pyinit.log import INFO, LINE_LIMIT, Log

HUGE = "SIGKILLed " + ", ".join(f"{pid} (worker-ü)" for pid in range(2000))


def test_long_json_event_stays_one_valid_object_within_the_limit(
    capfd: pytest.CaptureFixture[str],
) -> None:
    """An escalation naming thousands of processes must not become a write that can block."""
    killed = [{"pid": pid, "name": "worker", "cmdline": ["w"] * 20} for pid in range(2000)]
    Log(INFO, json_format=True).info("escalated", HUGE, killed=killed)
    line = capfd.readouterr().err
    assert len(line.encode()) <= LINE_LIMIT
    record = json.loads(line)
    assert record["event"] == "escalated"
    assert record["truncated"] is True
    assert record["message"].startswith("SIGKILLed 0 (worker-ü)")


def test_long_text_line_is_cut_at_the_limit(capfd: pytest.CaptureFixture[str]) -> None:
    """Text lines end at the limit, on a character boundary, with a newline."""
    Log(INFO).info("escalated", HUGE)
    line = capfd.readouterr().err
    assert len(line.encode()) <= LINE_LIMIT
    assert line.startswith("pyinit: info: SIGKILLed 0")
    assert line.endswith(" ...\n")


def test_short_lines_are_untouched(capfd: pytest.CaptureFixture[str]) -> None:
    """The common case carries every field."""
    Log(INFO, json_format=True).info("child_started", "started", pid=7, command=["app"])
    record = json.loads(capfd.readouterr().err)
    assert record["pid"] == 7
    assert record["command"] == ["app"]
    assert "truncated" not in record
