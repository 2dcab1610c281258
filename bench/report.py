"""The verdicts and the markdown table, assembled from the metric modules in the table's order."""

from __future__ import annotations

import idle
import latency
import memory
import reaping
import startup
import stop
from cells import Verdicts, get

# Table order: each module writes its own rows and judges its own targets.
SECTIONS = (idle, startup, latency, reaping, memory, stop)


def verdicts(metrics: object, name: str = "pyinit") -> Verdicts:
    """pyinit's value for each target, and whether it is met."""
    out: Verdicts = {}
    for section in SECTIONS:
        out.update(section.verdicts(metrics, name))
    return out


def table(report: dict[str, object]) -> str:
    """The headline numbers as a markdown table, one column per init."""
    metrics = report["metrics"]
    measured = get(report, "inits", "measured")
    names = [str(n) for n in measured] if isinstance(measured, list) else []
    marks = verdicts(metrics)
    header = ["metric", *names, "python floor", "target (pyinit)"]
    rows = [line for section in SECTIONS for line in section.rows(metrics, names, marks)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return "\n".join(lines)
