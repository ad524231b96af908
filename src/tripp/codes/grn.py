"""Guarantee Reference Number (NCTS).

2-digit year, country alpha-2, 12 alphanumerics, a check digit over the
first 16 characters, and an optional access-code suffix (letter + 6 digits).
"""

from __future__ import annotations

import re
import secrets
import string

from tripp.codes.checkchar import check_digit

GRN_PATTERN = re.compile(r"^[0-9]{2}[A-Z]{2}[A-Z0-9]{12}[0-9]([A-Z][0-9]{6})?$")
_ALPHANUM = string.ascii_uppercase + string.digits


def grn_problem(grn: str) -> str | None:
    """Why ``grn`` is not a valid GRN, or None if it is."""
    if not GRN_PATTERN.match(grn):
        return f"{grn!r} does not match the GRN format YYCC + 12 alphanumerics + check digit"
    if check_digit(grn[:16]) != int(grn[16]):
        return f"{grn!r} has a wrong check character (expected {check_digit(grn[:16])})"
    return None


def new_grn(*, year: int, country: str) -> str:
    """A fresh GRN; uniqueness is enforced by the store's key."""
    if len(country) != 2 or not country.isalpha() or not country.isupper():
        raise ValueError(f"country={country!r} must be an ISO 3166-1 alpha-2 code")
    serial = "".join(secrets.choice(_ALPHANUM) for _ in range(12))
    body = f"{year % 100:02d}{country}{serial}"
    return body + str(check_digit(body))
