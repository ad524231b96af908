"""Assessing the transit fee of one vehicle: which schedule, which lines, which exemption.

``assess`` is pure and deterministic: the same schedules, facts and instant give the same
``Assessment``, which records the schedule's id and every line with its reason, so that a
payer or an auditor can recompute the fee by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from tripp.codes.currency import quantize, to_minor
from tripp.codes.hs import valid_chapter
from tripp.errors import FieldError, InvalidInput
from tripp.fees.schedule import Exemption, ExemptionKind, FeeSchedule, ScheduleSet, TariffLine

ZERO = Decimal(0)
KG_PER_TONNE = 1000
# Beyond any real vehicle (a 6,000 t train, 300 TEU); bounds keep the fee exact in Decimal.
MAX_GROSS_MASS_KG = 100_000_000
MAX_TEU = 10_000


class NoTariffLine(InvalidInput):
    """The schedule in force has no line for the vehicle's class; nothing is assessed."""

    def __init__(self, schedule: FeeSchedule, vehicle_class: str) -> None:
        classes = ", ".join(x.vehicle_class for x in schedule.lines)
        message = (
            f"fee schedule {schedule.id} of {schedule.authority} has no tariff line "
            f"for {vehicle_class!r}; its classes: {classes}"
        )
        super().__init__([FieldError("vehicle_class", message, "fee-vehicle-class")])


@dataclass(frozen=True)
class VehicleFacts:
    """What is announced of one vehicle for its fee.

    ``gross_mass_kg`` is the total gross mass in kilograms (vehicle and load); ``teu`` counts
    twenty-foot equivalents (a 45' box is 2.25); ``hs_chapters`` are the 2-digit chapters of
    the goods on board; ``claims`` the exemptions claimed (``humanitarian``, ...), which the
    collecting staff check against the papers.
    """

    vehicle_class: str
    holder: str
    axles: int = 2
    gross_mass_kg: Decimal = ZERO
    containers: int = 0
    teu: Decimal = ZERO
    passengers: int = 0
    hs_chapters: frozenset[str] = frozenset()
    claims: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not self.vehicle_class:
            raise ValueError("vehicle_class must not be empty")
        for name in ("axles", "containers", "passengers"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name}={value!r} must be a whole number >= 0")
        for name, limit in (("gross_mass_kg", MAX_GROSS_MASS_KG), ("teu", MAX_TEU)):
            value = getattr(self, name)
            # Decimal, not float: a fee computed from a binary float could differ by a cent.
            if not isinstance(value, Decimal) or not value.is_finite() or not 0 <= value <= limit:
                raise ValueError(f"{name}={value!r} must be a Decimal within 0..{limit}")
        for chapter in self.hs_chapters:
            if len(chapter) != 2 or not chapter.isdigit() or not valid_chapter(int(chapter)):
                raise ValueError(f"hs_chapters has {chapter!r}, not a 2-digit HS chapter")


class LineKind(StrEnum):
    VEHICLE = "vehicle"
    AXLES = "axles"
    MASS = "mass"
    CONTAINERS = "containers"
    TEU = "teu"
    PASSENGERS = "passengers"


@dataclass(frozen=True)
class FeeLine:
    """``quantity`` (vehicles, axles, tonnes, ...) × ``rate`` (currency units) = ``amount``,
    exact: the assessment rounds only the total."""

    kind: LineKind
    quantity: Decimal
    rate: Decimal
    amount: Decimal
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "quantity": f"{self.quantity:f}",
            "rate": f"{self.rate:f}",
            "amount": f"{self.amount:f}",
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Assessment:
    """The fee of one vehicle at one instant under one schedule.

    ``gross`` is what the lines add up to, rounded once; ``due`` is what must be settled:
    zero when ``exemption`` applies (the ledger records the gross and its write-off, so the
    authority sees what each exemption costs).
    """

    schedule: str
    authority: str
    country: str
    currency: str
    vehicle_class: str
    at: datetime
    lines: tuple[FeeLine, ...]
    gross: Decimal
    exemption: Exemption | None = None
    estimated: bool = False

    @property
    def due(self) -> Decimal:
        return quantize(ZERO, self.currency) if self.exemption else self.gross

    @property
    def gross_minor(self) -> int:
        return to_minor(self.gross, self.currency)

    @property
    def due_minor(self) -> int:
        return to_minor(self.due, self.currency)

    def to_dict(self) -> dict[str, Any]:
        exemption = self.exemption
        return {
            "schedule": self.schedule,
            "authority": self.authority,
            "country": self.country,
            "currency": self.currency,
            "vehicle_class": self.vehicle_class,
            "at": self.at.isoformat(),
            "lines": [x.to_dict() for x in self.lines],
            "gross": f"{self.gross:f}",
            "due": f"{self.due:f}",
            "exemption": None if exemption is None else exemption.to_dict(),
            "estimated": self.estimated,
        }


def assess(
    schedules: ScheduleSet,
    vehicle: VehicleFacts,
    at: datetime,
    *,
    authority: str | None = None,
    country: str | None = None,
) -> Assessment:
    """The fee of ``vehicle`` under the schedule in force at ``at`` (timezone-aware).

    ``authority``/``country`` choose between authorities when several levy fees. Raises
    ``ScheduleNotInForce`` when no schedule applies, ``NoTariffLine`` when it has no line for
    the vehicle's class.
    """
    schedule = schedules.in_force(at, authority=authority, country=country)
    tariff = schedule.line(vehicle.vehicle_class)
    if tariff is None:
        raise NoTariffLine(schedule, vehicle.vehicle_class)
    lines = fee_lines(schedule, tariff, vehicle)
    # Rounded once, on the total, half up. Once: rounding each line would let the rounding
    # errors of a train's many tonnes and TEU add up. Half up: a payer checking the receipt
    # by hand rounds that way, and one rounding per fee leaves no bias for half-even to
    # cancel over many sums.
    gross = quantize(sum((x.amount for x in lines), ZERO), schedule.currency)
    return Assessment(
        schedule=schedule.id,
        authority=schedule.authority,
        country=schedule.country,
        currency=schedule.currency,
        vehicle_class=vehicle.vehicle_class,
        at=at,
        lines=lines,
        gross=gross,
        exemption=exemption_for(schedule, vehicle),
        estimated=schedule.estimated,
    )


def fee_lines(
    schedule: FeeSchedule, tariff: TariffLine, vehicle: VehicleFacts
) -> tuple[FeeLine, ...]:
    """Every line with a non-zero amount, in a fixed order: vehicle, axles, mass bands,
    containers, TEU, passengers."""
    cur = schedule.currency
    cls = vehicle.vehicle_class
    lines = [_line(LineKind.VEHICLE, Decimal(1), tariff.amount, f"{cls}, per vehicle")]
    extra_axles = max(vehicle.axles - tariff.axles_included, 0)
    lines.append(
        _line(
            LineKind.AXLES,
            Decimal(extra_axles),
            tariff.per_axle,
            f"{extra_axles} axles above the {tariff.axles_included} included, per axle",
        )
    )
    tonnes = vehicle.gross_mass_kg / KG_PER_TONNE  # exact: a division by a power of ten
    for band in schedule.bands_for(cls):
        span = f"over {band.from_t}" if band.to_t is None else f"{band.from_t}-{band.to_t}"
        part = band.tonnes_in(tonnes)
        reason = f"{part} t of gross mass in the {span} t band, per tonne"
        lines.append(_line(LineKind.MASS, part, band.amount, reason))
    counts = (
        (LineKind.CONTAINERS, Decimal(vehicle.containers), tariff.per_container, "container"),
        (LineKind.TEU, vehicle.teu, tariff.per_teu, "TEU"),
        (LineKind.PASSENGERS, Decimal(vehicle.passengers), tariff.per_passenger, "passenger"),
    )
    for kind, quantity, rate, unit in counts:
        lines.append(_line(kind, quantity, rate, f"{quantity} {unit}(s), per {unit}"))
    return tuple(
        FeeLine(x.kind, x.quantity, x.rate, x.amount, f"{x.reason}: {x.rate} {cur}")
        for x in lines
        if x.amount
    )


def _line(kind: LineKind, quantity: Decimal, rate: Decimal, reason: str) -> FeeLine:
    return FeeLine(kind, quantity, rate, quantity * rate, reason)


def exemption_for(schedule: FeeSchedule, vehicle: VehicleFacts) -> Exemption | None:
    """The first of the schedule's exemptions that applies to ``vehicle``, if any.

    A claim applies when the vehicle claims it; a party exemption when the holder is
    listed; an HS-chapter exemption only when every chapter on board is listed, so that
    one exempt item does not carry a whole mixed load free.
    """
    return next(
        (e for e in schedule.exemptions if _APPLIES[e.kind](vehicle, frozenset(e.values))),
        None,
    )


_APPLIES: dict[ExemptionKind, Callable[[VehicleFacts, frozenset[str]], bool]] = {
    ExemptionKind.CLAIM: lambda vehicle, listed: bool(vehicle.claims & listed),
    ExemptionKind.PARTY: lambda vehicle, listed: vehicle.holder in listed,
    ExemptionKind.HS_CHAPTER: lambda vehicle, listed: (
        bool(vehicle.hs_chapters) and vehicle.hs_chapters <= listed
    ),
}
