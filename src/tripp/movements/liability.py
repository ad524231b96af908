"""The liability: duties and taxes at stake, from the corridor's tariff rates."""

from __future__ import annotations

from decimal import Decimal

from tripp.codes.currency import quantize
from tripp.corridor.model import Corridor
from tripp.movements.declaration import GoodsItem

_HUNDRED = Decimal(100)


def liability(goods: tuple[GoodsItem, ...], corridor: Corridor, currency: str) -> Decimal:
    """Sum over items of value x rate(hs_code), converted to ``currency``.

    Rounded once, at the end, half-up to the currency's minor unit, so the
    total does not depend on how the goods are split into items.
    """
    total = Decimal(0)
    for item in goods:
        at_stake = item.value * corridor.tariff.rate_for(item.hs_code) / _HUNDRED
        total += corridor.currencies.convert(at_stake, item.currency, currency)
    return quantize(total, currency)
