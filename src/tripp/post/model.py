"""What the node records and how its pushes end (pure: no I/O, no clock).

A node keeps one ordered log per office, the outbox: every event and every screening an
officer records gets the next sequence number and waits there until the upstream answers.
The sequence is the node's notion of "after": an inspection counts for a screening when it
was recorded after it, whatever the terminal's clock says.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from tripp.border.gate import inspection_needed
from tripp.movements.model import TRANSITIONS, EventType, IllegalTransition, MovementState
from tripp.risk.model import Lane

# What an officer records at a post. Release, cancel, control results and enquiries belong
# to the offices of departure and destination working online, never to a border node.
NODE_EVENT_TYPES = frozenset({"border_crossing", "arrival", "inspection", "incident"})
# The event that ends a movement's business at this office: it leaves the expected list.
PASSAGE_TYPES = frozenset({"border_crossing", "arrival"})


class Kind(StrEnum):
    """What an outbox row carries."""

    EVENT = "event"
    SCREENING = "screening"


class Status(StrEnum):
    """Where an outbox row is: waiting, accepted upstream, or refused and kept for the
    officer. A row never leaves the outbox: conflicts are evidence, synced rows history."""

    PENDING = "pending"
    SYNCED = "synced"
    CONFLICT = "conflict"


class Outcome(StrEnum):
    """How one upstream answer to a push is read."""

    ACCEPTED = "accepted"  # 201 created, or 200: the id was already there
    CONFLICT = "conflict"  # a definitive refusal of this row (404, 409, 422, other 4xx)
    RETRY = "retry"  # a server fault (500): this row again next round
    REFUSED = "refused"  # the node's token is refused (401, 403): no row can pass


def classify(status: int) -> Outcome:
    """The outcome of an upstream HTTP status (gateway statuses never get here: the client
    raises ``UpstreamUnreachable`` for them)."""
    if 200 <= status < 300:
        return Outcome.ACCEPTED
    if status in (401, 403):
        return Outcome.REFUSED
    if 400 <= status < 500:
        return Outcome.CONFLICT
    return Outcome.RETRY


@dataclass(frozen=True)
class Record:
    """One outbox row of a movement, as the local rules need it."""

    seq: int
    kind: Kind
    status: Status
    ref_id: str
    event_type: str | None = None  # events only
    inspection_kind: str | None = None  # inspections only
    lane: Lane | None = None  # screenings only: the upstream's lane once it answered
    taken_upstream: bool = False  # the upstream stored it (2xx), even if flagged a conflict

    @property
    def live(self) -> bool:
        """Whether the row counts for the local rules. A row the upstream refused does not;
        a screening it stored with another lane does, with the upstream's lane."""
        return self.status is not Status.CONFLICT or self.taken_upstream

    @property
    def is_passage(self) -> bool:
        return self.kind is Kind.EVENT and self.event_type in PASSAGE_TYPES


def inspection_block(item: Mapping[str, Any], records: Sequence[Record]) -> str | None:
    """What the movement needs before it may pass this office, or None.

    The latest screening decides, as upstream (``tripp.border.gate``): the node's own when
    it screened the movement, else the upstream's stored one as mirrored in ``item``
    (``screening`` and ``inspection_required``). Only inspections recorded after that
    screening count; for a mirrored screening that is every inspection recorded here.
    """
    live = [r for r in records if r.live]
    screened = [i for i, r in enumerate(live) if r.kind is Kind.SCREENING]
    if screened:
        lane = live[screened[-1]].lane
        since = live[screened[-1] + 1 :]
    else:
        lane = _mirrored_lane(item)
        since = live
    kinds = {r.inspection_kind for r in since if r.inspection_kind is not None}
    return inspection_needed(lane, kinds)


def _mirrored_lane(item: Mapping[str, Any]) -> Lane | None:
    screening = item.get("screening")
    if not item.get("inspection_required") or not isinstance(screening, Mapping):
        return None
    return Lane(screening["lane"])


def local_state(
    mrn: str, item: Mapping[str, Any], events: Iterable[tuple[str, Mapping[str, Any]]]
) -> MovementState:
    """The movement's state after ``events`` (type, payload), the events recorded here that
    the mirrored ``item`` does not reflect yet; raises ``IllegalTransition``."""
    state = MovementState(item["state"])
    for event_type, payload in events:
        state = next_state(mrn, state, event_type, payload)
    return state


def next_state(
    mrn: str, state: MovementState, event_type: str, payload: Mapping[str, Any]
) -> MovementState:
    """The upstream's transition table applied to one event; raises ``IllegalTransition``
    naming the state and the allowed types, as the upstream's 409 does."""
    kind = EventType(event_type)
    transition = TRANSITIONS[kind]
    if state not in transition.allowed_from:
        raise IllegalTransition(mrn, state, kind)
    if len(transition.leads_to) > 1:
        value = payload.get(transition.key)
        target = transition.leads_to.get(str(value) if value is not None else None)
    else:
        target = transition.leads_to[None]
    return state if target is None else target


def passage_of(records: Iterable[Record]) -> Record | None:
    """The live crossing or arrival already recorded here, if any."""
    return next((r for r in records if r.live and r.is_passage), None)


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(at: datetime) -> str:
    """RFC 3339 in UTC with ``Z``, as the upstream writes times."""
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    at = datetime.fromisoformat(text)
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
