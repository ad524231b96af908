"""The dashboard's key figures over a period (pure): aggregates only, never an MRN or party.

Units are in the names: hours for transit times, minutes for dwell at a border post.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tripp.stats.model import percentile

# Bin widths a person reads at a glance, in hours.
NICE_WIDTHS_H = (0.25, 0.5, 1, 2, 3, 4, 6, 8, 12, 24, 48, 72, 168, 336, 720)
MAX_BINS = 12
MAX_PERIOD = timedelta(days=366)


@dataclass(frozen=True)
class Bin:
    lo: float
    hi: float
    count: int


@dataclass(frozen=True)
class KpiInputs:
    """What the store found for a period.

    ``transit_hours``: release to arrival of movements arrived in it; ``crossings``: (at,
    office) of border crossings in it; ``dwell``: (office, minutes) from the first
    screening at an office to the crossing or arrival recorded there; ``alerts_by_kind``:
    alerts raised in it.
    """

    movements: int
    transit_hours: Sequence[float]
    crossings: Sequence[tuple[datetime, str]]
    dwell: Sequence[tuple[str, float]]
    alerts_by_kind: Mapping[str, int]


def bin_width(largest: float, max_bins: int = MAX_BINS) -> float:
    """The narrowest nice width giving at most ``max_bins`` bins from 0 to ``largest``."""
    if largest < 0 or not math.isfinite(largest):
        raise ValueError(f"largest={largest} must be finite and >= 0")
    for width in NICE_WIDTHS_H:
        if math.floor(largest / width) + 1 <= max_bins:
            return width
    widest = NICE_WIDTHS_H[-1]
    return widest * (math.floor(largest / (widest * max_bins)) + 1)


def histogram(values: Sequence[float], max_bins: int = MAX_BINS) -> list[Bin]:
    """Bins [lo, hi) of one nice width from 0; negative values count in the first bin."""
    if not values:
        return []
    width = bin_width(max(0.0, max(values)), max_bins)
    counts = Counter(max(0, math.floor(v / width)) for v in values)
    top = max(counts)
    return [Bin(i * width, (i + 1) * width, counts.get(i, 0)) for i in range(top + 1)]


def _pcts(values: Sequence[float]) -> tuple[float | None, float | None]:
    ordered = sorted(values)
    if not ordered:
        return None, None
    return percentile(ordered, 50), percentile(ordered, 95)


def hour_of(at: datetime) -> datetime:
    """The UTC hour ``at`` falls in."""
    if at.tzinfo is None:
        raise ValueError(f"at={at!r} must be timezone-aware")
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def crossings_per_hour(crossings: Iterable[tuple[datetime, str]]) -> list[dict[str, Any]]:
    """Counts per (hour, office), in time then office order; hours without any are left out."""
    counts = Counter((hour_of(at), office) for at, office in crossings)
    return [
        {"hour": _iso(hour), "office": office, "count": n}
        for (hour, office), n in sorted(counts.items())
    ]


def dwell_by_office(dwell: Iterable[tuple[str, float]]) -> list[dict[str, Any]]:
    """Per office: count, median, 95th percentile and mean minutes, in office order."""
    by_office: dict[str, list[float]] = defaultdict(list)
    for office, minutes in dwell:
        by_office[office].append(minutes)
    out = []
    for office in sorted(by_office):
        values = by_office[office]
        p50, p95 = _pcts(values)
        out.append({"office": office, "count": len(values), "p50": p50, "p95": p95,
                    "mean": sum(values) / len(values)})  # fmt: skip
    return out


def alerts_per_100(movements: int, by_kind: Mapping[str, int]) -> dict[str, Any]:
    """Alerts per 100 movements, in all and per kind; null figures when no movement."""
    if movements < 0:
        raise ValueError(f"movements={movements} must be >= 0")
    if movements == 0:
        return {"total": None, "by_kind": {k: None for k in sorted(by_kind)}}
    rate = {k: 100 * n / movements for k, n in sorted(by_kind.items())}
    return {"total": 100 * sum(by_kind.values()) / movements, "by_kind": rate}


def kpis(start: datetime, end: datetime, inputs: KpiInputs) -> dict[str, Any]:
    """The KPI document of docs/dashboard-api.md."""
    p50, p95 = _pcts(inputs.transit_hours)
    return {
        "from": _iso(start),
        "to": _iso(end),
        "movements": inputs.movements,
        "transit_time_hours": {
            "histogram": [vars(b) for b in histogram(inputs.transit_hours)],
            "p50": p50,
            "p95": p95,
        },
        "crossings_per_hour": crossings_per_hour(inputs.crossings),
        "border_post_dwell_minutes": dwell_by_office(inputs.dwell),
        "alerts_per_100_movements": alerts_per_100(inputs.movements, inputs.alerts_by_kind),
    }


def check_period(start: datetime, end: datetime) -> str | None:
    """What is wrong with the period, or None."""
    if start >= end:
        return "'from' must be before 'to'"
    if end - start > MAX_PERIOD:
        return f"the period may span at most {MAX_PERIOD.days} days"
    return None


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")
