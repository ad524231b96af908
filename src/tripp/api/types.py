"""Shared Pydantic field types for the HTTP schemas.

They bound sizes and reject characters no store can keep (NUL, lone
surrogates), so hostile input gets a 422 naming the field rather than a
database error; the domain applies the business rules after them.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _storable(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("must be valid Unicode text") from exc
    return value


Code = Annotated[str, Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9]+$")]
Identifier = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]
PartyId = Annotated[str, Field(min_length=2, max_length=64, pattern=r"^[A-Z0-9][A-Z0-9-]+$")]
Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_storable)]
LongText = Annotated[str, Field(min_length=1, max_length=2000), AfterValidator(_storable)]
DECIMAL_TEXT = r"^-?[0-9]+(\.[0-9]+)?$"
_DECIMAL_TEXT = re.compile(DECIMAL_TEXT)


def _decimal_text(value: object) -> object:
    """A decimal given as text is plain digits (API.md: ``"25000.00"``): Python's
    ``Decimal`` would also read ``" 1e3 "``, ``"+5"`` or ``"1_000"``, which the published
    schema does not allow and a client's other tools would read differently."""
    if isinstance(value, str) and not _DECIMAL_TEXT.match(value):
        raise PydanticCustomError(
            "decimal_parsing", "Input should be a decimal string such as '25000.00'"
        )
    return value


class _TextPattern:
    """Annotation: the JSON schema's text branch says which text a decimal may be."""

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        for branch in schema.get("anyOf", ()):
            if branch.get("type") == "string":
                branch["pattern"] = DECIMAL_TEXT
        return schema


# Metadata for a decimal read from a JSON body: a JSON number, or text of plain digits.
# It goes after the decimal's ``Field``, so that the schema it amends has the bounds.
DecimalText = (BeforeValidator(_decimal_text), _TextPattern())

# Amounts are bounded so that any liability fits the store's 64-bit minor units.
# Digits are bounded too: an exponent like 1e-50000000 is tiny in JSON and huge in print.
Amount = Annotated[
    Decimal,
    Field(allow_inf_nan=False, ge=-(10**12), le=10**12, max_digits=20, decimal_places=6),
    *DecimalText,
]
Mass = Annotated[
    Decimal,
    Field(allow_inf_nan=False, ge=-(10**9), le=10**9, max_digits=16, decimal_places=3),
    *DecimalText,
]


def _json_number(kind: str, name: str) -> BeforeValidator:
    """Lax mode reads ``"3"`` and ``true`` as numbers; the schema says a JSON number.
    The rules keep Pydantic's names (``int_parsing`` for text, ``int_type`` for a bool)."""

    def check(value: object) -> object:
        if isinstance(value, bool):
            raise PydanticCustomError(f"{kind}_type", f"Input should be {name}, not a boolean")
        if isinstance(value, str):
            raise PydanticCustomError(f"{kind}_parsing", f"Input should be {name}, not text")
        return value

    return BeforeValidator(check)


# Metadata for a number read from a JSON body: ``Annotated[int, JsonInt, Field(...)]``.
JsonInt = _json_number("int", "a valid integer")
JsonFloat = _json_number("float", "a valid number")
Count = Annotated[int, JsonInt, Field(ge=-(10**9), le=10**9)]
Money = Annotated[str, Field(pattern=r"^-?[0-9]+(\.[0-9]+)?$", examples=["25000.00"])]
Reference = Annotated[str, Field(min_length=1, max_length=24, pattern=r"^[A-Za-z0-9]+$")]


def _utc(value: datetime) -> datetime:
    """Any offset in, UTC out; years outside 1970-9000 are refused (no overflow later)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)  # RFC 3339 without an offset: read as UTC
    if not 1970 <= value.year <= 9000:
        raise ValueError("must be between the years 1970 and 9000")
    return value.astimezone(UTC)


# Pydantic's lax mode reads a number as a Unix time (``?day=0`` is 1970-01-01): the schema
# says an RFC 3339 string, so only a string of that form gets to the parser.
_DATE_TIME_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}")
_DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _date_time_text(value: object) -> object:
    if isinstance(value, datetime):  # built in Python, not read from a request
        return value
    if not isinstance(value, str):
        raise PydanticCustomError(
            "datetime_type", "must be an RFC 3339 date-time string, like 2026-01-31T12:00:00Z"
        )
    if not _DATE_TIME_TEXT.match(value):
        raise PydanticCustomError(
            "datetime_parsing", "must be an RFC 3339 date-time, like 2026-01-31T12:00:00Z"
        )
    return value


def _date_text(value: object) -> object:
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise PydanticCustomError("date_type", "must be a date string, YYYY-MM-DD")
    if not _DATE_TEXT.fullmatch(value):
        raise PydanticCustomError("date_parsing", "must be a date, YYYY-MM-DD")
    return value


# An event time: the offset is required, the stored and answered value is UTC.
UtcTime = Annotated[AwareDatetime, BeforeValidator(_date_time_text), AfterValidator(_utc)]
# A query bound: an offset is optional (none means UTC).
QueryTime = Annotated[datetime, BeforeValidator(_date_time_text), AfterValidator(_utc)]
# A calendar day, YYYY-MM-DD.
QueryDate = Annotated[date, BeforeValidator(_date_text)]
Mrn = Annotated[str, Field(min_length=1, max_length=18, pattern=r"^[A-Z0-9]+$")]
ClientId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$",
        description="Chosen by the client; unique per movement",
    ),
]
