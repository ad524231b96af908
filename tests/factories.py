"""Builders for domain objects used across the tests."""

from __future__ import annotations

from datetime import UTC, datetime, time
from decimal import Decimal
from typing import Any

from tripp.corridor.model import (
    Corridor,
    Currencies,
    Office,
    OfficeRole,
    OpeningHours,
    Route,
    Tariff,
    TariffRate,
    TransportMode,
)
from tripp.movements.declaration import Declaration, GoodsItem, Trader, Transport

R = OfficeRole
ALL_WEEK = (OpeningHours(frozenset(range(7)), time(0), time(0), until_midnight=True),)
T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def _office(code: str, country: str, *roles: OfficeRole) -> Office:
    return Office(
        code=code,
        name=code,
        country=country,
        roles=frozenset(roles),
        location=(46.3, 38.9),
        modes=frozenset({TransportMode.ROAD}),
        timezone="UTC",
        opening_hours=ALL_WEEK,
    )


def small_corridor() -> Corridor:
    """A road corridor XA → YB (two transit offices) → XA, in pure Python."""
    offices = [
        _office("XA000001", "XA", R.DEPARTURE, R.DESTINATION),
        _office("YB000001", "YB", R.TRANSIT),
        _office("YB000002", "YB", R.TRANSIT),
        _office("XA000002", "XA", R.DEPARTURE, R.DESTINATION),
    ]
    return Corridor(
        id="SMALL",
        name="Small",
        description="test corridor",
        offices={o.code: o for o in offices},
        routes={
            TransportMode.ROAD: Route(TransportMode.ROAD, "road", ((46.0, 38.9), (46.5, 38.9)))
        },
        buffer_m=500,
        time_limit_hours=24,
        tariff=Tariff(
            Decimal(30), (TariffRate("22", Decimal(60)), TariffRate("2208", Decimal(100)))
        ),
        currencies=Currencies(
            "USD", {"USD": Decimal(1), "EUR": Decimal("1.10"), "JPY": Decimal("0.0066")}
        ),
    )


def declaration(**overrides: Any) -> Declaration:
    goods = overrides.pop(
        "goods", (GoodsItem("870323", "passenger cars", Decimal(12000), 4, Decimal(40000), "USD"),)
    )
    values: dict[str, Any] = {
        "holder": "XA-CARRIER-1",
        "guarantee": "26XA000000000001",
        "office_of_departure": "XA000001",
        "offices_of_transit": ("YB000001", "YB000002"),
        "office_of_destination": "XA000002",
        "transport": Transport(TransportMode.ROAD, "10-AB-123", "AZ", ("CSQU3054383",)),
        "goods": tuple(goods),
        "consignor": Trader("Sender LLC", "AZ"),
        "consignee": Trader("Receiver LLC", "AZ"),
    }
    values.update(overrides)
    return Declaration(**values)
