"""What an office expects of an arriving movement (pure): its role there, the event the
officer records, and the estimated time of arrival."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from tripp.corridor.model import Corridor, TransportMode
from tripp.movements.declaration import Declaration

# Typical speeds on the corridor's mountain roads and single-track line, and the time spent
# at each office passed on the way; estimates until calibrated from recorded crossings.
TYPICAL_SPEED_KMH = {TransportMode.ROAD: 50.0, TransportMode.RAIL: 40.0}
DWELL_PER_OFFICE = timedelta(minutes=20)


@dataclass(frozen=True)
class NextEvent:
    type: Literal["border_crossing", "arrival"]
    direction: Literal["entry", "exit"] | None = None

    def to_json(self) -> dict[str, str]:
        out: dict[str, str] = {"type": self.type}
        if self.direction is not None:
            out["direction"] = self.direction
        return out


def office_role(d: Declaration, office: str) -> Literal["transit", "destination"] | None:
    if office == d.office_of_destination:
        return "destination"
    return "transit" if office in d.offices_of_transit else None


def next_event(d: Declaration, corridor: Corridor, office: str) -> NextEvent:
    """At the destination, the arrival; at an office of transit, a crossing that leaves the
    office's country when an earlier office of the itinerary is in that country (the goods
    are already in it), else one that enters it."""
    if office == d.office_of_destination:
        return NextEvent("arrival")
    here = corridor.offices[office].country
    path = (d.office_of_departure, *d.offices_of_transit)
    earlier = path[: path.index(office)] if office in path else path
    inside = any(corridor.offices[o].country == here for o in earlier if o in corridor.offices)
    return NextEvent("border_crossing", "exit" if inside else "entry")


def travel_time(distance_m: float, mode: TransportMode) -> timedelta:
    return timedelta(hours=distance_m / 1000 / TYPICAL_SPEED_KMH[mode])


def scheduled_eta(
    released_at: datetime, distance_m: float, mode: TransportMode, offices_passed: int
) -> datetime:
    """Release time plus the typical time of the way from departure to the office."""
    return released_at + travel_time(distance_m, mode) + offices_passed * DWELL_PER_OFFICE


def tracked_eta(fix_time: datetime, distance_m: float, mode: TransportMode) -> datetime:
    """From the latest position: the remaining way at the typical speed."""
    return fix_time + travel_time(distance_m, mode)
