"""Movement Reference Number (NCTS): 18 characters.

2-digit year, ISO 3166-1 alpha-2 country of departure, 12 alphanumerics
that make it unique, a procedure character (J = transit only), a check
character computed over the first 17 characters.
"""

from __future__ import annotations

import re
import secrets
import string

from tripp.codes.checkchar import check_digit

MRN_PATTERN = re.compile(r"^([2][4-9]|[3-9][0-9])[A-Z]{2}[A-Z0-9]{12}[J-M][0-9]$")
# The pattern of transit.md accepts years from 2024; older test vectors (2023)
# still carry a valid check character, so the check and the format are separate.
_ALPHANUM = string.ascii_uppercase + string.digits
TRANSIT_ONLY = "J"


def mrn_problem(mrn: str) -> str | None:
    """Why ``mrn`` is not a valid MRN, or None if it is."""
    if not MRN_PATTERN.match(mrn):
        return f"{mrn!r} does not match the MRN format YYCC + 12 alphanumerics + J-M + check digit"
    if check_digit(mrn[:17]) != int(mrn[17]):
        return f"{mrn!r} has a wrong check character (expected {check_digit(mrn[:17])})"
    return None


def has_valid_check(mrn: str) -> bool:
    """True when the 18th character is the check digit of the first 17."""
    return (
        len(mrn) == 18
        and mrn[17].isdigit()
        and all(c in _ALPHANUM for c in mrn[:17])
        and check_digit(mrn[:17]) == int(mrn[17])
    )


def new_mrn(*, year: int, country: str, procedure: str = TRANSIT_ONLY) -> str:
    """A fresh MRN with a random 12-character serial.

    36**12 serials per year and country make a collision vanishingly rare;
    the store's unique key still catches one, and the caller draws again.
    """
    if not 2024 <= year <= 2099:
        raise ValueError(f"year={year} must be within 2024..2099")
    if len(country) != 2 or not country.isalpha() or not country.isupper():
        raise ValueError(f"country={country!r} must be an ISO 3166-1 alpha-2 code")
    if procedure not in "JKLM":
        raise ValueError(f"procedure={procedure!r} must be one of J, K, L, M")
    serial = "".join(secrets.choice(_ALPHANUM) for _ in range(12))
    body = f"{year % 100:02d}{country}{serial}{procedure}"
    return body + str(check_digit(body))
