from __future__ import annotations

import string
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tripp.codes.checkchar import check_digit
from tripp.codes.container import container_problem
from tripp.codes.currency import from_minor, is_currency, minor_units, money_str, to_minor
from tripp.codes.grn import grn_problem, new_grn
from tripp.codes.hs import hs_problem
from tripp.codes.mrn import MRN_PATTERN, has_valid_check, mrn_problem, new_mrn

ALNUM = string.ascii_uppercase + string.digits


@pytest.mark.parametrize("mrn", ["23GB000246IF9W5YJ0", "24GB000246J8NY33L7"])
def test_reference_mrns_have_valid_check_characters(mrn: str) -> None:
    assert has_valid_check(mrn)


def test_mrn_format_starts_in_2024() -> None:
    assert mrn_problem("24GB000246J8NY33L7") is None
    assert "format" in (mrn_problem("23GB000246IF9W5YJ0") or "")


def test_reference_grn_and_container_are_valid() -> None:
    assert grn_problem("24GB0000010000295") is None
    assert container_problem("CSQU3054383") is None


def test_letter_values_skip_multiples_of_eleven() -> None:
    # A=10, B=12 (11 skipped): "B" at position 0 weighs 12 -> 12 % 11 = 1.
    assert check_digit("A") == 10 % 11 % 10
    assert check_digit("B") == 1
    assert check_digit("L") == 23 % 11
    assert check_digit("Z") == 38 % 11


@given(st.integers(2024, 2099), st.sampled_from(["AZ", "AM", "GE", "TR"]))
def test_new_mrn_is_well_formed(year: int, country: str) -> None:
    mrn = new_mrn(year=year, country=country)
    assert MRN_PATTERN.match(mrn)
    assert mrn_problem(mrn) is None
    assert mrn[2:4] == country and mrn[16] == "J"


@given(st.data())
def test_any_other_check_digit_is_refused(data: st.DataObject) -> None:
    mrn = new_mrn(year=2026, country="AM")
    wrong = data.draw(st.sampled_from([d for d in string.digits if d != mrn[17]]))
    assert "check character" in (mrn_problem(mrn[:17] + wrong) or "")


@given(st.text(ALNUM, min_size=12, max_size=12))
def test_new_grn_check(serial: str) -> None:
    grn = new_grn(year=2026, country="AZ")
    assert grn_problem(grn) is None
    body = f"26AZ{serial}"
    assert grn_problem(body + str(check_digit(body))) is None
    assert grn_problem(body + str((check_digit(body) + 1) % 10)) is not None


@pytest.mark.parametrize("digit", [d for d in string.digits if d != "3"])
def test_container_with_altered_check_digit_is_refused(digit: str) -> None:
    assert "check digit" in (container_problem("CSQU305438" + digit) or "")


@pytest.mark.parametrize("bad", ["CSQ3054383", "CSQX3054383", "csqu3054383", "CSQU30543831"])
def test_container_format(bad: str) -> None:
    assert container_problem(bad) is not None


@pytest.mark.parametrize(
    ("code", "ok"),
    [
        ("870323", True),
        ("010121", True),
        ("970110", True),
        ("000000", False),
        ("770000", False),
        ("980000", False),
        ("87032", False),
        ("8703234", False),
        ("87O323", False),
    ],
)
def test_hs_codes(code: str, ok: bool) -> None:
    assert (hs_problem(code) is None) is ok


def test_currencies_and_minor_units() -> None:
    assert is_currency("AZN") and is_currency("AMD") and not is_currency("XXX1")
    assert minor_units("USD") == 2 and minor_units("JPY") == 0 and minor_units("KWD") == 3
    assert money_str(Decimal("25000"), "USD") == "25000.00"
    with pytest.raises(ValueError, match="more decimals"):
        to_minor(Decimal("1.001"), "USD")


@given(st.integers(-(10**15), 10**15), st.sampled_from(["USD", "JPY", "KWD", "AMD"]))
def test_minor_units_round_trip(units: int, currency: str) -> None:
    assert to_minor(from_minor(units, currency), currency) == units
