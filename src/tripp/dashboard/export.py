"""The KPI document as one CSV table (pure): a ``table`` column names the section each row
belongs to, and a row leaves empty the columns its section does not use."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from typing import Any

COLUMNS = ("table", "from", "to", "office", "hour", "kind", "lo", "hi", "count",
           "p50", "p95", "mean", "value")  # fmt: skip


def _rows(doc: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    period = {"from": doc["from"], "to": doc["to"]}
    yield {"table": "movements", **period, "count": doc["movements"]}
    transit = doc["transit_time_hours"]
    yield {"table": "transit_time_hours", **period, "p50": transit["p50"], "p95": transit["p95"]}
    for b in transit["histogram"]:
        yield {"table": "transit_time_histogram", **period, "lo": b["lo"], "hi": b["hi"],
               "count": b["count"]}  # fmt: skip
    for c in doc["crossings_per_hour"]:
        yield {"table": "crossings_per_hour", **period, "hour": c["hour"], "office": c["office"],
               "count": c["count"]}  # fmt: skip
    for d in doc["border_post_dwell_minutes"]:
        yield {"table": "border_post_dwell_minutes", **period, "office": d["office"],
               "count": d["count"], "p50": d["p50"], "p95": d["p95"], "mean": d["mean"]}  # fmt: skip
    rates = doc["alerts_per_100_movements"]
    yield {"table": "alerts_per_100_movements", **period, "kind": "", "value": rates["total"]}
    for kind, value in rates["by_kind"].items():
        yield {"table": "alerts_per_100_movements", **period, "kind": kind, "value": value}


def kpi_csv(doc: Mapping[str, Any]) -> str:
    """CSV (RFC 4180, CRLF line ends) with a header row; empty cells for null figures."""
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS, restval="", lineterminator="\r\n")
    writer.writeheader()
    for row in _rows(doc):
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return out.getvalue()
