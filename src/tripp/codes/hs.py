"""Harmonized System codes: 6 digits whose chapter is 01-97, 77 being reserved."""

from __future__ import annotations

import re

_HS6 = re.compile(r"^[0-9]{6}$")
RESERVED_CHAPTERS = frozenset({77})


def valid_chapter(chapter: int) -> bool:
    return 1 <= chapter <= 97 and chapter not in RESERVED_CHAPTERS


def hs_problem(code: str) -> str | None:
    """Why ``code`` is not a valid 6-digit HS code, or None."""
    if not _HS6.match(code):
        return f"{code!r} must be exactly 6 digits"
    chapter = int(code[:2])
    if not valid_chapter(chapter):
        return f"{code!r} has chapter {code[:2]}, which is not an HS chapter (01-97, not 77)"
    return None
