"""Which inspection a screened movement needs before it may cross an office (pure)."""

from __future__ import annotations

from collections.abc import Collection

from tripp.risk.model import Lane

# A red lane means the load itself is looked at; a documentary check cannot do that.
LOAD_INSPECTIONS = frozenset({"xray", "physical"})


def inspection_needed(lane: Lane | None, kinds_since: Collection[str]) -> str | None:
    """None when a movement screened ``lane`` (None: never screened here) may cross, given
    the kinds of inspection recorded at the office since; else what it needs first."""
    if lane is Lane.RED and not LOAD_INSPECTIONS.intersection(kinds_since):
        return "an xray or physical inspection"
    if lane is Lane.YELLOW and not kinds_since:
        return "an inspection (a documentary check is enough)"
    return None
