"""Assessing a vehicle's fee: lines with reasons, one rounding, exemptions, versions."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tripp.fees.assessment import LineKind, NoTariffLine, VehicleFacts, assess
from tripp.fees.defaults import default_schedules
from tripp.fees.schedule import ScheduleNotInForce, ScheduleSet, from_dict

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
CARRIER = "AZ-CARRIER-0001"
BUNDLED = default_schedules()


def truck(**kw: Any) -> VehicleFacts:
    return VehicleFacts("truck", CARRIER, **kw)


def usd(lines: list[dict[str, Any]], **kw: Any) -> ScheduleSet:
    head = {"id": "T-1", "authority": "AM-CUSTOMS", "country": "AM", "currency": "USD"}
    return from_dict({"schedules": [head | {"effective_from": "2026-01-01", "lines": lines} | kw]})


def test_the_worked_example_of_the_docs() -> None:
    """docs/fees.md: a 5-axle lorry, 38,250.5 kg gross, two 20' containers (2 TEU)."""
    facts = truck(axles=5, gross_mass_kg=Decimal("38250.5"), containers=2, teu=Decimal(2))
    a = assess(BUNDLED, facts, T0)
    assert [(x.kind, x.quantity, x.amount) for x in a.lines] == [
        (LineKind.VEHICLE, 1, Decimal("20000.00")),
        (LineKind.AXLES, 3, Decimal("15000.00")),
        (LineKind.MASS, Decimal("18.2505"), Decimal("5475.150000")),
        (LineKind.TEU, 2, Decimal("6000.00")),
    ]
    assert a.lines[2].reason == (
        "18.2505 t of gross mass in the 20-40 t band, per tonne: 300.00 AMD"
    )
    assert (a.gross, a.due, a.due_minor) == (Decimal("46475.15"), Decimal("46475.15"), 4647515)
    assert (a.schedule, a.authority, a.currency, a.estimated) == (
        "AM-TRIPP-1", "AM-CUSTOMS", "AMD", True,
    )  # fmt: skip
    assert a.to_dict()["due"] == "46475.15"


@pytest.mark.parametrize(
    ("facts", "due"),
    [
        (VehicleFacts("car", "AM-PERSON-1", passengers=4), "4000.00"),
        (VehicleFacts("bus", CARRIER, passengers=50, axles=3), "12000.00"),
        (VehicleFacts("van", CARRIER, gross_mass_kg=Decimal(3500)), "8000.00"),
        (truck(gross_mass_kg=Decimal(20000)), "20000.00"),  # the first 20 t are included
        (truck(gross_mass_kg=Decimal(45000)), "33500.00"),  # 20 t x 300 + 5 t x 1500
        # A block train: 4,000 t gross and 100 TEU.
        (VehicleFacts("train", "AZ-RAIL", axles=0, gross_mass_kg=Decimal(4_000_000),
                      teu=Decimal(100)), "960000.00"),
    ],
)  # fmt: skip
def test_bundled_amounts(facts: VehicleFacts, due: str) -> None:
    assert assess(BUNDLED, facts, T0).due == Decimal(due)


def test_the_total_is_rounded_once_half_up() -> None:
    # Two bands of half a tonne at 0.01 USD/t: 0.005 each. Rounding each line would give
    # 0.02; rounding once gives 0.01. And 0.005 alone rounds up (half-even would give 0.00).
    schedules = usd(
        [{"vehicle_class": "cart", "amount": "1.00"}],
        bands=[
            {"vehicle_classes": ["cart"], "from_t": 0, "to_t": "0.5", "amount": "0.01"},
            {"vehicle_classes": ["cart"], "from_t": "0.5", "amount": "0.01"},
        ],
    )
    facts = VehicleFacts("cart", CARRIER, gross_mass_kg=Decimal(1000))
    assert assess(schedules, facts, T0).gross == Decimal("1.01")
    half = VehicleFacts("cart", CARRIER, gross_mass_kg=Decimal(500))
    assert assess(schedules, half, T0).gross == Decimal("1.01")  # 1.005 -> 1.01


def test_an_exemption_makes_the_fee_zero_and_says_why() -> None:
    a = assess(BUNDLED, truck(claims=frozenset({"humanitarian"})), T0)
    assert a.exemption is not None and a.exemption.reason == "humanitarian relief consignment"
    assert (a.gross, a.due, a.due_minor) == (Decimal("20000.00"), Decimal("0.00"), 0)
    service = assess(BUNDLED, VehicleFacts("van", "CORRIDOR-OPERATOR"), T0)
    assert service.exemption is not None and service.exemption.id == "corridor-service"
    assert assess(BUNDLED, truck(claims=frozenset({"tourism"})), T0).exemption is None


def test_an_hs_chapter_exemption_needs_every_item_in_the_chapters() -> None:
    schedules = usd(
        [{"vehicle_class": "truck", "amount": "50"}],
        exemptions=[
            {"id": "pharma", "kind": "hs_chapter", "values": ["30"], "reason": "medicines"}
        ],
    )
    assert assess(schedules, truck(hs_chapters=frozenset({"30"})), T0).due == 0
    mixed = truck(hs_chapters=frozenset({"30", "87"}))
    assert assess(schedules, mixed, T0).due == Decimal("50.00")
    assert assess(schedules, truck(), T0).due == Decimal("50.00")  # an empty load is not exempt


def test_the_schedule_in_force_at_the_instant_applies() -> None:
    versions = from_dict(
        {
            "schedules": [
                {"id": "V1", "authority": "AM-CUSTOMS", "country": "AM", "currency": "AMD",
                 "effective_from": "2026-01-01", "effective_to": "2026-12-31",
                 "lines": [{"vehicle_class": "car", "amount": "4000"}]},
                {"id": "V2", "authority": "AM-CUSTOMS", "country": "AM", "currency": "AMD",
                 "effective_from": "2027-01-01",
                 "lines": [{"vehicle_class": "car", "amount": "5000"}]},
            ]
        }
    )  # fmt: skip
    car = VehicleFacts("car", CARRIER)
    assert assess(versions, car, datetime(2026, 12, 31, 19, 59, tzinfo=UTC)).schedule == "V1"
    new_year = assess(versions, car, datetime(2026, 12, 31, 20, 0, tzinfo=UTC))  # 00:00 Yerevan
    assert (new_year.schedule, new_year.due) == ("V2", Decimal("5000.00"))
    with pytest.raises(ScheduleNotInForce):
        assess(versions, car, datetime(2025, 6, 1, tzinfo=UTC))


def test_a_class_without_a_tariff_line_is_refused() -> None:
    with pytest.raises(NoTariffLine) as caught:
        assess(BUNDLED, VehicleFacts("tractor", CARRIER), T0)
    (error,) = caught.value.errors
    assert (error.field, error.rule) == ("vehicle_class", "fee-vehicle-class")
    assert "AM-TRIPP-1" in error.message and "truck" in error.message


@pytest.mark.parametrize(
    "kw",
    [{"gross_mass_kg": 1000.5}, {"gross_mass_kg": Decimal(-1)}, {"axles": -1}, {"axles": True},
     {"teu": Decimal("NaN")}, {"gross_mass_kg": Decimal("1e9")}, {"hs_chapters": frozenset({"7"})}, {"hs_chapters": frozenset({"77"})}],
)  # fmt: skip
def test_vehicle_facts_are_checked_and_quoted(kw: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=next(iter(kw))):
        truck(**kw)
    with pytest.raises(ValueError, match="vehicle_class"):
        VehicleFacts("", CARRIER)


MASSES = st.decimals(min_value=0, max_value=100_000, places=1)


@settings(max_examples=150)
@given(MASSES, MASSES, st.integers(0, 9), st.integers(0, 4))
def test_the_fee_never_falls_as_the_load_grows(
    a: Decimal, b: Decimal, axles: int, teu: int
) -> None:
    light, heavy = sorted((a, b))
    fee_light = assess(BUNDLED, truck(axles=axles, gross_mass_kg=light, teu=Decimal(teu)), T0)
    fee_heavy = assess(BUNDLED, truck(axles=axles, gross_mass_kg=heavy, teu=Decimal(teu)), T0)
    assert fee_light.gross <= fee_heavy.gross
    # Exact to the minor unit, and within half a minor unit of the unrounded sum of lines.
    assert fee_heavy.gross == fee_heavy.gross.quantize(Decimal("0.01"))
    assert abs(fee_heavy.gross - sum(x.amount for x in fee_heavy.lines)) <= Decimal("0.005")
    assert fee_heavy.due_minor == fee_heavy.gross_minor > 0
