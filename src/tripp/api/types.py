"""Shared Pydantic field types for the HTTP schemas.

They bound sizes and reject characters no store can keep (NUL, lone
surrogates), so hostile input gets a 422 naming the field rather than a
database error; the domain applies the business rules after them.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, Field

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _storable(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("must be valid Unicode text") from exc
    return value


def text(max_length: int, min_length: int = 1) -> object:
    return Annotated[
        str, Field(min_length=min_length, max_length=max_length), AfterValidator(_storable)
    ]


Code = Annotated[str, Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9]+$")]
Identifier = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]
PartyId = Annotated[str, Field(min_length=2, max_length=64, pattern=r"^[A-Z0-9][A-Z0-9-]+$")]
Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_storable)]
LongText = Annotated[str, Field(min_length=1, max_length=2000), AfterValidator(_storable)]
# Amounts are bounded so that any liability fits the store's 64-bit minor units.
Amount = Annotated[Decimal, Field(allow_inf_nan=False, ge=-(10**12), le=10**12)]
Mass = Annotated[Decimal, Field(allow_inf_nan=False, ge=-(10**9), le=10**9)]
Count = Annotated[int, Field(ge=-(10**9), le=10**9)]
Money = Annotated[str, Field(pattern=r"^-?[0-9]+(\.[0-9]+)?$", examples=["25000.00"])]
Reference = Annotated[str, Field(min_length=1, max_length=24, pattern=r"^[A-Za-z0-9]+$")]
