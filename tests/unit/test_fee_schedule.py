"""The fee schedule: the bundled TRIPP schedule, validation with exact paths, versions."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tripp.errors import Conflict, Forbidden, InvalidInput
from tripp.fees.defaults import default_schedule_dict, default_schedules
from tripp.fees.schedule import (
    ExemptionKind,
    ScheduleChangeRefused,
    ScheduleNotInForce,
    check_change,
    from_dict,
    parse,
)

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def schedule(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "AM-1",
        "authority": "AM-CUSTOMS",
        "country": "AM",
        "currency": "USD",
        "effective_from": "2026-01-01",
        "lines": [{"vehicle_class": "truck", "amount": "50.00"}],
    }
    return base | changes


def errors_of(raw: object, **kw: Any) -> set[tuple[str, str]]:
    with pytest.raises(InvalidInput) as caught:
        from_dict(raw, **kw)
    return {(e.field, e.rule) for e in caught.value.errors}


def test_the_bundled_schedule_is_armenian_estimated_and_in_drams() -> None:
    (s,) = default_schedules().schedules
    assert (s.authority, s.country, s.currency, s.estimated) == ("AM-CUSTOMS", "AM", "AMD", True)
    assert {x.vehicle_class for x in s.lines} >= {"truck", "bus", "car", "van", "wagon", "train"}
    assert {e.kind for e in s.exemptions} == {ExemptionKind.CLAIM, ExemptionKind.PARTY}
    assert default_schedules().in_force(T0) == s
    assert default_schedule_dict() is not default_schedule_dict()  # a fresh copy each time


def test_to_dict_round_trips() -> None:
    bundled = default_schedules()
    assert from_dict(bundled.to_dict()) == bundled
    assert from_dict(bundled.to_dict()).to_dict() == bundled.to_dict()


def test_amounts_are_kept_quantised_to_the_minor_unit() -> None:
    raw = {"schedules": [schedule(lines=[{"vehicle_class": "car", "amount": 12}])]}
    line = from_dict(raw).schedules[0].lines[0]
    assert str(line.amount) == "12.00"
    assert from_dict(raw).to_dict()["schedules"][0]["lines"][0]["amount"] == "12.00"


def test_every_broken_field_is_reported_with_its_path_and_rule() -> None:
    raw = {
        "timezone": "Mars/Olympus",
        "schedules": [
            schedule(currency="ZZZ", country="Armenia", x_note=1),
            schedule(
                id="AM-2",
                effective_from="2026-02-30",
                effective_to="2025-01-01",
                lines=[
                    {"vehicle_class": "truck", "amount": 10.5, "per_axle": "-1"},
                    {"vehicle_class": "truck", "amount": "0", "axles_included": -2},
                    {"vehicle_class": "Lorry", "amount": "1.001", "colour": "red"},
                ],
                bands=[
                    {"vehicle_classes": ["truck"], "from_t": 0, "to_t": 20, "amount": "0.125"},
                    {"vehicle_classes": ["truck", "tram"], "from_t": 10, "amount": "1"},
                    {"vehicle_classes": [], "from_t": 5, "to_t": 5},
                ],
                exemptions=[
                    {"id": "aid", "kind": "claim", "values": ["Humanitarian"], "reason": "aid"},
                    {"id": "aid", "kind": "hs_chapter", "values": ["77", 30], "reason": "x"},
                    {"id": "who", "kind": "party", "values": [], "reason": "y"},
                    {"id": "odd", "kind": "luck", "values": ["x"]},
                ],
            ),
        ],
    }
    found = errors_of(raw)
    s0, s1 = "fees.schedules[0]", "fees.schedules[1]"
    assert found == {
        ("fees.timezone", "timezone"),
        (f"{s0}.currency", "currency-iso4217"),
        (f"{s0}.country", "country-iso3166"),
        (f"{s1}.effective_from", "date"),
        (f"{s1}.lines[0].amount", "amount"),
        (f"{s1}.lines[0].per_axle", "amount-range"),
        (f"{s1}.lines[1].vehicle_class", "duplicate"),
        (f"{s1}.lines[1].amount", "amount-range"),
        (f"{s1}.lines[1].axles_included", "axles-included"),
        (f"{s1}.lines[2].vehicle_class", "vehicle-class"),
        (f"{s1}.lines[2].amount", "amount-precision"),
        (f"{s1}.lines[2].colour", "unknown-field"),
        (f"{s1}.bands[0].amount", "amount-precision"),
        (f"{s1}.bands[1].vehicle_classes[1]", "band-vehicle-class"),
        (f"{s1}.bands[1].from_t", "band-overlap"),
        (f"{s1}.bands[2].vehicle_classes", "band-vehicle-class"),
        (f"{s1}.bands[2].to_t", "band-range"),
        (f"{s1}.bands[2].amount", "required"),
        (f"{s1}.exemptions[0].values[0]", "exemption-value"),
        (f"{s1}.exemptions[1].id", "duplicate"),
        (f"{s1}.exemptions[1].values[0]", "exemption-value"),
        (f"{s1}.exemptions[1].values[1]", "exemption-value"),
        (f"{s1}.exemptions[2].values", "exemption-value"),
        (f"{s1}.exemptions[3].kind", "exemption-kind"),
        (f"{s1}.exemptions[3].reason", "required"),
    }


def test_extension_keys_are_accepted_and_dates_may_be_yaml_dates() -> None:
    raw = {"schedules": [schedule(x_note="ours", effective_from=date(2026, 1, 1))]}
    assert from_dict(raw).schedules[0].effective_from == date(2026, 1, 1)


def test_versions_of_one_authority_may_not_overlap() -> None:
    raw = {
        "schedules": [
            schedule(effective_to="2026-06-30"),
            schedule(id="AM-2", effective_from="2026-06-30"),
            schedule(id="AZ-1", authority="AZ-CUSTOMS", country="AZ"),  # another authority
        ]
    }
    assert errors_of(raw) == {("fees.schedules[1].effective_from", "effective-overlap")}
    raw["schedules"][1]["effective_from"] = "2026-07-01"
    assert len(from_dict(raw).schedules) == 3


def test_effective_to_is_not_before_effective_from_and_ids_are_unique() -> None:
    raw = {
        "schedules": [schedule(effective_to="2025-12-31"), schedule(effective_from="2027-01-01")]
    }
    assert errors_of(raw) == {
        ("fees.schedules[0].effective_to", "effective-order"),
        ("fees.schedules[1].id", "duplicate"),
    }


def test_the_shape_of_the_section_itself() -> None:
    assert errors_of([]) == {("fees", "type")}
    assert errors_of({}) == {("fees.schedules", "required")}
    assert errors_of({"schedules": []}) == {("fees.schedules", "required")}
    assert errors_of({"schedules": [schedule(lines=[])]}) == {
        ("fees.schedules[0].lines", "required")
    }
    assert errors_of({"schedules": [schedule(authority="am customs")]}) == {
        ("fees.schedules[0].authority", "authority-party-id")
    }
    # The path prefix follows where the section sits.
    assert errors_of({"schedules": [1]}, path="corridor.fees") == {
        ("corridor.fees.schedules[0]", "type")
    }


def test_the_corridor_may_restrict_the_currencies() -> None:
    raw = {"schedules": [schedule(currency="JPY")]}
    assert errors_of(raw, currencies={"USD", "AMD"}) == {
        ("fees.schedules[0].currency", "currency-accepted")
    }
    result, errors = parse(raw, currencies={"USD", "JPY"})
    assert result is not None and errors == []


def test_absurd_amounts_are_refused_not_crashed_on() -> None:
    raw = {"schedules": [schedule(lines=[{"vehicle_class": "car", "amount": "1e30"}])]}
    assert errors_of(raw) == {("fees.schedules[0].lines[0].amount", "amount-range")}


def test_minor_units_follow_the_currency() -> None:
    jpy = {
        "schedules": [schedule(currency="JPY", lines=[{"vehicle_class": "car", "amount": "1.5"}])]
    }
    assert errors_of(jpy) == {("fees.schedules[0].lines[0].amount", "amount-precision")}
    kwd = {
        "schedules": [schedule(currency="KWD", lines=[{"vehicle_class": "car", "amount": "1.125"}])]
    }
    assert from_dict(kwd).schedules[0].lines[0].amount == Decimal("1.125")


@settings(max_examples=100)
@given(st.decimals(min_value=0, max_value=10**9, places=2), st.sampled_from(["USD", "AMD", "EUR"]))
def test_any_amount_in_minor_units_round_trips(amount: Decimal, currency: str) -> None:
    raw = {"schedules": [schedule(currency=currency, lines=[
        {"vehicle_class": "car", "amount": "1", "per_teu": f"{amount}"}
    ])]}  # fmt: skip
    loaded = from_dict(raw)
    assert loaded.schedules[0].lines[0].per_teu == amount
    assert from_dict(loaded.to_dict()) == loaded


@settings(max_examples=100)
@given(st.decimals(min_value=Decimal("0.001"), max_value=10**6, places=3))
def test_amounts_finer_than_the_minor_unit_are_refused(amount: Decimal) -> None:
    raw = {"schedules": [schedule(lines=[{"vehicle_class": "car", "amount": f"{amount}"}])]}
    if amount == amount.quantize(Decimal("0.01")):
        assert from_dict(raw).schedules[0].lines[0].amount == amount
    else:
        assert errors_of(raw) == {("fees.schedules[0].lines[0].amount", "amount-precision")}


# --- which version is in force --------------------------------------------------------------

TWO_VERSIONS = {
    "schedules": [
        schedule(effective_to="2026-06-30"),
        schedule(id="AM-2", effective_from="2026-07-01"),
        schedule(id="AZ-1", authority="AZ-CUSTOMS", country="AZ", effective_from="2026-09-01"),
    ]
}


def test_the_day_is_the_authority_s_local_day() -> None:
    versions = from_dict(TWO_VERSIONS)
    # 20:30 UTC on 30 June is 00:30 on 1 July in Yerevan (UTC+4).
    assert versions.in_force(datetime(2026, 6, 30, 19, 59, tzinfo=UTC)).id == "AM-1"
    assert versions.in_force(datetime(2026, 6, 30, 20, 30, tzinfo=UTC)).id == "AM-2"
    with pytest.raises(ValueError, match="timezone"):
        versions.in_force(datetime(2026, 7, 1))


def test_several_authorities_in_force_need_a_choice() -> None:
    versions = from_dict(TWO_VERSIONS)
    with pytest.raises(ScheduleNotInForce, match="AM-2, AZ-1") as caught:
        versions.in_force(T0)
    assert isinstance(caught.value, Conflict)
    assert versions.in_force(T0, authority="AZ-CUSTOMS").id == "AZ-1"
    assert versions.in_force(T0, country="AM").id == "AM-2"
    with pytest.raises(ScheduleNotInForce, match="no fee schedule authority=AM-FEES"):
        versions.in_force(T0, authority="AM-FEES")
    with pytest.raises(ScheduleNotInForce, match="2025-12-31"):
        versions.in_force(datetime(2025, 12, 31, 12, tzinfo=UTC))


def test_the_input_dict_is_not_changed() -> None:
    raw = default_schedule_dict()
    before = copy.deepcopy(raw)
    from_dict(raw)
    assert raw == before


# --- who may change the schedule -------------------------------------------------------------

TODAY = date(2026, 11, 23)


def test_only_a_version_s_authority_changes_it() -> None:
    old = from_dict(TWO_VERSIONS)
    raw = copy.deepcopy(TWO_VERSIONS)
    raw["schedules"].append(schedule(id="AM-3", effective_from="2027-01-01"))
    raw["schedules"][1]["effective_to"] = "2026-12-31"
    new = from_dict(raw)
    check_change(old, new, by="AM-CUSTOMS", today=TODAY)  # end the current one, add the next
    with pytest.raises(Forbidden, match="AM-2 is set by AM-CUSTOMS, not by CORRIDOR-OPERATOR"):
        check_change(old, new, by="CORRIDOR-OPERATOR", today=TODAY)
    with pytest.raises(Forbidden):
        check_change(old, new, by="AZ-CUSTOMS", today=TODAY)


def test_a_version_that_was_in_force_is_history() -> None:
    old = from_dict(TWO_VERSIONS)
    raw = copy.deepcopy(TWO_VERSIONS)
    raw["schedules"][1]["lines"][0]["amount"] = "60.00"  # AM-2, in force since July
    with pytest.raises(ScheduleChangeRefused, match="may only be ended") as caught:
        check_change(old, from_dict(raw), by="AM-CUSTOMS", today=TODAY)
    assert caught.value.status == 409
    raw = copy.deepcopy(TWO_VERSIONS)
    raw["schedules"][1]["effective_to"] = "2026-11-22"  # ended yesterday: retroactive
    with pytest.raises(ScheduleChangeRefused):
        check_change(old, from_dict(raw), by="AM-CUSTOMS", today=TODAY)
    raw = copy.deepcopy(TWO_VERSIONS)
    del raw["schedules"][1]
    with pytest.raises(ScheduleChangeRefused):
        check_change(old, from_dict(raw), by="AM-CUSTOMS", today=TODAY)
    # A version not yet in force may still be changed or withdrawn by its authority.
    raw = copy.deepcopy(TWO_VERSIONS)
    raw["schedules"][2]["lines"][0]["amount"] = "70.00"
    check_change(old, from_dict(raw), by="AZ-CUSTOMS", today=date(2026, 8, 31))
    moved = from_dict(TWO_VERSIONS | {"timezone": "Asia/Baku"})
    with pytest.raises(ScheduleChangeRefused, match="timezone"):
        check_change(old, moved, by="AM-CUSTOMS", today=TODAY)
