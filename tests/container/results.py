"""Tables of what the container suite measured, printed at the end of the pytest run."""

from __future__ import annotations

from collections.abc import Sequence


class Table:
    def __init__(self, columns: Sequence[str]) -> None:
        self.columns = list(columns)
        self.rows: list[list[str]] = []

    def add(self, *cells: object) -> None:
        self.rows.append([_text(cell) for cell in cells])

    def render(self) -> str:
        """A markdown table, ready for the README."""
        widths = [
            max(len(row[i]) for row in [self.columns, *self.rows]) for i in range(len(self.columns))
        ]

        def line(cells: Sequence[str]) -> str:
            return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

        rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
        return "\n".join([line(self.columns), rule, *(line(row) for row in self.rows)])


def _text(cell: object) -> str:
    return f"{cell:.2f}" if isinstance(cell, float) else str(cell)


STOPS = Table(["case", "podman stop -t", "stop took (s)", "exit code", "what it shows"])
ZERO_LOSS = Table(
    ["scenario", "requests", "failed", "errors", "stop took (s)", "exit code", "app cleanup ran"]
)
TABLES = {"container stops": STOPS, "zero-loss stop under load": ZERO_LOSS}
