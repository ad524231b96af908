"""ISO 6346 container numbers: owner code, category U/J/Z, 6-digit serial, check digit."""

from __future__ import annotations

import re

from tripp.codes.checkchar import check_digit

CONTAINER_PATTERN = re.compile(r"^[A-Z]{3}[UJZ][0-9]{6}[0-9]$")


def container_problem(number: str) -> str | None:
    """Why ``number`` is not a valid ISO 6346 container number, or None."""
    if not CONTAINER_PATTERN.match(number):
        return (
            f"{number!r} must be 3 letters (owner), U/J/Z (category), "
            "6 digits (serial) and a check digit"
        )
    expected = check_digit(number[:10])
    if expected != int(number[10]):
        return f"{number!r} has a wrong check digit (expected {expected})"
    return None
