"""The ``currencies`` of a corridor file: a base currency and exchange rates to it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from tripp.codes.currency import is_currency
from tripp.corridor.fields import Node, to_decimal
from tripp.corridor.model import Currencies


def read_currencies(root: Node) -> Currencies | None:
    node = root.child("currencies")
    if node is None:
        return None
    base = _currency_code(node, "base", node.get("base"))
    as_of = _as_of(node)
    estimated = node.flag("estimated")
    rates = _rates_to_base(node, base)
    node.finish()
    if base is None or rates is None or as_of is None:
        return None
    return Currencies(base, rates, as_of, estimated)


def _currency_code(node: Node, key: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not is_currency(value):
        node.error(key, f"{value!r} is not an ISO 4217 currency code", "currency")
        return None
    return value


def _as_of(node: Node) -> str | None:
    """The date the rates were taken, as ISO 8601; "" when not given, None when invalid."""
    value = node.get("as_of", required=False)
    if value is None:
        return ""
    if isinstance(value, date):  # YAML reads an unquoted 2026-01-15 as a date
        return value.isoformat()[:10]
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        node.error("as_of", f"must be a date YYYY-MM-DD, got {value!r}", "type")
        return None


def _rates_to_base(node: Node, base: str | None) -> dict[str, Decimal] | None:
    """How many base units one unit of each currency is worth: positive, base = 1."""
    rates_node = node.child("rates_to_base")
    if rates_node is None:
        return None
    rates: dict[str, Decimal] = {}
    valid = rates_node.is_mapping
    for code, value in rates_node.entries():
        rate = to_decimal(value)
        known = _currency_code(rates_node, code, code) is not None
        if rate is None or rate <= 0:
            message = f"must be a positive number of {base or 'base'} units, got {value!r}"
            rates_node.error(code, message, "currency-rate")
            rate = None
        valid = valid and known and rate is not None
        if known and rate is not None:
            rates[code] = rate
    listed_but_broken = base in dict(rates_node.entries()) and base not in rates
    if base is not None and not listed_but_broken and rates.get(base) != 1:
        message = f"the base currency {base} must be listed with rate 1, got {rates.get(base)}"
        node.error("rates_to_base", message, "currency-base")
        valid = False
    return rates if valid else None
