"""What the node records and how its pushes end (pure: no I/O, no clock).

A node keeps one ordered log per office, the outbox: every event and every screening an
officer records gets the next sequence number and waits there until the upstream answers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from tripp.border.gate import inspection_needed
from tripp.errors import FieldError, InvalidInput
from tripp.movements.model import TRANSITIONS, EventType, IllegalTransition, MovementState
from tripp.post.errors import AlreadyRecorded, InspectionRequired
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

    As upstream (docs/border-posts.md): the strictest screening at the office decides, and
    every inspection recorded there counts, whatever the order, since a movement passes an
    office once. The screenings are the node's own (with the upstream's lane once it
    answered) and the upstream's as mirrored in ``item``.
    """
    live = [r for r in records if r.live]
    lanes = [r.lane for r in live if r.kind is Kind.SCREENING and r.lane is not None]
    mirrored = _mirrored_lane(item)
    if mirrored is not None:
        lanes.append(mirrored)
    kinds = {r.inspection_kind for r in live if r.inspection_kind is not None}
    return inspection_needed(max(lanes, default=None), kinds)


def _mirrored_lane(item: Mapping[str, Any]) -> Lane | None:
    """The lane of the upstream's outstanding requirement. The item names its latest
    screening only; when that one is green, an earlier, stricter one is what still binds,
    and the node assumes red: an extra X-ray is better than a crossing refused later."""
    if not item.get("inspection_required"):
        return None
    screening = item.get("screening")
    lane = Lane(screening["lane"]) if isinstance(screening, Mapping) else Lane.RED
    return lane if lane is not Lane.GREEN else Lane.RED


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


def check_passage(
    mrn: str,
    office: str,
    item: Mapping[str, Any],
    event: Mapping[str, Any],
    records: Sequence[Record],
) -> None:
    """Refuse a crossing or arrival the upstream would refuse: a second one here, another
    one than the item's ``next_event``, or one the inspection gate holds back."""
    done = passage_of(records)
    if done is not None:
        raise AlreadyRecorded(f"the {done.event_type} of {mrn} is already recorded at {office}")
    expected = item.get("next_event") or {}
    if expected.get("type") and event["type"] != expected["type"]:
        message = f"{mrn} is expected at {office} for {expected['type']}"
        raise InvalidInput([FieldError("type", message, "next-event")])
    if expected.get("direction") and event.get("direction") != expected["direction"]:
        message = f"{mrn} makes an {expected['direction']} at {office}"
        raise InvalidInput([FieldError("direction", message, "next-event-direction")])
    needed = inspection_block(item, records)
    if needed is not None:
        raise InspectionRequired(
            f"{mrn} was screened at {office} and needs {needed} recorded there "
            f"before its {event['type']}"
        )


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
