"""Statistics the metrics share: nearest-rank percentiles, summaries, ratios, round-robin order."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile; values need not be sorted."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]


def summary(values: Sequence[float], digits: int = 3) -> dict[str, object]:
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "median": round(statistics.median(values), digits),
        "p90": round(percentile(values, 0.9), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
    }


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return round(numerator / denominator, 2)


def median_or_none(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def rotated(items: Sequence[T], turn: int) -> list[T]:
    """Round-robin order for one round; the first item changes every round, so drift of the
    machine spreads over all inits alike."""
    if not items:
        return []
    start = turn % len(items)
    return [*items[start:], *items[:start]]
