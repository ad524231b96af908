"""Parties and roles (pure). A token acts for one party in one role."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from tripp.codes.country import is_country
from tripp.errors import FieldError, InvalidInput


class Role(StrEnum):
    ADMIN = "admin"
    CUSTOMS = "customs"
    CARRIER = "carrier"
    OPERATOR = "operator"
    OBSERVER = "observer"


PARTY_ID = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,63}$")


@dataclass(frozen=True)
class Party:
    id: str
    role: Role
    country: str | None
    name: str = ""

    def __post_init__(self) -> None:
        errors: list[FieldError] = []
        if not PARTY_ID.match(self.id):
            errors.append(
                FieldError("id", f"{self.id!r} must be 2-64 of A-Z, 0-9 and '-'", "party-id")
            )
        if self.country is not None and not is_country(self.country):
            errors.append(
                FieldError("country", f"{self.country!r} is not ISO 3166-1 alpha-2", "country")
            )
        if self.role is Role.CUSTOMS and self.country is None:
            errors.append(FieldError("country", "a customs party needs its country", "required"))
        if errors:
            raise InvalidInput(errors)


@dataclass(frozen=True)
class Actor:
    """Who is calling: the party and the role its token carries."""

    party: str
    role: Role
    country: str | None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


SYSTEM_ACTOR = Actor(party="SYSTEM", role=Role.ADMIN, country=None)

BUILTIN_PARTIES = (
    Party("SYSTEM", Role.ADMIN, None, "tripp system administration"),
    Party("AZ-CUSTOMS", Role.CUSTOMS, "AZ", "State Customs Committee of Azerbaijan"),
    Party("AM-CUSTOMS", Role.CUSTOMS, "AM", "State Revenue Committee of Armenia, customs"),
    Party("CORRIDOR-OPERATOR", Role.OPERATOR, "AM", "TRIPP corridor operator"),
    Party("WORKING-GROUP", Role.OBSERVER, None, "Bilateral working group"),
)
