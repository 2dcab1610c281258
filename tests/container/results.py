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


class SideBySide(Table):
    """One row per case, one column per init: each parametrized run fills its own cell."""

    def __init__(self, key_columns: Sequence[str], inits: Sequence[str]) -> None:
        super().__init__([*key_columns, *inits])
        self.keys = len(key_columns)
        self.index: dict[tuple[str, ...], list[str]] = {}

    def put(self, key: Sequence[object], init: str, cell: str) -> None:
        texts = tuple(_text(k) for k in key)
        row = self.index.get(texts)
        if row is None:
            row = self.index[texts] = [*texts, *(["-"] * (len(self.columns) - self.keys))]
            self.rows.append(row)
        row[self.columns.index(init)] = cell


def _text(cell: object) -> str:
    return f"{cell:.2f}" if isinstance(cell, float) else str(cell)


STOPS = Table(["case", "podman stop -t", "stop took (s)", "exit code", "what it shows"])
ZERO_LOSS = Table(
    ["scenario", "requests", "failed", "errors", "stop took (s)", "exit code", "app cleanup ran"]
)
DOCKER_INITS = ("pyinit", "docker run --init", "no init")
DOCKER = SideBySide(["case", "docker stop -t"], DOCKER_INITS)
DOCKER_ZERO_LOSS = SideBySide(["scenario"], DOCKER_INITS[:2])
TABLES = {
    "container stops": STOPS,
    "zero-loss stop under load": ZERO_LOSS,
    "docker: pyinit beside docker run --init": DOCKER,
    "docker: zero-loss stop under load": DOCKER_ZERO_LOSS,
}
