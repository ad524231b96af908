"""Who may see a movement, and who may record which event where (pure).

The contract (API.md) answers 404 for what the caller may not see and 403
for what it may see but not do; this module decides both, the HTTP edge
only translates.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType

from tripp.corridor.model import Corridor, OfficeRole
from tripp.errors import FieldError, Forbidden, InvalidInput
from tripp.movements.model import EventType, Movement, MovementEvent
from tripp.parties.model import Actor, Role


class Place(StrEnum):
    """Where an event type must be recorded."""

    DEPARTURE = "departure"
    TRANSIT = "transit"
    DESTINATION = "destination"
    TRANSIT_OR_DESTINATION = "transit or destination"
    ANYWHERE = "anywhere"


class Who(StrEnum):
    CUSTOMS_OF_OFFICE = "customs of the office"
    CUSTOMS_OF_DEPARTURE = "customs of departure"
    CUSTOMS_INVOLVED = "customs of a country on the itinerary"
    HOLDER = "the holder"


@dataclass(frozen=True)
class EventRule:
    place: Place
    office_required: bool
    who: frozenset[Who]


def _rule(place: Place, required: bool, *who: Who) -> EventRule:
    return EventRule(place, required, frozenset(who))


EVENT_RULES: Mapping[EventType, EventRule] = MappingProxyType(
    {
        EventType.RELEASE: _rule(Place.DEPARTURE, True, Who.CUSTOMS_OF_OFFICE),
        EventType.CANCEL: _rule(Place.DEPARTURE, False, Who.HOLDER, Who.CUSTOMS_OF_DEPARTURE),
        EventType.BORDER_CROSSING: _rule(Place.TRANSIT, True, Who.CUSTOMS_OF_OFFICE),
        EventType.INCIDENT: _rule(Place.ANYWHERE, False, Who.CUSTOMS_INVOLVED, Who.HOLDER),
        EventType.ARRIVAL: _rule(Place.DESTINATION, True, Who.CUSTOMS_OF_OFFICE),
        EventType.CONTROL_RESULT: _rule(Place.DESTINATION, True, Who.CUSTOMS_OF_OFFICE),
        EventType.ENQUIRY: _rule(Place.DEPARTURE, False, Who.CUSTOMS_OF_DEPARTURE),
        EventType.RESOLVE_ENQUIRY: _rule(Place.DEPARTURE, False, Who.CUSTOMS_OF_DEPARTURE),
        EventType.INSPECTION: _rule(Place.TRANSIT_OR_DESTINATION, True, Who.CUSTOMS_OF_OFFICE),
    }
)


def itinerary_countries(movement: Movement, corridor: Corridor) -> frozenset[str]:
    codes = (o for _, _, o in movement.declaration.offices())
    return frozenset(o.country for c in codes if (o := corridor.office(c)) is not None)


def can_see(actor: Actor, movement: Movement, corridor: Corridor) -> bool:
    """Whether the movement exists for this caller (else 404)."""
    if actor.role in (Role.ADMIN, Role.OPERATOR):
        return True
    if actor.role is Role.CARRIER:
        return movement.holder == actor.party
    if actor.role is Role.CUSTOMS:
        return actor.country in itinerary_countries(movement, corridor)
    return False


def sees_commercial_data(actor: Actor) -> bool:
    """The operator sees operations only: no goods values, consignor, consignee."""
    return actor.role in (Role.ADMIN, Role.CUSTOMS, Role.CARRIER)


def _place_errors(
    rule: EventRule, event: MovementEvent, movement: Movement, corridor: Corridor
) -> Iterator[FieldError]:
    d = movement.declaration
    if event.office is None:
        if rule.office_required:
            yield FieldError(
                "office", f"{event.type} needs the office where it happens", "required"
            )
        return
    office = corridor.office(event.office)
    if office is None:
        yield FieldError(
            "office", f"{event.office!r} is not an office of {corridor.id}", "office-unknown"
        )
    elif rule.place is Place.DEPARTURE and event.office != d.office_of_departure:
        yield FieldError(
            "office",
            f"{event.type} happens at the office of departure {d.office_of_departure}",
            "office-place",
        )
    elif rule.place is Place.DESTINATION and event.office != d.office_of_destination:
        yield FieldError(
            "office",
            f"{event.type} happens at the office of destination {d.office_of_destination}",
            "office-place",
        )
    elif (
        rule.place is Place.TRANSIT_OR_DESTINATION
        and event.office != d.office_of_destination
        and not office.has_role(OfficeRole.TRANSIT)
    ):
        yield FieldError(
            "office",
            f"{event.type} happens at an office of transit or at the office of destination "
            f"{d.office_of_destination}",
            "office-place",
        )
    elif rule.place is Place.TRANSIT and not office.has_role(OfficeRole.TRANSIT):
        # An undeclared office of transit is accepted (NCTS IE114/115): goods may
        # be diverted, and refusing the record would hide where they went.
        yield FieldError("office", f"{event.office} is not an office of transit", "office-role")


def _may_record(
    actor: Actor, rule: EventRule, event: MovementEvent, movement: Movement, corridor: Corridor
) -> bool:
    if actor.role is Role.ADMIN:
        return True
    if actor.role is Role.CARRIER:
        return Who.HOLDER in rule.who and movement.holder == actor.party
    if actor.role is not Role.CUSTOMS:
        return False
    office = corridor.office(event.office) if event.office else None
    departure = corridor.office(movement.declaration.office_of_departure)
    checks = {
        Who.CUSTOMS_OF_OFFICE: office is not None and office.country == actor.country,
        Who.CUSTOMS_OF_DEPARTURE: departure is not None and departure.country == actor.country,
        Who.CUSTOMS_INVOLVED: actor.country in itinerary_countries(movement, corridor)
        and (office is None or office.country == actor.country),
    }
    return any(checks[w] for w in rule.who if w in checks)


def authorise_event(
    actor: Actor, event: MovementEvent, movement: Movement, corridor: Corridor
) -> None:
    """InvalidInput if the office is wrong for the event, Forbidden if the caller may not record it."""
    rule = EVENT_RULES[event.type]
    errors = list(_place_errors(rule, event, movement, corridor))
    if errors:
        raise InvalidInput(errors)
    if not _may_record(actor, rule, event, movement, corridor):
        who = " or ".join(sorted(rule.who))
        raise Forbidden(
            f"{event.type} on {movement.mrn} is recorded by {who}; {actor.party} is not"
        )


def payload_errors(event: MovementEvent) -> Iterator[FieldError]:
    """Rules on the event's own fields that a schema cannot express."""
    seals = event.payload.get("seals", ())
    seen: set[str] = set()
    for i, seal in enumerate(seals):
        if seal in seen:
            yield FieldError(f"seals[{i}]", f"seal {seal!r} is listed twice", "seal-repeated")
        seen.add(seal)
    yield from _inspection_errors(event)
    limit = event.payload.get("time_limit")
    if isinstance(limit, datetime) and limit <= event.at:
        yield FieldError("time_limit", f"{limit.isoformat()} must be after at", "time-limit-after")


def _inspection_errors(event: MovementEvent) -> Iterator[FieldError]:
    if event.type is not EventType.INSPECTION:
        return
    findings = event.payload.get("findings")
    if event.payload.get("outcome") == "findings":
        if not findings:
            yield FieldError("findings", "an inspection with findings says what they are",
                             "findings-required")  # fmt: skip
    else:
        if findings:
            yield FieldError("findings", "an inspection without findings has none to describe",
                             "findings-without-outcome")  # fmt: skip
        if event.payload.get("follow_up", "none") != "none":
            yield FieldError("follow_up", "only an inspection with findings has a follow-up",
                             "follow-up-needs-findings")  # fmt: skip


# Terminals' clocks drift; beyond this an event dated ahead is a mistake or a forgery.
CLOCK_SKEW = timedelta(minutes=5)


def timing_errors(event: MovementEvent, movement: Movement, now: datetime) -> Iterator[FieldError]:
    if event.at > now + CLOCK_SKEW:
        yield FieldError("at", f"{event.at.isoformat()} is in the future", "at-not-future")
    # An incident may be reported late but not before the goods left; any other
    # event follows the step that led to the current state (no arrival before release).
    earliest = (
        movement.released_at or movement.accepted_at
        if event.type is EventType.INCIDENT
        else movement.state_since
    )
    if event.at < earliest:
        yield FieldError(
            "at",
            f"{event.at.isoformat()} is before the movement's {movement.state.value} step "
            f"at {earliest.isoformat()}",
            "at-in-order",
        )
