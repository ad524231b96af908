"""The exact bytes that are signed: sorted-key JSON of a plain document (no I/O)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson


def canonical(document: Mapping[str, Any]) -> bytes:
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS)


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def event_document(
    *,
    mrn: str,
    event_id: str,
    type: str,
    office: str | None,
    at: datetime,
    recorded_by: str,
    payload: Mapping[str, Any],
    state_before: str,
    state_after: str,
) -> dict[str, Any]:
    """What an authority's signature on a movement event covers."""
    return {
        "mrn": mrn, "id": event_id, "type": type, "office": office, "at": iso(at),
        "recorded_by": recorded_by, "payload": dict(payload),
        "state_before": state_before, "state_after": state_after,
    }  # fmt: skip
