"""The movement aggregate and its lifecycle as one transition table (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from tripp.errors import Conflict
from tripp.movements.declaration import Declaration


class MovementState(StrEnum):
    ACCEPTED = "accepted"
    RELEASED = "released"
    IN_TRANSIT = "in_transit"
    ARRIVED = "arrived"
    WRITTEN_OFF = "written_off"
    CANCELLED = "cancelled"
    UNDER_ENQUIRY = "under_enquiry"
    RECOVERY = "recovery"


class EventType(StrEnum):
    RELEASE = "release"
    CANCEL = "cancel"
    BORDER_CROSSING = "border_crossing"
    INCIDENT = "incident"
    ARRIVAL = "arrival"
    CONTROL_RESULT = "control_result"
    ENQUIRY = "enquiry"
    RESOLVE_ENQUIRY = "resolve_enquiry"
    INSPECTION = "inspection"


S = MovementState


@dataclass(frozen=True)
class Transition:
    """From which states an event type is allowed and where it leads.

    ``leads_to`` is keyed by the event's payload field ``key`` (``outcome`` unless
    said otherwise; None for event types with a single target); a value of None
    leaves the state unchanged.
    """

    allowed_from: frozenset[MovementState]
    leads_to: Mapping[str | None, MovementState | None]
    key: str = "outcome"


def _t(
    allowed: set[MovementState],
    leads_to: dict[str | None, MovementState | None],
    key: str = "outcome",
) -> Transition:
    return Transition(frozenset(allowed), MappingProxyType(leads_to), key)


TRANSITIONS: Mapping[EventType, Transition] = MappingProxyType(
    {
        EventType.RELEASE: _t({S.ACCEPTED}, {None: S.RELEASED}),
        EventType.CANCEL: _t({S.ACCEPTED}, {None: S.CANCELLED}),
        EventType.BORDER_CROSSING: _t({S.RELEASED, S.IN_TRANSIT}, {None: S.IN_TRANSIT}),
        EventType.INCIDENT: _t({S.RELEASED, S.IN_TRANSIT}, {None: None}),
        EventType.ARRIVAL: _t({S.RELEASED, S.IN_TRANSIT}, {None: S.ARRIVED}),
        EventType.CONTROL_RESULT: _t(
            {S.ARRIVED}, {"satisfactory": S.WRITTEN_OFF, "discrepancies": S.UNDER_ENQUIRY}
        ),
        EventType.ENQUIRY: _t({S.RELEASED, S.IN_TRANSIT, S.ARRIVED}, {None: S.UNDER_ENQUIRY}),
        EventType.RESOLVE_ENQUIRY: _t(
            {S.UNDER_ENQUIRY}, {"discharged": S.WRITTEN_OFF, "recovery": S.RECOVERY}
        ),
        # Findings may open an enquiry at once; an incident follow-up leaves the state.
        EventType.INSPECTION: _t(
            {S.RELEASED, S.IN_TRANSIT, S.ARRIVED},
            {"none": None, "incident": None, "enquiry": S.UNDER_ENQUIRY},
            key="follow_up",
        ),
    }
)

# Entering one of these states gives the liability back to the guarantee;
# recovery keeps it committed until the debt is settled outside tripp.
RELEASES_GUARANTEE = frozenset({S.CANCELLED, S.WRITTEN_OFF})
FINAL_STATES = frozenset({S.CANCELLED, S.WRITTEN_OFF, S.RECOVERY})
# States in which the movement is on the road and its time limit runs.
UNDER_WAY = frozenset({S.RELEASED, S.IN_TRANSIT})


def allowed_events(state: MovementState) -> list[EventType]:
    return [t for t, tr in TRANSITIONS.items() if state in tr.allowed_from]


class IllegalTransition(Conflict):
    """The event type is not allowed in the movement's current state."""

    def __init__(self, mrn: str, state: MovementState, event_type: EventType) -> None:
        self.state = state
        self.allowed = allowed_events(state)
        allowed = ", ".join(self.allowed) or "none (the movement is closed)"
        super().__init__(
            f"movement {mrn} is {state.value}: {event_type.value} is not allowed; "
            f"allowed event types: {allowed}"
        )


@dataclass(frozen=True)
class MovementEvent:
    """One recorded event. ``payload`` holds the type's own fields (API.md)."""

    id: str
    type: EventType
    office: str | None
    at: datetime
    recorded_by: str
    payload: Mapping[str, Any] = field(default_factory=dict)

    @property
    def outcome(self) -> str | None:
        value = self.payload.get("outcome")
        return str(value) if value is not None else None


@dataclass
class Movement:
    mrn: str
    holder: str
    declaration: Declaration
    liability: Decimal
    liability_currency: str
    accepted_at: datetime
    state: MovementState = S.ACCEPTED
    released_at: datetime | None = None
    time_limit: datetime | None = None
    arrived_at: datetime | None = None
    seals: tuple[str, ...] = ()
    tracker_id: str | None = None
    updated_at: datetime | None = None

    @property
    def guarantee(self) -> str:
        return self.declaration.guarantee

    def next_state(self, event: MovementEvent) -> MovementState:
        """The state ``event`` leads to; IllegalTransition if not allowed now."""
        transition = TRANSITIONS[event.type]
        if self.state not in transition.allowed_from:
            raise IllegalTransition(self.mrn, self.state, event.type)
        if len(transition.leads_to) > 1:
            value = event.payload.get(transition.key)
            target = transition.leads_to[str(value) if value is not None else None]
        else:
            target = transition.leads_to[None]
        return self.state if target is None else target

    def apply(self, event: MovementEvent) -> MovementState:
        """Apply ``event`` and return the previous state.

        The caller has checked who may record it (``policy``) and the payload.
        """
        previous = self.state
        self.state = self.next_state(event)
        if event.type is EventType.RELEASE:
            self.released_at = event.at
            self.seals = tuple(event.payload.get("seals", ()))
            self.tracker_id = event.payload.get("tracker_id")
            self.time_limit = event.payload["time_limit"]
        elif event.type is EventType.ARRIVAL:
            self.arrived_at = event.at
        return previous

    @property
    def state_since(self) -> datetime:
        """When the latest lifecycle step happened (business time)."""
        return self.arrived_at or self.released_at or self.accepted_at
