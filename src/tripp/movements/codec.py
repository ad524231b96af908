"""Declarations to and from plain JSON, for the store (pure)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tripp.corridor.model import TransportMode
from tripp.movements.declaration import Declaration, GoodsItem, Trader, Transport


def declaration_to_json(d: Declaration) -> dict[str, Any]:
    return {
        "holder": d.holder,
        "guarantee": d.guarantee,
        "office_of_departure": d.office_of_departure,
        "offices_of_transit": list(d.offices_of_transit),
        "office_of_destination": d.office_of_destination,
        "transport": {
            "mode": d.transport.mode.value,
            "vehicle_id": d.transport.vehicle_id,
            "nationality": d.transport.nationality,
            "containers": list(d.transport.containers),
        },
        "goods": [
            {
                "hs_code": g.hs_code,
                "description": g.description,
                "gross_mass_kg": str(g.gross_mass_kg),
                "packages": g.packages,
                "value": str(g.value),
                "currency": g.currency,
            }
            for g in d.goods
        ],
        "consignor": {"name": d.consignor.name, "country": d.consignor.country},
        "consignee": {"name": d.consignee.name, "country": d.consignee.country},
    }


def declaration_from_json(j: dict[str, Any]) -> Declaration:
    t = j["transport"]
    return Declaration(
        holder=j["holder"],
        guarantee=j["guarantee"],
        office_of_departure=j["office_of_departure"],
        offices_of_transit=tuple(j["offices_of_transit"]),
        office_of_destination=j["office_of_destination"],
        transport=Transport(
            mode=TransportMode(t["mode"]),
            vehicle_id=t["vehicle_id"],
            nationality=t["nationality"],
            containers=tuple(t["containers"]),
        ),
        goods=tuple(
            GoodsItem(
                hs_code=g["hs_code"],
                description=g["description"],
                gross_mass_kg=Decimal(g["gross_mass_kg"]),
                packages=int(g["packages"]),
                value=Decimal(g["value"]),
                currency=g["currency"],
            )
            for g in j["goods"]
        ),
        consignor=Trader(**j["consignor"]),
        consignee=Trader(**j["consignee"]),
    )
