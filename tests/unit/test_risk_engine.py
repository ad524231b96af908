"""The risk engine: rulesets as validated data, and screening decisions an auditor can redo."""

from __future__ import annotations

import copy
import hashlib
import math
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tripp.corridor.model import TransportMode
from tripp.errors import FieldError, InvalidInput
from tripp.risk.defaults import default_ruleset, default_ruleset_dict
from tripp.risk.engine import random_draw, screen
from tripp.risk.model import ALERT_KINDS, HolderHistory, Lane, RuleKind, Subject
from tripp.risk.ruleset import Ruleset, RulesetNotApplicable, from_dict, rate_threshold
from tripp.tracking.alerts import AlertKind

AM = default_ruleset("AM")
SEASONED = HolderHistory(movements_total=50)  # enough movements not to count as a new holder


def subject(**kw: Any) -> Subject:
    base = Subject(
        mrn="26AZ00000000000001",
        country="AM",
        office="AM000101",
        holder="AZ-CARRIER-0001",
        mode=TransportMode.ROAD,
        gross_mass_kg=Decimal(12000),
        hs_codes=("870323", "847130"),
        history=SEASONED,
    )
    return replace(base, **kw)


def without_random(ruleset_dict: dict[str, Any]) -> Ruleset:
    d = copy.deepcopy(ruleset_dict)
    d["rules"] = [r for r in d["rules"] if r["kind"] != "random"]
    return from_dict(d)


AM_FIXED = without_random(default_ruleset_dict("AM"))


def by_rule(decision: Any) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for reason in decision.reasons:
        out.setdefault(reason.rule, []).append(reason)
    return out


# --- lanes and subjects ------------------------------------------------------------------


def test_lanes_order_by_severity_not_by_text() -> None:
    assert max(Lane.RED, Lane.GREEN, Lane.YELLOW) is Lane.RED
    assert max(Lane.GREEN, Lane.YELLOW) is Lane.YELLOW
    assert sorted([Lane.RED, Lane.YELLOW, Lane.GREEN]) == [Lane.GREEN, Lane.YELLOW, Lane.RED]
    assert Lane.YELLOW < Lane.RED and Lane.RED >= Lane.RED and not Lane.GREEN > Lane.YELLOW
    assert [lane.rank for lane in Lane] == [0, 1, 2]


def test_vehicle_defaults_to_the_modes_usual_one() -> None:
    assert subject(mode=TransportMode.ROAD).vehicle == "truck"
    assert subject(mode="rail").vehicle == "wagon"
    assert subject(mode="rail").mode is TransportMode.RAIL
    assert subject(mode="rail", vehicle_class="van").vehicle == "van"


@pytest.mark.parametrize(
    "kw",
    [{"mode": "air"}, {"gross_mass_kg": Decimal(-1)}, {"gross_mass_kg": float("nan")}, {"mrn": ""}],
)
def test_subject_refuses_impossible_values(kw: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        subject(**kw)


def test_holder_history_refuses_negative_counts() -> None:
    with pytest.raises(ValueError, match="incidents=-1"):
        HolderHistory(incidents=-1)


def test_alert_kinds_match_the_tracking_packages() -> None:
    assert {k.value for k in AlertKind} == ALERT_KINDS


# --- the bundled rulesets ----------------------------------------------------------------


@pytest.mark.parametrize("country", ["AM", "AZ"])
def test_default_rulesets_load_and_round_trip_exactly(country: str) -> None:
    ruleset = default_ruleset(country)
    assert (ruleset.country, ruleset.version) == (country, 1)
    assert ruleset.to_dict() == default_ruleset_dict(country)
    assert from_dict(ruleset.to_dict()) == ruleset
    assert (ruleset.random_red_rate, ruleset.random_yellow_rate) == (
        Decimal("0.01"),
        Decimal("0.04"),
    )


def test_default_ruleset_dict_is_a_fresh_copy() -> None:
    default_ruleset_dict("AM")["rules"].clear()
    assert default_ruleset("AM").rules


def test_no_bundled_ruleset_for_another_country() -> None:
    with pytest.raises(ValueError, match="'GE'"):
        default_ruleset_dict("GE")


# --- screening ---------------------------------------------------------------------------


def test_ordinary_goods_from_a_seasoned_holder_go_green_without_reasons() -> None:
    decision = screen(subject(), AM_FIXED)
    assert (decision.lane, decision.score, decision.reasons) == (Lane.GREEN, 0, ())
    assert (decision.ruleset_country, decision.ruleset_version) == ("AM", 1)


@pytest.mark.parametrize("code", ["930190", "930630", "9301900000"])
def test_arms_are_red_whoever_carries_them(code: str) -> None:
    decision = screen(subject(hs_codes=("870323", code), trusted_trader=True), AM_FIXED)
    assert decision.lane is Lane.RED
    arms = by_rule(decision)["arms"]
    assert [(r.kind, r.lane) for r in arms] == [(RuleKind.HS_PREFIX, Lane.RED)]
    assert code in arms[0].detail and "prefix 93" in arms[0].detail


def test_an_hs_rule_speaks_once_whatever_the_item_count() -> None:
    decision = screen(subject(hs_codes=("845611", "901320", "845611")), AM_FIXED)
    [reason] = decision.reasons
    assert (reason.rule, reason.points, reason.lane) == ("dual-use", 30, None)
    assert decision.lane is Lane.YELLOW and decision.score == 30


def test_precursor_plus_a_soft_signal_is_red() -> None:
    decision = screen(subject(hs_codes=("293941",), alerts=frozenset({"overdue"})), AM_FIXED)
    assert [r.rule for r in decision.reasons] == ["drug-precursors", "tracking"]
    assert (decision.score, decision.lane) == (50, Lane.RED)


def test_an_opened_seal_is_red_even_for_a_trusted_trader() -> None:
    decision = screen(subject(alerts=frozenset({"seal_opened"}), trusted_trader=True), AM_FIXED)
    assert decision.lane is Lane.RED
    assert decision.score == -10  # the score alone would be green: the lane is forced
    assert [(r.rule, r.lane) for r in decision.reasons] == [
        ("tracking", Lane.RED),
        ("trusted-trader", None),
    ]


def test_trusted_trader_lowers_the_score_and_can_lower_a_scored_lane() -> None:
    risky = subject(
        history=HolderHistory(movements_total=50, discrepancies=2),
        alerts=frozenset({"overdue"}),
    )
    plain = screen(risky, AM_FIXED)
    trusted = screen(replace(risky, trusted_trader=True), AM_FIXED)
    assert (plain.score, plain.lane) == (20, Lane.YELLOW)
    assert (trusted.score, trusted.lane) == (10, Lane.GREEN)
    assert trusted.reasons[:-1] == plain.reasons
    assert trusted.reasons[-1].rule == "trusted-trader"


def test_trusted_trader_keeps_a_clear_signal_yellow() -> None:
    decision = screen(subject(alerts=frozenset({"route_deviation"}), trusted_trader=True), AM_FIXED)
    assert (decision.score, decision.lane) == (20, Lane.YELLOW)


def test_mass_over_the_vehicles_limit_is_a_reason() -> None:
    decision = screen(subject(vehicle_class="van", gross_mass_kg=Decimal("3500.1")), AM_FIXED)
    [reason] = decision.reasons
    assert (reason.rule, reason.kind, reason.points) == ("mass-plausible", RuleKind.MASS_LIMIT, 30)
    assert "3500.1 kg" in reason.detail and "van" in reason.detail


@pytest.mark.parametrize(
    "kw",
    [
        {"vehicle_class": "van", "gross_mass_kg": Decimal(3500)},  # at the limit is allowed
        {"mode": "rail", "gross_mass_kg": 69999.5},  # float masses are compared too
        {"vehicle_class": "bus", "gross_mass_kg": Decimal(10**6)},  # no limit, no check
    ],
)
def test_mass_within_or_without_a_limit_is_no_reason(kw: dict[str, Any]) -> None:
    assert screen(subject(**kw), AM_FIXED).reasons == ()


def test_holder_history_is_weighted_and_capped() -> None:
    history = HolderHistory(movements_total=40, discrepancies=1, incidents=2, recoveries=1)
    [reason] = screen(subject(history=history), AM_FIXED).reasons
    assert (reason.rule, reason.points) == ("holder-history", 5 + 2 * 3 + 15)
    heavy = HolderHistory(movements_total=40, recoveries=9)
    decision = screen(subject(history=heavy), AM_FIXED)
    assert (decision.score, decision.lane) == (40, Lane.YELLOW)  # capped below red


def test_a_new_holder_earns_points_for_being_unknown() -> None:
    [reason] = screen(subject(history=HolderHistory(movements_total=2)), AM_FIXED).reasons
    assert (reason.rule, reason.points) == ("holder-history", 5)
    assert "fewer than 3" in reason.detail


def test_alert_reasons_follow_the_rulesets_order_not_the_sets() -> None:
    alerts = frozenset({"overdue", "tracker_silent", "seal_opened", "speeding"})
    decision = screen(subject(alerts=alerts), AM_FIXED)
    details = [r.detail for r in decision.reasons]
    assert details == [
        "tracking alert seal_opened is open",
        "tracking alert tracker_silent is open",
        "tracking alert overdue is open",
    ]


def test_decisions_do_not_depend_on_the_hash_seed() -> None:
    # Frozenset order changes with PYTHONHASHSEED; the reasons must not.
    code = (
        "from tripp.risk.defaults import default_ruleset\n"
        "from tripp.risk.engine import screen\n"
        "from tripp.risk.model import HolderHistory, Subject\n"
        "s = Subject('26AZ00000000000001', 'AM', 'AM000101', 'H', 'road', 50000,\n"
        "    ('930190', '293941', '845611'), history=HolderHistory(2, 1, 1, 1),\n"
        "    alerts=frozenset({'overdue', 'tracker_silent', 'seal_opened', 'route_deviation'}),\n"
        "    trusted_trader=True)\n"
        "print(repr(screen(s, default_ruleset('AM'))))\n"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(outputs) == 1
    assert "rule='arms'" in outputs.pop()


def test_another_countrys_ruleset_cannot_screen() -> None:
    with pytest.raises(RulesetNotApplicable, match="AZ ruleset v1"):
        screen(subject(country="AM"), default_ruleset("AZ"))


# --- random selection --------------------------------------------------------------------


def recipe(mrn: str, country: str, version: int) -> float:
    """The draw as the docstring of ``random_draw`` tells an auditor to compute it."""
    digest = hashlib.sha256(f"{mrn}|{country}|{version}".encode()).digest()
    return (int.from_bytes(digest[:8], "big") >> 11) / 2**53


def mrns(count: int) -> list[str]:
    return [f"26AZ{i:014d}" for i in range(count)]


def test_the_draw_follows_the_documented_recipe() -> None:
    for mrn in mrns(200):
        decision = screen(subject(mrn=mrn), AM)
        assert decision.draw == recipe(mrn, "AM", 1) == random_draw(mrn, "AM", 1)
        assert 0 <= decision.draw < 1


def test_random_selection_follows_the_draw_and_names_its_rule() -> None:
    lanes = {}
    for mrn in mrns(400):
        decision = screen(subject(mrn=mrn), AM)
        expected = Lane.RED if decision.draw < 0.01 else Lane.GREEN
        expected = Lane.YELLOW if 0.01 <= decision.draw < 0.05 else expected
        assert decision.lane is expected
        lanes[expected] = decision
    assert set(lanes) == {Lane.GREEN, Lane.YELLOW, Lane.RED}  # the sample saw every case
    for lane in (Lane.YELLOW, Lane.RED):
        [reason] = lanes[lane].reasons
        assert (reason.rule, reason.kind, reason.lane) == ("random", RuleKind.RANDOM, lane)
        assert repr(lanes[lane].draw) in reason.detail


def rates_ruleset(red: str, yellow: str, version: int = 1) -> Ruleset:
    return from_dict(
        {
            "country": "AM",
            "version": version,
            "thresholds": {"yellow": 1, "red": 2},
            "rules": [{"id": "r", "kind": "random", "red_rate": red, "yellow_rate": yellow}],
        }
    )


@pytest.mark.parametrize(("red", "yellow"), [("0.01", "0.04"), ("0.25", "0.5"), ("0", "0.001")])
def test_observed_selection_rates_match_the_configured_ones(red: str, yellow: str) -> None:
    n = 20_000
    ruleset = rates_ruleset(red, yellow)
    lanes = Counter(screen(subject(mrn=mrn), ruleset).lane for mrn in mrns(n))
    for lane, rate in ((Lane.RED, float(red)), (Lane.YELLOW, float(yellow))):
        sigma = math.sqrt(n * rate * (1 - rate))
        assert abs(lanes[lane] - n * rate) <= 4 * sigma + 1e-9, (lane, lanes[lane], n * rate)


def test_a_new_version_draws_anew() -> None:
    v1, v2 = rates_ruleset("0.1", "0", version=1), rates_ruleset("0.1", "0", version=2)
    picked = {
        version: {mrn for mrn in mrns(2000) if screen(subject(mrn=mrn), r).lane is Lane.RED}
        for version, r in ((1, v1), (2, v2))
    }
    assert all(random_draw(m, "AM", 1) != random_draw(m, "AM", 2) for m in mrns(2000))
    assert picked[1] != picked[2]
    assert len(picked[1] & picked[2]) < len(picked[1]) / 2  # about 10 % overlap expected


@given(n=st.integers(0, 2**53 - 1), rate=st.decimals(0, 1, places=20))
def test_rate_threshold_compares_exactly(n: int, rate: Decimal) -> None:
    assert (Fraction(n, 2**53) < Fraction(rate)) == (n < rate_threshold(rate))


# --- properties of screening over generated rulesets and subjects ----------------------

PREFIX = st.from_regex(r"(0[1-9]|[1-6][0-9]|7[0-689]|8[0-9]|9[0-7])[0-9]{0,8}", fullmatch=True)
POINTS = st.integers(1, 60)
LANE = st.sampled_from(["yellow", "red"])
DESCRIPTION = st.text(st.characters(codec="utf-8"), min_size=1, max_size=12)


def effect() -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        st.fixed_dictionaries({"points": POINTS}),
        st.fixed_dictionaries({"lane": LANE}),
        st.fixed_dictionaries({"points": POINTS, "lane": LANE}),
    )


def with_effect(base: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.tuples(st.fixed_dictionaries(base), effect()).map(lambda t: t[0] | t[1])


# Mass limits as the canonical dict holds them: whole kilograms as ints, others as text.
MASS = st.integers(1, 10**6) | st.integers(1, 10**7).filter(lambda k: k % 10).map(
    lambda k: str(Decimal(k) / 10)
)
RATE = st.decimals(0, Decimal("0.5"), places=3).map(str)

RULES = st.one_of(
    with_effect(
        {
            "kind": st.just("hs_prefix"),
            "prefixes": st.lists(PREFIX, min_size=1, max_size=4, unique=True),
        }
    ),
    with_effect(
        {
            "kind": st.just("mass_limit"),
            "limits_kg": st.dictionaries(
                st.sampled_from(["truck", "van", "wagon", "bus"]), MASS, min_size=1
            ),
        }
    ),
    st.tuples(
        st.fixed_dictionaries(
            {
                "kind": st.just("holder_history"),
                "weights": st.dictionaries(
                    st.sampled_from(["discrepancies", "incidents", "recoveries"]),
                    st.integers(1, 30),
                    min_size=1,
                ),
            },
            optional={"cap": st.integers(1, 100)},
        ),
        st.just({})
        | st.fixed_dictionaries(
            {"min_movements": st.integers(1, 10), "new_holder_points": st.integers(1, 20)}
        ),
    ).map(lambda t: t[0] | t[1]),
    st.fixed_dictionaries(
        {
            "kind": st.just("tracking_alert"),
            "alerts": st.dictionaries(st.sampled_from(sorted(ALERT_KINDS)), effect(), min_size=1),
        }
    ),
    st.fixed_dictionaries({"kind": st.just("trusted_trader"), "points": st.integers(-60, -1)}),
)


@st.composite
def ruleset_dicts(draw: st.DrawFn) -> dict[str, Any]:
    rules = draw(st.lists(RULES, max_size=8))
    if draw(st.booleans()):
        rules.insert(
            draw(st.integers(0, len(rules))),
            {"kind": "random", "red_rate": draw(RATE), "yellow_rate": draw(RATE)},
        )
    for i, rule in enumerate(rules):
        rule["id"] = f"{rule['kind'].replace('_', '-')}-{i}"
        if draw(st.booleans()):
            rule["description"] = draw(DESCRIPTION)
    yellow = draw(st.integers(1, 100))
    out: dict[str, Any] = {
        "country": draw(st.sampled_from(["AM", "AZ", "GE", "TR"])),
        "version": draw(st.integers(1, 10**6)),
        "thresholds": {"yellow": yellow, "red": yellow + draw(st.integers(1, 100))},
        "rules": rules,
    }
    if draw(st.booleans()):
        out["description"] = draw(DESCRIPTION)
    return out


HS_CODES = st.sampled_from(["930190", "360200", "845611", "293941", "870323", "080510"]) | (
    st.from_regex(r"[0-9]{6,10}", fullmatch=True)
)
SUBJECTS = st.builds(
    Subject,
    mrn=st.from_regex(r"[0-9]{2}[A-Z]{2}[A-Z0-9]{14}", fullmatch=True),
    country=st.just("AM"),
    office=st.just("AM000101"),
    holder=st.text(min_size=1, max_size=8),
    mode=st.sampled_from(TransportMode),
    gross_mass_kg=st.decimals(0, 200_000, places=1) | st.floats(0, 200_000),
    hs_codes=st.lists(HS_CODES, max_size=6).map(tuple),
    vehicle_class=st.sampled_from(["", "truck", "van", "wagon", "bus"]),
    history=st.builds(
        HolderHistory,
        movements_total=st.integers(0, 1000),
        discrepancies=st.integers(0, 20),
        incidents=st.integers(0, 20),
        recoveries=st.integers(0, 5),
    ),
    alerts=st.frozensets(st.sampled_from(sorted(ALERT_KINDS))),
    trusted_trader=st.booleans(),
)


@settings(max_examples=150)
@given(d=ruleset_dicts())
def test_rulesets_round_trip_through_dicts_exactly(d: dict[str, Any]) -> None:
    ruleset = from_dict(d)
    assert ruleset.to_dict() == d
    assert from_dict(ruleset.to_dict()) == ruleset


@settings(max_examples=150)
@given(d=ruleset_dicts(), s=SUBJECTS)
def test_screening_is_deterministic_and_every_reason_names_its_rule(
    d: dict[str, Any], s: Subject
) -> None:
    ruleset = from_dict(d)
    s = replace(s, country=ruleset.country)
    decision = screen(s, ruleset)
    again = screen(replace(s), from_dict(copy.deepcopy(d)))
    assert decision == again
    assert (decision.ruleset_country, decision.ruleset_version) == (
        ruleset.country,
        ruleset.version,
    )
    assert decision.draw == recipe(s.mrn, ruleset.country, ruleset.version)
    positions = {rule.id: i for i, rule in enumerate(ruleset.rules)}
    kinds = {rule.id: rule.kind for rule in ruleset.rules}
    for reason in decision.reasons:
        assert reason.rule in positions and reason.kind is kinds[reason.rule]
    order = [positions[r.rule] for r in decision.reasons]
    assert order == sorted(order)
    assert decision.score == sum(r.points for r in decision.reasons)
    by_score = Lane.GREEN
    if decision.score >= ruleset.red_score:
        by_score = Lane.RED
    elif decision.score >= ruleset.yellow_score:
        by_score = Lane.YELLOW
    assert decision.lane is max([by_score, *(r.lane for r in decision.reasons if r.lane)])


@settings(max_examples=100)
@given(s=SUBJECTS)
def test_trusted_status_never_raises_a_lane_and_never_lowers_a_forced_one(s: Subject) -> None:
    plain = screen(replace(s, trusted_trader=False), AM_FIXED)
    trusted = screen(replace(s, trusted_trader=True), AM_FIXED)
    assert trusted.score == plain.score - 10
    assert trusted.lane <= plain.lane
    forced = [r.lane for r in plain.reasons if r.lane is not None]
    if forced:
        assert trusted.lane >= max(forced)


# --- validation --------------------------------------------------------------------------


def rule_at(d: dict[str, Any], rule_id: str) -> dict[str, Any]:
    return next(r for r in d["rules"] if r["id"] == rule_id)


def broken(mutate: Callable[[dict[str, Any]], object]) -> set[tuple[str, str]]:
    d = default_ruleset_dict("AM")
    mutate(d)
    with pytest.raises(InvalidInput) as caught:
        from_dict(d)
    assert all(isinstance(e, FieldError) for e in caught.value.errors)
    return {(e.field, e.rule) for e in caught.value.errors}


# Rule positions in the default ruleset: 0 arms, 2 dual-use, 4 mass, 5 history, 6 tracking,
# 7 trusted trader, 8 random.
CASES: list[tuple[str, Callable[[dict[str, Any]], object], set[tuple[str, str]]]] = [
    (
        "unknown kind",
        lambda d: d["rules"][2].update(kind="hs_prefixes"),
        {("rules[2].kind", "rule-kind")},
    ),
    (
        "prefix with a letter",
        lambda d: d["rules"][0].update(prefixes=["9x"]),
        {("rules[0].prefixes[0]", "hs-prefix")},
    ),
    (
        "prefixes too short, too long, not text, reserved chapter",
        lambda d: d["rules"][2].update(prefixes=["8401", "8", "12345678901", 93, "7701"]),
        {
            ("rules[2].prefixes[1]", "hs-prefix"),
            ("rules[2].prefixes[2]", "hs-prefix"),
            ("rules[2].prefixes[3]", "hs-prefix"),
            ("rules[2].prefixes[4]", "hs-prefix"),
        },
    ),
    (
        "prefix listed twice",
        lambda d: d["rules"][2]["prefixes"].append("8456"),
        {("rules[2].prefixes[7]", "hs-prefix-duplicate")},
    ),
    (
        "duplicate id",
        lambda d: d["rules"][4].update(id="arms"),
        {("rules[4].id", "rule-id-duplicate")},
    ),
    ("malformed id", lambda d: d["rules"][4].update(id="Mass Limit"), {("rules[4].id", "rule-id")}),
    (
        "rate out of range",
        lambda d: d["rules"][8].update(red_rate="1.5", yellow_rate=-0.1),
        {("rules[8].red_rate", "rate"), ("rules[8].yellow_rate", "rate")},
    ),
    (
        "rate not a number",
        lambda d: d["rules"][8].update(red_rate="often", yellow_rate=float("nan")),
        {("rules[8].red_rate", "rate"), ("rules[8].yellow_rate", "rate")},
    ),
    (
        "rates adding up to more than 1",
        lambda d: d["rules"][8].update(red_rate=0.6, yellow_rate="0.5"),
        {("rules[8].yellow_rate", "rates-sum")},
    ),
    (
        "a second random rule",
        lambda d: d["rules"].append(dict(d["rules"][8], id="random-2")),
        {("rules[9].kind", "random-single")},
    ),
    (
        "thresholds out of order",
        lambda d: d.update(thresholds={"yellow": 50, "red": 20}),
        {("thresholds.red", "thresholds-order")},
    ),
    (
        "thresholds equal, zero, not whole",
        lambda d: d.update(thresholds={"yellow": 0, "red": 2.5, "orange": 3}),
        {
            ("thresholds.yellow", "threshold"),
            ("thresholds.red", "threshold"),
            ("thresholds.orange", "unknown-field"),
        },
    ),
    (
        "missing top-level fields",
        lambda d: [d.pop(k) for k in ("country", "version", "thresholds", "rules")],
        {
            ("country", "required"),
            ("version", "required"),
            ("thresholds", "required"),
            ("rules", "required"),
        },
    ),
    (
        "missing rule fields",
        lambda d: [
            d["rules"][0].pop("prefixes"),
            d["rules"][7].pop("id"),
            d["rules"][6].pop("kind"),
        ],
        {
            ("rules[0].prefixes", "required"),
            ("rules[7].id", "required"),
            ("rules[6].kind", "required"),
        },
    ),
    (
        "neither points nor lane",
        lambda d: d["rules"][2].pop("points"),
        {("rules[2].points", "effect-required")},
    ),
    ("wrong country code", lambda d: d.update(country="XA"), {("country", "country-iso3166")}),
    ("lower-case country code", lambda d: d.update(country="am"), {("country", "country-iso3166")}),
    ("country not text", lambda d: d.update(country=51), {("country", "type")}),
    ("version zero", lambda d: d.update(version=0), {("version", "version")}),
    ("version as text", lambda d: d.update(version="1"), {("version", "version")}),
    ("version as boolean", lambda d: d.update(version=True), {("version", "version")}),
    ("forcing green", lambda d: d["rules"][0].update(lane="green"), {("rules[0].lane", "lane")}),
    ("points of zero", lambda d: d["rules"][2].update(points=0), {("rules[2].points", "points")}),
    (
        "positive trusted trader points and a lane",
        lambda d: d["rules"][7].update(points=5, lane="red"),
        {("rules[7].points", "points"), ("rules[7].lane", "unknown-field")},
    ),
    (
        "unknown rule field",
        lambda d: d["rules"][0].update(lanes="red"),
        {("rules[0].lanes", "unknown-field")},
    ),
    ("unknown top field", lambda d: d.update(owner="AM"), {("owner", "unknown-field")}),
    (
        "unknown alert kind and bad effect",
        lambda d: d["rules"][6]["alerts"].update(seal_broken={"lane": "red"}, overdue={"pts": 1}),
        {
            ("rules[6].alerts.seal_broken", "alert-kind"),
            ("rules[6].alerts.overdue.pts", "unknown-field"),
            ("rules[6].alerts.overdue.points", "effect-required"),
        },
    ),
    (
        "alert effect not a mapping",
        lambda d: d["rules"][6]["alerts"].update(overdue=10),
        {("rules[6].alerts.overdue", "type")},
    ),
    (
        "mass limits: negative, unnamed class, text",
        lambda d: d["rules"][4].update(limits_kg={"truck": -1, "Big Truck": 5, "van": "heavy"}),
        {
            ("rules[4].limits_kg.truck", "mass-limit"),
            ("rules[4].limits_kg.Big Truck", "vehicle-class"),
            ("rules[4].limits_kg.van", "mass-limit"),
        },
    ),
    (
        "mass limits empty",
        lambda d: d["rules"][4].update(limits_kg={}),
        {("rules[4].limits_kg", "type")},
    ),
    (
        "history weights unknown, zero; cap zero; half a new-holder pair",
        lambda d: [
            d["rules"][5].update(weights={"fines": 2, "incidents": 0}, cap=0),
            d["rules"][5].pop("new_holder_points"),
        ],
        {
            ("rules[5].weights.fines", "unknown-field"),
            ("rules[5].weights.incidents", "weight"),
            ("rules[5].cap", "cap"),
            ("rules[5].new_holder_points", "new-holder"),
        },
    ),
    ("rules not a list", lambda d: d.update(rules={"arms": {}}), {("rules", "type")}),
    ("rule not a mapping", lambda d: d["rules"].append("arms"), {("rules[9]", "type")}),
    (
        "description not text",
        lambda d: d["rules"][1].update(description=3),
        {("rules[1].description", "type")},
    ),
]


@pytest.mark.parametrize(("mutate", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_validation_names_each_broken_field_and_rule(
    mutate: Callable[[dict[str, Any]], object], expected: set[tuple[str, str]]
) -> None:
    assert broken(mutate) == expected


def test_validation_collects_every_error_at_once() -> None:
    # Breaks in different places, each of which alone gives the expected errors.
    names = [
        "unknown kind",
        "prefix with a letter",
        "malformed id",
        "rate out of range",
        "thresholds out of order",
        "wrong country code",
        "version zero",
        "unknown top field",
        "mass limits: negative, unnamed class, text",
        "history weights unknown, zero; cap zero; half a new-holder pair",
        "unknown alert kind and bad effect",
        "positive trusted trader points and a lane",
    ]
    chosen = [case for case in CASES if case[0] in names]
    assert len(chosen) == len(names)

    def all_of_them(d: dict[str, Any]) -> None:
        for _, mutate, _ in chosen:
            mutate(d)

    assert broken(all_of_them) == set().union(*(expected for _, _, expected in chosen))


def test_a_ruleset_that_is_not_a_mapping_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        from_dict(["AM", 1])
    assert [(e.field, e.rule) for e in caught.value.errors] == [("(ruleset)", "type")]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=200)
@given(
    position=st.integers(0, 8),
    key=st.sampled_from(
        [
            "id",
            "kind",
            "points",
            "lane",
            "prefixes",
            "alerts",
            "weights",
            "limits_kg",
            "red_rate",
            "x",
        ]
    ),
    value=JSON,
)
def test_any_broken_rule_raises_invalid_input_about_that_rule_only(
    position: int, key: str, value: Any
) -> None:
    d = default_ruleset_dict("AM")
    d["rules"][position][key] = value
    try:
        from_dict(d)
    except InvalidInput as exc:
        assert all(
            e.field.startswith(f"rules[{position}]") or e.rule == "rule-id-duplicate"
            for e in exc.errors
        )
