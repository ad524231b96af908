"""The bundled TRIPP fee schedule (version 1) as a plain dict, and its validated form.

Armenia keeps "taxes, customs duties and fees" on its section of the route (TRIPP
Implementation Framework, January 2026), so the authority is Armenian; the front offices'
private operators only collect. Nothing official gives the amounts yet (late 2026): every
amount below is OUR ESTIMATE, marked ``estimated: true``, for planning and demos, to be
replaced by the schedule the authority publishes (``docs/fees.md``).

Why AMD, not USD: the fee is an Armenian public charge, and Armenia's currency rules have
prices and payments inside the country stated in drams; a schedule in drams is what the
authority can publish as is. A carrier paying in USD, EUR or AZN pays through a bank or card
acquirer that converts to AMD outside the ledger, so the ledger never holds a rate.
USD equivalents in the comments use the corridor file's rate (1 AMD = 0.0026 USD, about
385 AMD per USD). ISO 4217 gives AMD two decimals; the amounts are whole drams anyway.

Why the authority is ``AM-CUSTOMS``: Armenia's State Revenue Committee already collects
road charges on foreign vehicles at its border posts, and ``AM-CUSTOMS`` is a built-in
party; a separate fee body can take over by publishing the next version under its own id.
"""

from __future__ import annotations

import copy
from typing import Any

from tripp.fees.schedule import ScheduleSet, from_dict

_TRUCK_CLASSES = ["truck"]
_RAIL_CLASSES = ["wagon", "train"]

_DEFAULT: dict[str, Any] = {
    "timezone": "Asia/Yerevan",
    "schedules": [
        {
            "id": "AM-TRIPP-1",
            "authority": "AM-CUSTOMS",
            "country": "AM",
            "currency": "AMD",
            # A placeholder start, so that the schedule is in force in demos and tests; the
            # authority publishes the real date. Open-ended: the next version closes it.
            "effective_from": "2026-01-01",
            "estimated": True,
            "description": (
                "Transit fee for crossing Armenia on the TRIPP corridor (about 43 km by rail, "
                "35-40 km by road). Estimated amounts, not official."
            ),
            "lines": [
                {
                    "vehicle_class": "truck",
                    # About 52 USD for a 2-axle lorry: the order of the road-use charges that
                    # the region's countries levy on foreign lorries for a short transit.
                    "amount": "20000.00",
                    # Road wear grows steeply with axle load, and more axles mean a heavier
                    # combination: 5-axle articulated lorry = 35,000 AMD (about 91 USD).
                    "per_axle": "5000.00",
                    "axles_included": 2,
                    # Per TEU rather than per container, so a 40' box pays twice a 20' one.
                    "per_teu": "3000.00",
                    "description": "goods vehicle over 3.5 t",
                },
                {"vehicle_class": "van", "amount": "8000.00", "description": "goods, to 3.5 t"},
                {
                    "vehicle_class": "bus",
                    # Per vehicle only: a per-person charge would read as an entry tax on
                    # people, against the "unimpeded connectivity" of the Joint Declaration.
                    "amount": "12000.00",
                    "description": "coach or bus",
                },
                {"vehicle_class": "car", "amount": "4000.00", "description": "passenger car"},
                {"vehicle_class": "motorcycle", "amount": "2000.00"},
                {
                    "vehicle_class": "wagon",
                    # A wagon announced on its own (e.g. in a mixed Armenian train).
                    "amount": "12000.00",
                    "per_teu": "3000.00",
                    "description": "rail wagon",
                },
                {
                    "vehicle_class": "train",
                    # A whole block train announced as one vehicle, with its total gross
                    # mass; never announce its wagons as well, or they pay twice.
                    "amount": "60000.00",
                    "per_teu": "3000.00",
                    "description": "whole freight train (locomotive and wagons)",
                },
            ],
            "bands": [
                # Lorries: the base amount covers up to 20 t gross. Beyond that, per tonne,
                # steeply above the 40 t legal maximum that the risk rules also use: a
                # special permit load damages the mountain road most.
                {"vehicle_classes": _TRUCK_CLASSES, "from_t": 0, "to_t": 20, "amount": "0"},
                {"vehicle_classes": _TRUCK_CLASSES, "from_t": 20, "to_t": 40, "amount": "300.00"},
                {"vehicle_classes": _TRUCK_CLASSES, "from_t": 40, "amount": "1500.00"},
                # Rail: 150 AMD (about 0.39 USD) per gross tonne. A 4,000 t gross train pays
                # 660,000 AMD (about 1,700 USD); the forecast 15 Mt of goods a year (about
                # 20 Mt gross in 14-16 trains a day) would bring roughly 9 M USD a year.
                {"vehicle_classes": _RAIL_CLASSES, "from_t": 0, "amount": "150.00"},
            ],
            "exemptions": [
                {
                    "id": "humanitarian",
                    "kind": "claim",
                    "values": ["humanitarian"],
                    # Relief consignments pass free of charges under the Revised Kyoto
                    # Convention (Specific Annex J, chapter 5); staff check the papers.
                    "reason": "humanitarian relief consignment",
                },
                {
                    "id": "diplomatic",
                    "kind": "claim",
                    "values": ["diplomatic"],
                    # Vienna Convention on Diplomatic Relations, art. 36: no charges other
                    # than for specific services on diplomatic goods.
                    "reason": "diplomatic vehicle or consignment",
                },
                {
                    "id": "corridor-service",
                    "kind": "party",
                    "values": ["CORRIDOR-OPERATOR"],
                    # The operator's own maintenance and service runs keep the route open.
                    "reason": "service vehicle of the corridor operator",
                },
                # No exemption by HS chapter: nothing official names exempt goods, and a
                # chapter alone (e.g. 30, medicines) cannot tell relief from trade.
            ],
        }
    ],
}


def default_schedule_dict() -> dict[str, Any]:
    """A fresh copy of the bundled fees section (what ``fees:`` in tripp.yaml would hold)."""
    return copy.deepcopy(_DEFAULT)


def default_schedules() -> ScheduleSet:
    """The bundled schedule set, validated."""
    return from_dict(default_schedule_dict())
