from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from tests.factories import T0, declaration, small_corridor
from tripp.errors import Forbidden, InvalidInput
from tripp.movements.model import EventType, Movement, MovementEvent
from tripp.movements.policy import authorise_event, can_see, payload_errors, sees_commercial_data
from tripp.parties.model import Actor, Role

CORRIDOR = small_corridor()
HOLDER = Actor("XA-CARRIER-1", Role.CARRIER, "XA")
OTHER_CARRIER = Actor("XA-CARRIER-2", Role.CARRIER, "XA")
XA = Actor("XA-CUSTOMS", Role.CUSTOMS, "XA")
YB = Actor("YB-CUSTOMS", Role.CUSTOMS, "YB")
ZC = Actor("ZC-CUSTOMS", Role.CUSTOMS, "ZC")
OPERATOR = Actor("OP", Role.OPERATOR, None)
OBSERVER = Actor("WG", Role.OBSERVER, None)
ADMIN = Actor("SYSTEM", Role.ADMIN, None)


def movement() -> Movement:
    return Movement("26XA0000000000A1J0", "XA-CARRIER-1", declaration(), Decimal(1), "USD", T0)


def ev(kind: EventType, office: str | None, **payload: object) -> MovementEvent:
    return MovementEvent("e1", kind, office, T0, "x", payload)


def test_visibility() -> None:
    m = movement()
    assert can_see(HOLDER, m, CORRIDOR) and not can_see(OTHER_CARRIER, m, CORRIDOR)
    assert can_see(XA, m, CORRIDOR) and can_see(YB, m, CORRIDOR)
    assert not can_see(ZC, m, CORRIDOR)
    assert can_see(OPERATOR, m, CORRIDOR) and not can_see(OBSERVER, m, CORRIDOR)
    assert not sees_commercial_data(OPERATOR) and sees_commercial_data(XA)


@pytest.mark.parametrize(
    ("actor", "event", "outcome"),
    [
        (XA, ev(EventType.RELEASE, "XA000001"), None),
        (YB, ev(EventType.RELEASE, "XA000001"), Forbidden),
        (XA, ev(EventType.RELEASE, "XA000002"), InvalidInput),  # not the office of departure
        (XA, ev(EventType.RELEASE, None), InvalidInput),
        (HOLDER, ev(EventType.RELEASE, "XA000001"), Forbidden),
        (HOLDER, ev(EventType.CANCEL, None), None),
        (OTHER_CARRIER, ev(EventType.CANCEL, None), Forbidden),
        (XA, ev(EventType.CANCEL, "XA000001"), None),
        (YB, ev(EventType.CANCEL, None), Forbidden),
        (YB, ev(EventType.BORDER_CROSSING, "YB000001"), None),
        (XA, ev(EventType.BORDER_CROSSING, "YB000001"), Forbidden),
        (YB, ev(EventType.BORDER_CROSSING, "XA000001"), InvalidInput),  # not a transit office
        (YB, ev(EventType.INCIDENT, None), None),
        (HOLDER, ev(EventType.INCIDENT, None), None),
        (ZC, ev(EventType.INCIDENT, None), Forbidden),
        (XA, ev(EventType.ARRIVAL, "XA000002"), None),
        (YB, ev(EventType.ARRIVAL, "XA000002"), Forbidden),
        (XA, ev(EventType.CONTROL_RESULT, "XA000002"), None),
        (XA, ev(EventType.ENQUIRY, None), None),
        (YB, ev(EventType.ENQUIRY, None), Forbidden),
        (ADMIN, ev(EventType.ENQUIRY, None), None),
        (OPERATOR, ev(EventType.INCIDENT, None), Forbidden),
        (XA, ev(EventType.RESOLVE_ENQUIRY, None), None),
    ],
)
def test_who_records_what_where(
    actor: Actor, event: MovementEvent, outcome: type[Exception] | None
) -> None:
    if outcome is None:
        authorise_event(actor, event, movement(), CORRIDOR)
    else:
        with pytest.raises(outcome):
            authorise_event(actor, event, movement(), CORRIDOR)


def test_payload_rules() -> None:
    bad = ev(EventType.RELEASE, "XA000001", seals=["A", "B", "A"], time_limit=T0 - timedelta(1))
    assert {(e.field, e.rule) for e in payload_errors(bad)} == {
        ("seals[2]", "seal-repeated"),
        ("time_limit", "time-limit-after"),
    }
