"""The corridor file's ``fees`` section: the transit-fee schedules it starts with."""

from __future__ import annotations

from tripp.corridor.fields import Node
from tripp.corridor.model import Currencies
from tripp.fees.schedule import ScheduleSet, parse


def read_fees(root: Node, currencies: Currencies | None) -> ScheduleSet | None:
    """The schedules, or None when the corridor charges no fee (or after recording errors
    in the sink, each with its path under ``fees``)."""
    raw = root.get("fees", required=False)
    if raw is None:
        return None
    accepted = None if currencies is None else currencies.accepted
    schedules, errors = parse(raw, path="fees", currencies=accepted)
    for e in errors:
        root.sink.add(e.field, e.message, e.rule)
    return schedules
