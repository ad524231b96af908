"""Following the store for what changed since a watermark (pure).

Rows carry the time the server stored them (``received_at``, ``updated_at``,
``recorded_at``). A transaction that started earlier can commit after a later one, so a
row may become visible with a stamp below what was seen already: each look goes back
``overlap`` before the watermark, and the keys seen in that window are remembered so that
nothing is sent twice on one connection.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
OVERLAP = timedelta(seconds=5)


@dataclass
class Tail:
    """A watermark (the newest stamp seen) and the keys seen within ``overlap`` of it."""

    watermark: datetime
    overlap: timedelta = OVERLAP
    _seen: dict[Hashable, datetime] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.watermark.tzinfo is None:
            raise ValueError(f"watermark={self.watermark!r} must be timezone-aware")
        if self.overlap < timedelta(0):
            raise ValueError(f"overlap={self.overlap} must be >= 0")

    @property
    def scan_from(self) -> datetime:
        """Look at rows stamped after this."""
        return self.watermark - self.overlap

    def fresh(self, key: Hashable, stamp: datetime) -> bool:
        """Whether ``key`` is new on this connection; remembers it either way."""
        if key in self._seen:
            return False
        self._seen[key] = stamp
        return True

    def advance(self, newest: datetime | None) -> None:
        """Move the watermark to ``newest`` (never back) and forget keys out of the window."""
        if newest is not None and newest > self.watermark:
            self.watermark = newest
        horizon = self.scan_from
        for key in [k for k, at in self._seen.items() if at <= horizon]:
            del self._seen[key]

    @property
    def remembered(self) -> int:
        return len(self._seen)


def newest_by(rows: Iterable[tuple[K, datetime, V]]) -> dict[K, tuple[datetime, V]]:
    """Coalesce: per key (a movement), the item with the latest time; ties keep the first."""
    best: dict[K, tuple[datetime, V]] = {}
    for key, at, item in rows:
        held = best.get(key)
        if held is None or at > held[0]:
            best[key] = (at, item)
    return best


def watermark_after(stamps: dict[str, list[datetime]], truncated: Iterable[str]) -> datetime | None:
    """The newest stamp it is safe to move to: the newest of all sources, but no further
    than the last stamp of a source whose look stopped at its row limit (its rest is
    still to come)."""
    every = [s for values in stamps.values() for s in values]
    if not every:
        return None
    newest = max(every)
    caps = [max(stamps[name]) for name in truncated if stamps.get(name)]
    return min([newest, *caps])
