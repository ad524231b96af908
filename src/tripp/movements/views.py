"""Movement and event views per caller: the operator gets no commercial data."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from tripp.codes.currency import money_str
from tripp.movements.model import Movement, allowed_events
from tripp.movements.store import StoredEvent


def movement_view(m: Movement, *, commercial: bool) -> dict[str, Any]:
    d = m.declaration
    view: dict[str, Any] = {
        "mrn": m.mrn,
        "state": m.state.value,
        "view": "full" if commercial else "operational",
        "holder": m.holder,
        "office_of_departure": d.office_of_departure,
        "offices_of_transit": list(d.offices_of_transit),
        "office_of_destination": d.office_of_destination,
        "transport": {
            "mode": d.transport.mode.value,
            "vehicle_id": d.transport.vehicle_id,
            "nationality": d.transport.nationality,
            "containers": list(d.transport.containers),
        },
        "goods": [_goods(g, commercial) for g in d.goods],
        "seals": list(m.seals),
        "tracker_id": m.tracker_id,
        "accepted_at": _time(m.accepted_at),
        "released_at": _time(m.released_at),
        "time_limit": _time(m.time_limit),
        "arrived_at": _time(m.arrived_at),
        "updated_at": _time(m.updated_at or m.accepted_at),
        "allowed_events": [t.value for t in allowed_events(m.state)],
    }
    if commercial:
        view["guarantee"] = m.guarantee
        view["liability"] = {
            "amount": money_str(m.liability, m.liability_currency),
            "currency": m.liability_currency,
        }
        view["consignor"] = {"name": d.consignor.name, "country": d.consignor.country}
        view["consignee"] = {"name": d.consignee.name, "country": d.consignee.country}
    return view


def _goods(g: Any, commercial: bool) -> dict[str, Any]:
    item: dict[str, Any] = {
        "hs_code": g.hs_code,
        "gross_mass_kg": f"{g.gross_mass_kg:f}",
        "packages": g.packages,
    }
    if commercial:
        item.update(
            description=g.description, value=money_str(g.value, g.currency), currency=g.currency
        )
    return item


def _time(value: Any) -> str | None:
    if value is None:
        return None
    return str(value.astimezone(UTC).isoformat().replace("+00:00", "Z"))


def event_view(s: StoredEvent) -> dict[str, Any]:
    e = s.event
    return {
        "id": e.id,
        "type": e.type.value,
        "office": e.office,
        "at": _time(e.at),
        "recorded_at": _time(s.recorded_at),
        "recorded_by": e.recorded_by,
        "state_before": s.state_before.value,
        "state_after": s.state_after.value,
        "payload": {k: _time(v) if hasattr(v, "isoformat") else v for k, v in e.payload.items()},
    }


def recorded_view(s: StoredEvent) -> dict[str, Any]:
    return {
        "mrn": s.mrn,
        "state": s.state_after.value,
        "previous_state": s.state_before.value,
        "allowed_events": [t.value for t in allowed_events(s.state_after)],
        "event": event_view(s),
    }
