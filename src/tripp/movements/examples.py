"""A sound example declaration along an itinerary: the demo, the tests and the
benchmarks lodge the same thing, so it is written once."""

from __future__ import annotations

from typing import Any

from tripp.corridor.model import Itinerary


def example_declaration(
    itinerary: Itinerary, guarantee: str, holder: str, **overrides: Any
) -> dict[str, Any]:
    """The JSON body of ``POST /movements``: passenger cars in one container, by road.

    ``overrides`` replace top-level fields.
    """
    body: dict[str, Any] = {
        "holder": holder,
        "guarantee": guarantee,
        "office_of_departure": itinerary.office_of_departure,
        "offices_of_transit": list(itinerary.offices_of_transit),
        "office_of_destination": itinerary.office_of_destination,
        "transport": {
            "mode": itinerary.mode.value,
            "vehicle_id": "10-AZ-123",
            "nationality": "AZ",
            "containers": ["CSQU3054383"],
        },
        "goods": [
            {
                "hs_code": "870323",
                "description": "passenger cars",
                "gross_mass_kg": "12000",
                "packages": 4,
                "value": "40000.00",
                "currency": "USD",
            }
        ],
        "consignor": {"name": "Baku Motors LLC", "country": "AZ"},
        "consignee": {"name": "Nakhchivan Auto LLC", "country": "AZ"},
    }
    body.update(overrides)
    return body
