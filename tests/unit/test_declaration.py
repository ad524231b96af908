from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.factories import declaration, small_corridor
from tripp.corridor.model import TransportMode
from tripp.errors import InvalidInput
from tripp.movements.declaration import GoodsItem, Rule, Trader, Transport, validate_declaration
from tripp.movements.liability import liability

CORRIDOR = small_corridor()
HOLDER = "XA-CARRIER-1"


def broken_rules(guarantee_holder: str | None = HOLDER, **overrides: Any) -> set[tuple[str, str]]:
    try:
        validate_declaration(declaration(**overrides), CORRIDOR, guarantee_holder=guarantee_holder)
    except InvalidInput as exc:
        return {(e.field, e.rule) for e in exc.errors}
    return set()


def item(**kw: Any) -> GoodsItem:
    base = GoodsItem("870323", "cars", Decimal(1000), 2, Decimal(500), "USD")
    return replace(base, **kw)


def test_sound_declaration_passes() -> None:
    assert broken_rules() == set()


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"office_of_departure": "ZZ999999"}, ("office_of_departure", Rule.OFFICE_UNKNOWN)),
        ({"office_of_departure": "YB000001"}, ("office_of_departure", Rule.OFFICE_ROLE)),
        ({"offices_of_transit": ("XA000001",)}, ("offices_of_transit[0]", Rule.OFFICE_ROLE)),
        ({"office_of_destination": "YB000002"}, ("office_of_destination", Rule.OFFICE_ROLE)),
        (
            {"offices_of_transit": ("YB000001", "YB000001")},
            ("offices_of_transit[1]", Rule.OFFICE_REPEATED),
        ),
        (
            {"offices_of_transit": ("YB000001",) * 10},
            ("offices_of_transit", Rule.TRANSIT_OFFICES_MAX),
        ),
        (
            {"transport": Transport(TransportMode.RAIL, "T1", "AZ")},
            ("transport.mode", Rule.ROUTE_MODE),
        ),
        (
            {"transport": Transport(TransportMode.ROAD, "T1", "QQ")},
            ("transport.nationality", Rule.COUNTRY),
        ),
        (
            {"transport": Transport(TransportMode.ROAD, "T1", "AZ", ("CSQU3054384",))},
            ("transport.containers[0]", Rule.CONTAINER_NUMBER),
        ),
        (
            {
                "transport": Transport(
                    TransportMode.ROAD, "T1", "AZ", ("CSQU3054383", "CSQU3054383")
                )
            },
            ("transport.containers[1]", Rule.CONTAINER_REPEATED),
        ),
        ({"goods": (item(hs_code="770000"),)}, ("goods[0].hs_code", Rule.HS_CODE)),
        ({"goods": (item(), item(hs_code="87032"))}, ("goods[1].hs_code", Rule.HS_CODE)),
        (
            {"goods": (item(gross_mass_kg=Decimal(0)),)},
            ("goods[0].gross_mass_kg", Rule.MASS_POSITIVE),
        ),
        ({"goods": (item(packages=0),)}, ("goods[0].packages", Rule.PACKAGES_POSITIVE)),
        ({"goods": (item(value=Decimal(-1)),)}, ("goods[0].value", Rule.VALUE_NON_NEGATIVE)),
        ({"goods": (item(value=Decimal("1.001")),)}, ("goods[0].value", Rule.VALUE_PRECISION)),
        ({"goods": (item(currency="XYZ"),)}, ("goods[0].currency", Rule.CURRENCY_ISO4217)),
        ({"goods": (item(currency="GBP"),)}, ("goods[0].currency", Rule.CURRENCY_NOT_ACCEPTED)),
        ({"consignee": Trader("X", "ZZ")}, ("consignee.country", Rule.COUNTRY)),
    ],
)
def test_each_rule_names_its_field(overrides: dict[str, Any], expected: tuple[str, Rule]) -> None:
    field, rule = expected
    assert (field, rule.value) in broken_rules(**overrides)


def test_no_goods() -> None:
    assert ("goods", "goods-required") in broken_rules(goods=())


def test_guarantee_rules() -> None:
    assert ("guarantee", "guarantee-holder") in broken_rules(guarantee_holder=None)
    assert ("guarantee", "guarantee-holder") in broken_rules(guarantee_holder="SOMEONE-ELSE")


def test_all_errors_reported_at_once() -> None:
    rules = broken_rules(
        office_of_departure="ZZ999999", goods=(item(hs_code="1", value=Decimal(-1)),)
    )
    assert {r for _, r in rules} >= {"office-unknown", "hs-code", "value-non-negative"}


def test_liability_uses_most_specific_rate_and_converts() -> None:
    goods = (
        item(hs_code="870323", value=Decimal(1000)),  # default 30 %
        item(hs_code="220300", value=Decimal(1000)),  # chapter 22: 60 %
        item(hs_code="220830", value=Decimal(100), currency="EUR"),  # heading 2208: 100 %, EUR 1.10
    )
    assert liability(goods, CORRIDOR, "USD") == Decimal("1010.00")
    assert liability(goods, CORRIDOR, "JPY") == Decimal(153030)  # 1010 / 0.0066, whole yen


values = st.decimals(min_value=0, max_value=10**6, places=2)


@given(st.lists(values, min_size=1, max_size=8))
def test_liability_does_not_depend_on_item_split(parts: list[Decimal]) -> None:
    split = tuple(item(value=v) for v in parts)
    whole = (item(value=sum(parts, Decimal(0))),)
    assert liability(split, CORRIDOR, "USD") == liability(whole, CORRIDOR, "USD")
