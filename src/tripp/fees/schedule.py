"""The transit fee schedule: versioned data set by a fee authority, read from a plain dict.

The dict is what the ``fees:`` section of a corridor file holds; docs/fees.md has the
format with an example. A ``ScheduleSet`` is every version (``FeeSchedule``) of every
authority, each in force from ``effective_from`` to ``effective_to`` (inclusive, days in
the set's ``timezone``), in one ISO 4217 currency, with tariff lines by vehicle class
(per vehicle, per axle, per container, TEU and passenger), per-tonne gross-mass bands and
exemptions. Versions of one authority may not overlap in time.

Amounts are decimal strings (or whole numbers), never floats, with at most the currency's
minor-unit decimals; they are kept as ``Decimal`` quantised to that unit. ``from_dict``
raises ``InvalidInput`` naming every broken field by its full path
(``fees.schedules[1].bands[0].amount``) and rule (``Check``); ``to_dict`` writes the
canonical dict back, which ``from_dict`` reads into an equal set.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tripp.codes.country import is_country
from tripp.codes.currency import is_currency, minor_units, quantize
from tripp.codes.hs import valid_chapter
from tripp.corridor.fields import Node, Sink, kind_of
from tripp.errors import Conflict, FieldError, Forbidden, InvalidInput
from tripp.parties.model import PARTY_ID

DEFAULT_TIMEZONE = "Asia/Yerevan"  # Armenia sets the fees, so its calendar days count
ZERO = Decimal(0)
MAX_AMOUNT = Decimal(10) ** 15  # far above any fee; keeps Decimal arithmetic exact (28 digits)
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_TOKEN = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")  # vehicle classes and exemption claims
_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_COMPONENTS = ("per_axle", "per_container", "per_teu", "per_passenger")
T = TypeVar("T")


class Check(StrEnum):
    """The names of the rules a fees dict can break (``FieldError.rule``)."""

    TYPE = "type"
    REQUIRED = "required"
    UNKNOWN_FIELD = "unknown-field"
    DUPLICATE = "duplicate"
    TIMEZONE = "timezone"
    SCHEDULE_ID = "schedule-id"
    AUTHORITY = "authority-party-id"
    COUNTRY = "country-iso3166"
    CURRENCY = "currency-iso4217"
    CURRENCY_ACCEPTED = "currency-accepted"
    DATE = "date"
    EFFECTIVE_ORDER = "effective-order"
    EFFECTIVE_OVERLAP = "effective-overlap"
    VEHICLE_CLASS = "vehicle-class"
    AMOUNT = "amount"
    AMOUNT_RANGE = "amount-range"
    AMOUNT_PRECISION = "amount-precision"
    AXLES = "axles-included"
    BAND_RANGE = "band-range"
    BAND_CLASS = "band-vehicle-class"
    BAND_OVERLAP = "band-overlap"
    EXEMPTION_ID = "exemption-id"
    EXEMPTION_KIND = "exemption-kind"
    EXEMPTION_VALUE = "exemption-value"


class ExemptionKind(StrEnum):
    CLAIM = "claim"  # the announcement claims it (e.g. humanitarian); staff check the papers
    HS_CHAPTER = "hs_chapter"  # every goods item is in one of the listed HS chapters
    PARTY = "party"  # the holder is one of the listed parties


class ScheduleNotInForce(Conflict):
    """No schedule, or more than one authority's, is in force for what is assessed."""

    title = "No fee schedule in force"
    slug = "fee-schedule-not-in-force"
    rule = "schedule-in-force"


@dataclass(frozen=True)
class TariffLine:
    """What one vehicle of ``vehicle_class`` pays, in the schedule's currency units.

    ``amount`` per vehicle; ``per_axle`` per axle above ``axles_included``; ``per_container``,
    ``per_teu`` and ``per_passenger`` per container, TEU and passenger on board.
    """

    vehicle_class: str
    amount: Decimal
    per_axle: Decimal = ZERO
    axles_included: int = 0
    per_container: Decimal = ZERO
    per_teu: Decimal = ZERO
    per_passenger: Decimal = ZERO
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"vehicle_class": self.vehicle_class, "amount": f"{self.amount:f}"}
        out |= {k: f"{getattr(self, k):f}" for k in _COMPONENTS if getattr(self, k)}
        if self.axles_included:
            out["axles_included"] = self.axles_included
        if self.description:
            out["description"] = self.description
        return out


@dataclass(frozen=True)
class MassBand:
    """``amount`` per tonne of gross mass between ``from_t`` and ``to_t`` (open when None).

    Bands are marginal, like tax brackets: a 30 t truck pays the 20-40 t band's rate on 10 t.
    """

    vehicle_classes: tuple[str, ...]
    from_t: Decimal
    to_t: Decimal | None
    amount: Decimal

    def tonnes_in(self, tonnes: Decimal) -> Decimal:
        """The part of ``tonnes`` (gross mass, t) that falls within the band."""
        top = tonnes if self.to_t is None else min(tonnes, self.to_t)
        return max(top - self.from_t, ZERO)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"vehicle_classes": list(self.vehicle_classes)}
        out["from_t"] = _number_out(self.from_t)
        if self.to_t is not None:
            out["to_t"] = _number_out(self.to_t)
        return out | {"amount": f"{self.amount:f}"}


@dataclass(frozen=True)
class Exemption:
    id: str
    kind: ExemptionKind
    values: tuple[str, ...]
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind.value, "values": list(self.values)} | {
            "reason": self.reason
        }


@dataclass(frozen=True)
class FeeSchedule:
    """One version of one authority's fees, in force from ``effective_from`` to
    ``effective_to`` inclusive (open-ended when None), days in the set's timezone."""

    id: str
    authority: str
    country: str
    currency: str
    effective_from: date
    effective_to: date | None
    lines: tuple[TariffLine, ...]
    bands: tuple[MassBand, ...] = ()
    exemptions: tuple[Exemption, ...] = ()
    estimated: bool = False
    description: str = ""

    def in_force_on(self, day: date) -> bool:
        return self.effective_from <= day and (
            self.effective_to is None or day <= self.effective_to
        )

    def line(self, vehicle_class: str) -> TariffLine | None:
        return next((x for x in self.lines if x.vehicle_class == vehicle_class), None)

    def bands_for(self, vehicle_class: str) -> tuple[MassBand, ...]:
        return tuple(b for b in self.bands if vehicle_class in b.vehicle_classes)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "authority": self.authority}
        out |= {"country": self.country, "currency": self.currency}
        out["effective_from"] = self.effective_from.isoformat()
        if self.effective_to is not None:
            out["effective_to"] = self.effective_to.isoformat()
        if self.estimated:
            out["estimated"] = True
        if self.description:
            out["description"] = self.description
        out["lines"] = [x.to_dict() for x in self.lines]
        if self.bands:
            out["bands"] = [b.to_dict() for b in self.bands]
        if self.exemptions:
            out["exemptions"] = [e.to_dict() for e in self.exemptions]
        return out


@dataclass(frozen=True)
class ScheduleSet:
    """Every schedule version of the corridor; ``timezone`` says when a day begins."""

    schedules: tuple[FeeSchedule, ...]
    timezone: str = DEFAULT_TIMEZONE

    def day_of(self, at: datetime) -> date:
        """The calendar day of ``at`` in the set's timezone; ValueError if ``at`` is naive."""
        if at.tzinfo is None:
            raise ValueError(f"at={at.isoformat()} must carry a timezone")
        return at.astimezone(ZoneInfo(self.timezone)).date()

    def in_force(
        self, at: datetime, *, authority: str | None = None, country: str | None = None
    ) -> FeeSchedule:
        """The one schedule in force at ``at`` (of ``authority``/``country`` when given).

        Raises ``ScheduleNotInForce`` when none is, or when schedules of several authorities
        are and no authority or country was named to choose between them.
        """
        day = self.day_of(at)
        found = [
            s
            for s in self.schedules
            if s.in_force_on(day)
            and authority in (None, s.authority)
            and country in (None, s.country)
        ]
        scope = "".join(
            f" {k}={v}" for k, v in (("authority", authority), ("country", country)) if v
        )
        if not found:
            raise ScheduleNotInForce(f"no fee schedule{scope} is in force on {day.isoformat()}")
        if len(found) > 1:
            ids = ", ".join(s.id for s in found)
            raise ScheduleNotInForce(
                f"several fee schedules are in force on {day.isoformat()} ({ids}); "
                "name the authority or country that levies the fee"
            )
        return found[0]

    def to_dict(self) -> dict[str, Any]:
        return {"timezone": self.timezone, "schedules": [s.to_dict() for s in self.schedules]}


class ScheduleChangeRefused(Conflict):
    """A new schedule set would rewrite a version that has already been in force."""

    title = "Fee schedule change refused"
    slug = "fee-schedule-change"
    rule = "schedule-history-fixed"


def check_change(old: ScheduleSet, new: ScheduleSet, *, by: str, today: date) -> None:
    """Refuse to replace ``old`` with ``new`` unless party ``by`` may publish the difference.

    Only a version's authority adds, changes or removes it (``Forbidden`` otherwise). A
    version in force on or before ``today`` (the authority's day) is history: every fee
    assessed under it must stay reproducible, so it may only be ended, on ``today`` or
    later; the timezone is fixed once a version has been in force. Those refusals raise
    ``ScheduleChangeRefused``.
    """
    before = {s.id: s for s in old.schedules}
    after = {s.id: s for s in new.schedules}
    for schedule_id in sorted(before.keys() | after.keys()):
        was, now = before.get(schedule_id), after.get(schedule_id)
        if was == now:
            continue
        owners = sorted({s.authority for s in (was, now) if s is not None})
        if owners != [by]:
            raise Forbidden(f"schedule {schedule_id} is set by {', '.join(owners)}, not by {by}")
        if was is not None and was.effective_from <= today and not _ends(was, now, today):
            raise ScheduleChangeRefused(
                f"schedule {schedule_id} has been in force since {was.effective_from}: it may "
                f"only be ended, on {today} or later; publish a new version for new amounts"
            )
    if old.timezone != new.timezone and any(s.effective_from <= today for s in old.schedules):
        raise ScheduleChangeRefused(f"the timezone {old.timezone} of past versions is fixed")


def _ends(was: FeeSchedule, now: FeeSchedule | None, today: date) -> bool:
    """``now`` is ``was`` with only an end date set, no earlier than ``today``."""
    end = None if now is None else now.effective_to
    return end is not None and end >= today and now == replace(was, effective_to=end)


# --- reading a dict, collecting every error ---------------------------------------------


class _Sink(Sink):
    """Plain ``FieldError``s: a fees dict need not come from a file."""

    def add(self, path: str, message: str, rule: str) -> None:
        self.errors.append(FieldError(path, message, str(rule)))


def from_dict(
    raw: object, *, path: str = "fees", currencies: Collection[str] | None = None
) -> ScheduleSet:
    """The schedule set described by ``raw``; ``InvalidInput`` names every broken field.

    ``path`` prefixes every field path; ``currencies``, when given, are the only currencies
    a schedule may be in (the corridor's accepted ones).
    """
    schedules, errors = parse(raw, path=path, currencies=currencies)
    if errors or schedules is None:
        raise InvalidInput(errors)
    return schedules


def parse(
    raw: object, *, path: str = "fees", currencies: Collection[str] | None = None
) -> tuple[ScheduleSet | None, list[FieldError]]:
    """Like ``from_dict`` but returns the errors, for a loader that collects its own."""
    errors: list[FieldError] = []
    root = Node(_Sink("", errors), path, raw)
    timezone = _timezone(root)
    read = functools.partial(_schedule, currencies=currencies)
    schedules = _listed(root, "schedules", read, ident="id", required=True)
    _check_overlaps(root, schedules)
    root.finish()
    if errors:
        return None, errors
    return ScheduleSet(schedules, timezone), errors


def _check_overlaps(root: Node, schedules: tuple[FeeSchedule, ...]) -> None:
    """Two versions of one authority in force on the same day would make a fee ambiguous."""
    for i, schedule in enumerate(schedules):
        for j, other in enumerate(schedules[:i]):
            if schedule.authority != other.authority or not _periods_overlap(schedule, other):
                continue
            until = other.effective_to.isoformat() if other.effective_to else "open end"
            period = f"{other.effective_from.isoformat()} to {until}"
            message = f"overlaps schedules[{j}] ({other.id}, {period}) of the same authority"
            root.error(f"schedules[{i}].effective_from", message, Check.EFFECTIVE_OVERLAP)


def _periods_overlap(a: FeeSchedule, b: FeeSchedule) -> bool:
    if date.min in (a.effective_from, b.effective_from):
        return False  # a broken start date is reported already
    a_end, b_end = a.effective_to or date.max, b.effective_to or date.max
    return a.effective_from <= b_end and b.effective_from <= a_end


def _timezone(root: Node) -> str:
    name = root.text("timezone", required=False)
    if name is None:
        return DEFAULT_TIMEZONE
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        root.error("timezone", f"{name!r} is not an IANA time zone", Check.TIMEZONE)
    return name


def _schedule(node: Node, *, currencies: Collection[str] | None) -> FeeSchedule:
    schedule_id = _checked(node, "id", _ID.match, "1-64 of A-Z a-z 0-9 _ . -", Check.SCHEDULE_ID)
    authority = _checked(node, "authority", PARTY_ID.match, "a party id", Check.AUTHORITY)
    country = _checked(node, "country", is_country, "ISO 3166-1 alpha-2", Check.COUNTRY)
    currency = _currency(node, currencies)
    start = _date(node, "effective_from", required=True) or date.min
    end = _date(node, "effective_to", required=False)
    if end is not None and end < start:
        message = f"{end.isoformat()} is before effective_from {start.isoformat()}"
        node.error("effective_to", message, Check.EFFECTIVE_ORDER)
    estimated = node.flag("estimated")
    description = node.text("description", required=False) or ""
    lines = _listed(
        node, "lines", lambda n: _line(n, currency), ident="vehicle_class", required=True
    )
    bands = _bands(node, currency, {x.vehicle_class for x in lines})
    exemptions = _listed(node, "exemptions", _exemption, ident="id")
    node.finish()
    head = (schedule_id, authority, country, currency, start, end)
    return FeeSchedule(*head, lines, bands, exemptions, estimated, description)


def _checked(node: Node, key: str, ok: Any, expected: str, check: Check) -> str:
    value = node.text(key) or ""
    if value and not ok(value):
        node.error(key, f"{value!r} is not {expected}", check)
    return value


def _currency(node: Node, accepted: Collection[str] | None) -> str:
    code = node.text("currency") or ""
    if code and not is_currency(code):
        node.error("currency", f"{code!r} is not an ISO 4217 currency code", Check.CURRENCY)
    elif code and accepted is not None and code not in accepted:
        allowed = ", ".join(sorted(accepted))
        message = f"{code} is not a currency of the corridor ({allowed})"
        node.error("currency", message, Check.CURRENCY_ACCEPTED)
    return code


def _date(node: Node, key: str, *, required: bool) -> date | None:
    value = node.get(key, required=required)
    if isinstance(value, date) and not isinstance(value, datetime):
        return value  # YAML reads an unquoted 2026-07-01 as a date
    if isinstance(value, str) and _ISO_DATE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    if value is not None:
        node.error(key, f"must be a date YYYY-MM-DD, got {kind_of(value)} {value!r}", Check.DATE)
    return None


def _money(node: Node, key: str, currency: str, *, required: bool = False) -> Decimal | None:
    """An amount >= 0 in ``currency`` units, quantised to its minor unit; 0 when absent,
    None when broken (the error is recorded)."""
    value = node.get(key, required=required)
    if value is None:
        return ZERO
    amount = _exact(value)
    if amount is None:
        # A float is binary: 0.1 is not one tenth, so money must be written as text.
        message = f"must be a decimal string such as '2500.00', got {kind_of(value)} {value!r}"
        node.error(key, message, Check.AMOUNT)
        return None
    if not 0 <= amount < MAX_AMOUNT:
        node.error(key, f"must be >= 0 and < {MAX_AMOUNT:,}, got {amount}", Check.AMOUNT_RANGE)
        return None
    if not is_currency(currency):
        return amount  # the currency's own error is reported; precision cannot be checked
    if quantize(amount, currency) != amount:  # by value: "12.50" and "12.500" are both fine
        message = f"{amount} has more decimals than {currency} allows ({minor_units(currency)})"
        node.error(key, message, Check.AMOUNT_PRECISION)
        return None
    return quantize(amount, currency)  # exact here: only adds or drops trailing zeros


def _exact(value: object) -> Decimal | None:
    """The exact value of a whole number, Decimal or decimal text; None for floats too."""
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        return None
    try:
        number = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _listed(
    node: Node, key: str, read: Callable[[Node], T], *, ident: str, required: bool = False
) -> tuple[T, ...]:
    """The items of the list ``key``, each read by ``read``; ``ident`` must be unique."""
    items = node.items(key, required=required)
    if required and items == []:
        node.error(key, "must list at least one item", Check.REQUIRED)
    out: list[T] = []
    seen: dict[object, int] = {}
    for i, item in enumerate(items or []):
        child = Node(node.sink, f"{node.at(key)}[{i}]", item)
        value = read(child)
        name = getattr(value, ident)
        if name in seen:
            message = f"{name!r} is already in {key}[{seen[name]}]"
            child.error(ident, message, Check.DUPLICATE)
        elif name:
            seen[name] = i
        out.append(value)
    return tuple(out)


def _line(node: Node, currency: str) -> TariffLine:
    vehicle_class = _token(node, "vehicle_class")
    amount = _money(node, "amount", currency, required=True)
    if node.get("amount", required=False) is not None and amount == 0:
        # Zero would make a fee nobody pays yet every crossing waits for; use an exemption.
        node.error("amount", "must be > 0 per vehicle", Check.AMOUNT_RANGE)
    included = node.get("axles_included", required=False) or 0
    if isinstance(included, bool) or not isinstance(included, int) or included < 0:
        node.error("axles_included", f"must be a whole number >= 0, got {included!r}", Check.AXLES)
        included = 0
    description = node.text("description", required=False) or ""
    axle, container, teu, passenger = (_money(node, k, currency) or ZERO for k in _COMPONENTS)
    node.finish()
    return TariffLine(
        vehicle_class, amount or ZERO, axle, included, container, teu, passenger, description
    )


def _token(node: Node, key: str) -> str:
    return _checked(node, key, _TOKEN.match, "a lower-case class, e.g. truck", Check.VEHICLE_CLASS)


def _bands(node: Node, currency: str, classes: set[str]) -> tuple[MassBand, ...]:
    bands: list[MassBand] = []
    for i, item in enumerate(node.items("bands", required=False) or []):
        band_node = Node(node.sink, f"{node.at('bands')}[{i}]", item)
        band = _band(band_node, currency, classes)
        for j, other in enumerate(bands):
            shared = set(band.vehicle_classes) & set(other.vehicle_classes)
            if shared and _bands_overlap(band, other):
                message = f"overlaps bands[{j}] for {', '.join(sorted(shared))}"
                band_node.error("from_t", message, Check.BAND_OVERLAP)
        bands.append(band)
    return tuple(bands)


def _band(node: Node, currency: str, classes: set[str]) -> MassBand:
    raw_classes = node.items("vehicle_classes") or []
    if node.get("vehicle_classes", required=False) == []:
        node.error("vehicle_classes", "must list at least one vehicle class", Check.BAND_CLASS)
    for j, value in enumerate(raw_classes):
        if value not in classes:
            message = f"{value!r} has no tariff line in this schedule"
            node.error(f"vehicle_classes[{j}]", message, Check.BAND_CLASS)
    start = node.number("from_t")
    end = node.number("to_t") if node.get("to_t", required=False) is not None else None
    if start is not None and start < 0:
        node.error("from_t", f"must be >= 0 t, got {start}", Check.BAND_RANGE)
    if start is not None and end is not None and end <= start:
        node.error("to_t", f"must be greater than from_t ({start}), got {end}", Check.BAND_RANGE)
    amount = _money(node, "amount", currency, required=True)
    node.finish()
    names = tuple(str(c) for c in raw_classes)
    return MassBand(names, start if start is not None else ZERO, end, amount or ZERO)


def _bands_overlap(a: MassBand, b: MassBand) -> bool:
    a_end = a.to_t if a.to_t is not None else Decimal("Infinity")
    b_end = b.to_t if b.to_t is not None else Decimal("Infinity")
    return a.from_t < b_end and b.from_t < a_end


_VALUE_CHECKS: dict[ExemptionKind, tuple[Any, str]] = {
    ExemptionKind.CLAIM: (_TOKEN.match, "a lower-case claim, e.g. humanitarian"),
    ExemptionKind.HS_CHAPTER: (
        lambda v: len(v) == 2 and v.isdigit() and valid_chapter(int(v)),
        "an HS chapter of 2 digits, quoted, e.g. '30'",
    ),
    ExemptionKind.PARTY: (PARTY_ID.match, "a party id"),
}


def _exemption(node: Node) -> Exemption:
    exemption_id = _checked(node, "id", _ID.match, "1-64 of A-Z a-z 0-9 _ . -", Check.EXEMPTION_ID)
    raw_kind = node.text("kind")
    kind = ExemptionKind(raw_kind) if raw_kind in set(ExemptionKind) else None
    if raw_kind is not None and kind is None:
        known = ", ".join(ExemptionKind)
        node.error("kind", f"must be one of {known}, got {raw_kind!r}", Check.EXEMPTION_KIND)
    values = node.items("values") or []
    if node.get("values", required=False) == []:
        node.error("values", "must list at least one value", Check.EXEMPTION_VALUE)
    ok, expected = _VALUE_CHECKS[kind] if kind else (lambda v: True, "")
    for j, value in enumerate(values):
        if not isinstance(value, str) or not ok(value):
            node.error(f"values[{j}]", f"{value!r} is not {expected}", Check.EXEMPTION_VALUE)
    reason = node.text("reason") or ""
    node.finish()
    return Exemption(
        exemption_id, kind or ExemptionKind.CLAIM, tuple(str(v) for v in values), reason
    )


def _number_out(value: Decimal) -> int | str:
    """A whole Decimal as an int, any other as its exact decimal text."""
    return int(value) if value == value.to_integral_value() else f"{value:f}"
