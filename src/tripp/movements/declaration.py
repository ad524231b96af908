"""A transit declaration and its validation against the corridor (pure).

Every rule has its own name (``Rule``), reported with the field it concerns,
so a carrier's software can map each error to the input that caused it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from tripp.codes.container import container_problem
from tripp.codes.country import is_country
from tripp.codes.currency import is_currency, minor_units
from tripp.codes.hs import hs_problem
from tripp.corridor.model import Corridor, OfficeRole, TransportMode
from tripp.errors import FieldError, InvalidInput

MAX_OFFICES_OF_TRANSIT = 9


class Rule(StrEnum):
    OFFICE_UNKNOWN = "office-unknown"
    OFFICE_ROLE = "office-role"
    OFFICE_MODE = "office-mode"
    OFFICE_REPEATED = "office-repeated"
    TRANSIT_OFFICES_MAX = "transit-offices-max"
    ROUTE_MODE = "route-mode"
    HS_CODE = "hs-code"
    CONTAINER_NUMBER = "container-number"
    CONTAINER_REPEATED = "container-repeated"
    MASS_POSITIVE = "mass-positive"
    PACKAGES_POSITIVE = "packages-positive"
    VALUE_NON_NEGATIVE = "value-non-negative"
    VALUE_PRECISION = "value-precision"
    CURRENCY_ISO4217 = "currency-iso4217"
    CURRENCY_NOT_ACCEPTED = "currency-not-accepted"
    COUNTRY = "country-iso3166"
    GOODS_REQUIRED = "goods-required"
    GUARANTEE_HOLDER = "guarantee-holder"


@dataclass(frozen=True)
class Trader:
    name: str
    country: str


@dataclass(frozen=True)
class Transport:
    mode: TransportMode
    vehicle_id: str
    nationality: str
    containers: tuple[str, ...] = ()


@dataclass(frozen=True)
class GoodsItem:
    hs_code: str
    description: str
    gross_mass_kg: Decimal
    packages: int
    value: Decimal
    currency: str


@dataclass(frozen=True)
class Declaration:
    holder: str
    guarantee: str
    office_of_departure: str
    offices_of_transit: tuple[str, ...]
    office_of_destination: str
    transport: Transport
    goods: tuple[GoodsItem, ...]
    consignor: Trader
    consignee: Trader

    def offices(self) -> Iterator[tuple[str, OfficeRole, str]]:
        """(field, role needed, office code) for each office of the itinerary."""
        yield "office_of_departure", OfficeRole.DEPARTURE, self.office_of_departure
        for i, code in enumerate(self.offices_of_transit):
            yield f"offices_of_transit[{i}]", OfficeRole.TRANSIT, code
        yield "office_of_destination", OfficeRole.DESTINATION, self.office_of_destination


def _err(field: str, message: str, rule: Rule) -> FieldError:
    return FieldError(field, message, rule.value)


def itinerary_errors(d: Declaration, corridor: Corridor) -> Iterator[FieldError]:
    mode = d.transport.mode
    if mode not in corridor.routes:
        yield _err("transport.mode", f"corridor {corridor.id} has no {mode} route", Rule.ROUTE_MODE)
    if len(d.offices_of_transit) > MAX_OFFICES_OF_TRANSIT:
        yield _err(
            "offices_of_transit",
            f"{len(d.offices_of_transit)} offices of transit; at most {MAX_OFFICES_OF_TRANSIT}",
            Rule.TRANSIT_OFFICES_MAX,
        )
    seen: set[str] = set()
    for field, role, code in d.offices():
        office = corridor.office(code)
        if office is None:
            yield _err(field, f"{code!r} is not an office of {corridor.id}", Rule.OFFICE_UNKNOWN)
            continue
        if not office.has_role(role):
            roles = ", ".join(sorted(office.roles))
            yield _err(field, f"{code} cannot act as {role} (its roles: {roles})", Rule.OFFICE_ROLE)
        if mode not in office.modes:
            yield _err(field, f"{code} does not handle {mode} traffic", Rule.OFFICE_MODE)
        if code in seen:
            yield _err(field, f"{code} appears twice in the itinerary", Rule.OFFICE_REPEATED)
        seen.add(code)


def transport_errors(t: Transport) -> Iterator[FieldError]:
    if not is_country(t.nationality):
        yield _err(
            "transport.nationality", f"{t.nationality!r} is not ISO 3166-1 alpha-2", Rule.COUNTRY
        )
    seen: set[str] = set()
    for i, number in enumerate(t.containers):
        problem = container_problem(number)
        if problem:
            yield _err(f"transport.containers[{i}]", problem, Rule.CONTAINER_NUMBER)
        elif number in seen:
            yield _err(
                f"transport.containers[{i}]", f"{number} is listed twice", Rule.CONTAINER_REPEATED
            )
        seen.add(number)


def goods_errors(goods: tuple[GoodsItem, ...], corridor: Corridor) -> Iterator[FieldError]:
    if not goods:
        yield _err("goods", "a declaration needs at least one goods item", Rule.GOODS_REQUIRED)
    for i, item in enumerate(goods):
        yield from _item_errors(f"goods[{i}]", item, corridor)


def _item_errors(at: str, item: GoodsItem, corridor: Corridor) -> Iterator[FieldError]:
    problem = hs_problem(item.hs_code)
    if problem:
        yield _err(f"{at}.hs_code", problem, Rule.HS_CODE)
    if not item.gross_mass_kg > 0:
        yield _err(f"{at}.gross_mass_kg", f"{item.gross_mass_kg} must be > 0", Rule.MASS_POSITIVE)
    if item.packages < 1:
        yield _err(f"{at}.packages", f"{item.packages} must be >= 1", Rule.PACKAGES_POSITIVE)
    if item.value < 0:
        yield _err(f"{at}.value", f"{item.value} must be >= 0", Rule.VALUE_NON_NEGATIVE)
    yield from currency_errors(f"{at}.currency", item.currency, corridor)
    if is_currency(item.currency) and -item.value.as_tuple().exponent > minor_units(item.currency):  # type: ignore[operator]
        yield _err(
            f"{at}.value",
            f"{item.value} has more decimals than {item.currency} allows",
            Rule.VALUE_PRECISION,
        )


def currency_errors(field: str, code: str, corridor: Corridor) -> Iterator[FieldError]:
    if not is_currency(code):
        yield _err(field, f"{code!r} is not an ISO 4217 currency", Rule.CURRENCY_ISO4217)
    elif code not in corridor.currencies.accepted:
        accepted = ", ".join(sorted(corridor.currencies.accepted))
        yield _err(
            field,
            f"{code} is not accepted on {corridor.id} (accepted: {accepted})",
            Rule.CURRENCY_NOT_ACCEPTED,
        )


def trader_errors(d: Declaration) -> Iterator[FieldError]:
    for role, trader in (("consignor", d.consignor), ("consignee", d.consignee)):
        if not is_country(trader.country):
            yield _err(
                f"{role}.country", f"{trader.country!r} is not ISO 3166-1 alpha-2", Rule.COUNTRY
            )


def guarantee_errors(d: Declaration, *, guarantee_holder: str | None) -> Iterator[FieldError]:
    """``guarantee_holder`` is None when no guarantee ``d.guarantee`` is registered."""
    # One answer for "unknown" and "someone else's": a carrier must not learn
    # which guarantee references exist by lodging against them.
    if guarantee_holder != d.holder:
        yield _err(
            "guarantee",
            f"no guarantee {d.guarantee} is registered to holder {d.holder}",
            Rule.GUARANTEE_HOLDER,
        )


def validate_declaration(
    d: Declaration, corridor: Corridor, *, guarantee_holder: str | None
) -> None:
    """Raise InvalidInput listing every broken rule; return None if the declaration is sound."""
    errors = [
        *itinerary_errors(d, corridor),
        *transport_errors(d.transport),
        *goods_errors(d.goods, corridor),
        *trader_errors(d),
        *guarantee_errors(d, guarantee_holder=guarantee_holder),
    ]
    if errors:
        raise InvalidInput(errors)
