"""KPI arithmetic of the dashboard (pure) and its CSV form."""

from __future__ import annotations

import csv
import io
import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tripp.dashboard import kpi
from tripp.dashboard.export import COLUMNS, kpi_csv

T0 = datetime(2026, 3, 1, tzinfo=UTC)
hours = st.floats(min_value=0, max_value=5000, allow_nan=False)


@given(st.lists(hours, min_size=1, max_size=200))
def test_the_histogram_counts_every_value_once_in_at_most_12_bins(values: list[float]) -> None:
    bins = kpi.histogram(values)
    assert sum(b.count for b in bins) == len(values)
    assert 1 <= len(bins) <= kpi.MAX_BINS
    assert bins[0].lo == 0
    for a, b in itertools.pairwise(bins):
        assert a.hi == b.lo and a.hi - a.lo == b.hi - b.lo
    assert bins[-1].lo <= max(values) < bins[-1].hi


def test_the_histogram_picks_a_nice_width() -> None:
    bins = kpi.histogram([1.5, 7.9, 30.2])
    assert [(b.lo, b.hi, b.count) for b in bins][:2] == [(0, 3, 1), (3, 6, 0)]
    assert kpi.histogram([]) == []
    assert kpi.bin_width(10_000_000) * kpi.MAX_BINS > 10_000_000


def test_bad_widths_are_refused() -> None:
    with pytest.raises(ValueError, match="largest=-1"):
        kpi.bin_width(-1)


def test_crossings_are_counted_per_hour_and_office() -> None:
    crossings = [
        (T0 + timedelta(minutes=5), "AM000101"),
        (T0 + timedelta(minutes=55), "AM000101"),
        (T0 + timedelta(minutes=10), "AM000102"),
        (T0 + timedelta(hours=1, minutes=1), "AM000101"),
    ]
    assert kpi.crossings_per_hour(crossings) == [
        {"hour": "2026-03-01T00:00:00Z", "office": "AM000101", "count": 2},
        {"hour": "2026-03-01T00:00:00Z", "office": "AM000102", "count": 1},
        {"hour": "2026-03-01T01:00:00Z", "office": "AM000101", "count": 1},
    ]


def test_dwell_is_summarised_per_office() -> None:
    got = kpi.dwell_by_office([("B", 10.0), ("A", 30.0), ("A", 10.0), ("A", 20.0)])
    assert got == [
        {"office": "A", "count": 3, "p50": 20.0, "p95": 29.0, "mean": 20.0},
        {"office": "B", "count": 1, "p50": 10.0, "p95": 10.0, "mean": 10.0},
    ]


@given(st.integers(1, 10_000), st.dictionaries(st.sampled_from(["speeding", "overdue"]),
                                               st.integers(0, 1000)))  # fmt: skip
def test_alert_rates_add_up(movements: int, by_kind: dict[str, int]) -> None:
    rates = kpi.alerts_per_100(movements, by_kind)
    assert rates["total"] == pytest.approx(sum(rates["by_kind"].values()))
    assert rates["total"] == pytest.approx(100 * sum(by_kind.values()) / movements)


def test_no_movement_means_no_rate() -> None:
    assert kpi.alerts_per_100(0, {"speeding": 2}) == {"total": None, "by_kind": {"speeding": None}}


@pytest.mark.parametrize(
    ("start", "end", "wrong"),
    [
        (T0, T0, True),
        (T0, T0 - timedelta(seconds=1), True),
        (T0, T0 + timedelta(days=366), False),
        (T0, T0 + timedelta(days=366, seconds=1), True),
    ],
)
def test_periods(start: datetime, end: datetime, wrong: bool) -> None:
    assert (kpi.check_period(start, end) is not None) is wrong


def _doc() -> dict[str, object]:
    inputs = kpi.KpiInputs(
        movements=4,
        transit_hours=[20.0, 26.0, 30.0],
        crossings=[(T0, "AM000101")],
        dwell=[("AM000101", 12.5)],
        alerts_by_kind={"speeding": 1},
    )
    return kpi.kpis(T0, T0 + timedelta(days=30), inputs)


def test_the_kpi_document() -> None:
    doc = _doc()
    assert doc["from"] == "2026-03-01T00:00:00Z" and doc["movements"] == 4
    assert doc["transit_time_hours"]["p50"] == 26.0  # type: ignore[index]
    assert doc["alerts_per_100_movements"] == {"total": 25.0, "by_kind": {"speeding": 25.0}}


def test_the_csv_has_one_table_column_and_every_section() -> None:
    rows = list(csv.DictReader(io.StringIO(kpi_csv(_doc()))))
    assert tuple(rows[0]) == COLUMNS
    tables = [r["table"] for r in rows]
    assert tables[0] == "movements" and rows[0]["count"] == "4"
    assert {"transit_time_hours", "transit_time_histogram", "crossings_per_hour",
            "border_post_dwell_minutes", "alerts_per_100_movements"} <= set(tables)  # fmt: skip
    rate = next(r for r in rows if r["table"] == "alerts_per_100_movements" and r["kind"] == "")
    assert rate["value"] == "25.0"
