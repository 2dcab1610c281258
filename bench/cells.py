"""Reading the results tree and writing table cells and verdicts; shared by the metric modules.

Each metric module has `measure...` (the numbers), `verdicts(metrics)` (pyinit's value for each of
its targets and whether it is met) and `rows(metrics, names, verdicts)` (its lines of the table).
"""

from __future__ import annotations

from collections.abc import Callable

Verdicts = dict[str, dict[str, object]]
Row = list[str]


def get(tree: object, *path: str) -> object:
    for key in path:
        if not isinstance(tree, dict):
            return None
        tree = tree.get(key)
    return tree


def num(tree: object, *path: str) -> float | None:
    value = get(tree, *path)
    return float(value) if isinstance(value, (int, float)) else None


def verdict(out: Verdicts, key: str, value: float | None, target: str, limit: float) -> None:
    """Record pyinit's `value` for the target `key`: met when it is at most `limit`."""
    met = None if value is None else value <= limit
    out[key] = {"value": value, "target": target, "met": met}


def mark(verdicts: Verdicts, key: str) -> str:
    met = verdicts.get(key, {}).get("met")
    return " ✓" if met is True else (" ✗" if met is False else "")


def fmt(value: float | None, digits: int = 1, suffix: str = "") -> str:
    return "-" if value is None else f"{value:.{digits}f}{suffix}"


def with_ratio(metrics: object, path: tuple[str, ...], ratio_key: str, digits: int = 1) -> str:
    """The value at `path` (metric, "results", init, ...), and that init's `ratio_key` if any."""
    value = num(metrics, *path)
    if value is None:
        return "-"
    factor = num(metrics, *path[:3], ratio_key)
    return f"{value:.{digits}f}" + ("" if factor is None else f" ({factor:.2f}x)")


def mib(kib_value: float | None) -> float | None:
    return None if kib_value is None else kib_value / 1024


def signed(value: float | None) -> str:
    return "" if value is None else f" ({value:+.2f})"


def row(label: str, names: list[str], cell: Callable[[str], str], floor: str, target: str) -> Row:
    """One table line: the label, one cell per init, the Python floor, pyinit's target."""
    return [label, *(cell(name) for name in names), floor, target]
