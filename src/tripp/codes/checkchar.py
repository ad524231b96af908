"""The ISO 6346 check character, also used by NCTS for MRN and GRN.

Digits keep their value; letters count up from A=10 skipping the multiples
of 11 (so B=12, L=23, V=34, Z=38). Position i (0-based) weighs 2**i; the
sum mod 11 is the check digit, with 10 written as 0.
"""

from __future__ import annotations

import string


def _letter_values() -> dict[str, int]:
    values: dict[str, int] = {}
    n = 10
    for letter in string.ascii_uppercase:
        if n % 11 == 0:
            n += 1
        values[letter] = n
        n += 1
    return values


_VALUES = {**{d: int(d) for d in string.digits}, **_letter_values()}


def check_digit(body: str) -> int:
    """Check digit of ``body`` (digits and capital letters only).

    Raises ValueError naming the first character outside [0-9A-Z].
    """
    total = 0
    for i, ch in enumerate(body):
        value = _VALUES.get(ch)
        if value is None:
            raise ValueError(f"character {ch!r} at position {i} is not 0-9 or A-Z")
        total += value << i
    return total % 11 % 10
