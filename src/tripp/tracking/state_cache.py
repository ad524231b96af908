"""A tracking worker's parsed copies of monitor states, so a batch need not read, parse and
rebuild the state of every movement it touches.

The database stays the truth: a copy is used only while the stored version is the one it
was taken at (``store.watch`` compares them under the movement's lock), and a copy enters
the cache only once the transaction that wrote it has committed: a state this worker wrote,
after its commit; a state it read under the lock (committed by another), at once. Several
workers, threads or the time-driven round may write the same movement; each write stores a
new random version, so the others' copies simply stop matching.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TypeVar

from tripp.corridor.model import TransportMode
from tripp.tracking.alerts import MonitorState

# MRN → (version written, state): what ``Monitor.on_batch`` hands back for ``apply``.
StateUpdates = Mapping[str, tuple[int, MonitorState]]

# Enough for every armed movement of a busy corridor; past it the oldest copies go (a miss
# costs one read of the stored state, not correctness).
DEFAULT_LIMIT = 50_000
V = TypeVar("V")


class StateCache:
    """Bounded, insertion-ordered; safe to share between threads (single dict operations)."""

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        if limit < 1:
            raise ValueError(f"limit={limit} must be at least 1")
        self.limit = limit
        self._states: dict[str, tuple[int, MonitorState]] = {}
        self._modes: dict[str, TransportMode] = {}

    def __len__(self) -> int:
        return len(self._states)

    def copies(self, mrns: Iterable[str]) -> dict[str, tuple[int, MonitorState]]:
        """The copies held for ``mrns``, taken now (later evictions do not affect them)."""
        states = self._states
        return {mrn: found for mrn in mrns if (found := states.get(mrn)) is not None}

    def known_modes(self, mrns: Sequence[str]) -> dict[str, TransportMode]:
        modes = self._modes
        return {mrn: mode for mrn in mrns if (mode := modes.get(mrn)) is not None}

    def remember_mode(self, mrn: str, mode: TransportMode) -> None:
        # A declaration's mode never changes: a remembered one is never stale.
        if mrn not in self._modes:
            _trim(self._modes, self.limit - 1)
            self._modes[mrn] = mode

    def apply(self, updates: StateUpdates) -> None:
        """Keep the states a committed transaction wrote."""
        for mrn, copy in updates.items():
            self._states.pop(mrn, None)  # re-inserted last: the eviction order is by use
            self._states[mrn] = copy
        _trim(self._states, self.limit)


def _trim(entries: dict[str, V], limit: int) -> None:
    excess = len(entries) - limit
    if excess <= 0:
        return
    for mrn in list(entries)[:excess]:
        entries.pop(mrn, None)
