"""Tariff precedence and currency conversion of the corridor value objects."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tripp.corridor.model import Currencies, Tariff, TariffRate

TARIFF = Tariff(
    default_rate_pct=Decimal("30"),
    rates=(
        TariffRate("2402", Decimal("150")),  # listed before its chapter: order must not matter
        TariffRate("24", Decimal("80")),
        TariffRate("87", Decimal("40")),
        TariffRate("2710", Decimal("45")),
    ),
)


@pytest.mark.parametrize(
    ("hs_code", "rate"),
    [
        ("240220", "150"),  # the heading beats its chapter
        ("240110", "80"),  # the chapter when no heading matches
        ("870323", "40"),
        ("271012", "45"),  # a heading without a chapter rate
        ("271111", "30"),  # same chapter, other heading: the default
        ("010121", "30"),
    ],
)
def test_rate_for_prefers_heading_then_chapter_then_default(hs_code: str, rate: str) -> None:
    assert TARIFF.rate_for(hs_code) == Decimal(rate)


chapters = st.integers(1, 97).filter(lambda c: c != 77).map(lambda c: f"{c:02d}")
digits = st.text("0123456789", min_size=2, max_size=2)
rates = st.decimals(min_value=0, max_value=500, places=2)


@given(chapter=chapters, heading=digits, rest=digits, r_chapter=rates, r_heading=rates)
def test_rate_for_property(
    chapter: str, heading: str, rest: str, r_chapter: Decimal, r_heading: Decimal
) -> None:
    hs_code = chapter + heading + rest
    default = Decimal("12.5")
    only_chapter = Tariff(default, (TariffRate(chapter, r_chapter),))
    both = Tariff(
        default,
        (TariffRate(chapter + heading, r_heading), TariffRate(chapter, r_chapter)),
    )
    assert Tariff(default).rate_for(hs_code) == default
    assert only_chapter.rate_for(hs_code) == r_chapter
    assert both.rate_for(hs_code) == r_heading
    assert both.rate_for(chapter + f"{(int(heading) + 1) % 100:02d}" + rest) == r_chapter


CURRENCIES = Currencies(
    "USD", {"USD": Decimal(1), "AZN": Decimal("0.5882"), "EUR": Decimal("1.17")}
)


def test_convert_goes_through_the_base_without_rounding() -> None:
    assert CURRENCIES.convert(Decimal("1700"), "AZN", "USD") == Decimal("999.9400")
    assert CURRENCIES.convert(Decimal("100"), "EUR", "AZN") == Decimal("117") / Decimal("0.5882")
    assert CURRENCIES.convert(Decimal("5"), "EUR", "EUR") == Decimal("5")
    assert CURRENCIES.accepted == {"USD", "AZN", "EUR"}


def test_convert_refuses_an_unlisted_currency() -> None:
    with pytest.raises(KeyError):
        CURRENCIES.convert(Decimal(1), "AMD", "USD")


@given(st.decimals(min_value=0, max_value=10**9, places=2))
def test_convert_there_and_back_is_close(amount: Decimal) -> None:
    back = CURRENCIES.convert(CURRENCIES.convert(amount, "AZN", "EUR"), "EUR", "AZN")
    assert abs(back - amount) <= Decimal("1e-15") * max(amount, Decimal(1))
