"""Alert rules: debounce, hysteresis, one open alert per kind, time-driven kinds, JSON state."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from math import nan

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tripp.corridor.model import TrackingRules, TransportMode
from tripp.tracking.alerts import (
    MAX_EVIDENCE,
    AlertChange,
    AlertContext,
    AlertKind,
    Change,
    Evidence,
    FixOutOfOrder,
    MonitorState,
    _by_rules,
    acknowledge,
    check_time,
    evaluate,
    quiet_count,
    with_last_fix,
)
from tripp.tracking.geometry import Assessment
from tripp.tracking.model import Fix, SealState

K = AlertKind
T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
MRN = "26AZ000101T0000017"
CTX = AlertContext(MRN, TransportMode.ROAD, T0 + timedelta(hours=24), armed=True)
UNARMED = dataclasses.replace(CTX, armed=False)
EMPTY = MonitorState()


# --- helpers: fixes with their assessment row, written by seconds after T0 ------------------


@dataclass(frozen=True)
class Row:
    fix: Fix
    inside: bool = True
    inside_clear: bool = True
    distance_m: float = nan
    in_stop_zone: bool = False


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def fix(
    seconds: float,
    *,
    device: str = "TRK-1",
    speed: float | None = 50.0,
    seal: SealState | None = None,
) -> Fix:
    return Fix(device, at(seconds), 38.9, 46.4 + seconds * 1e-6, speed_kmh=speed, seal=seal)


def on(
    seconds: float,
    *,
    device: str = "TRK-1",
    speed: float | None = 50.0,
    seal: SealState | None = None,
) -> Row:
    """On the route, moving."""
    return Row(fix(seconds, device=device, speed=speed, seal=seal))


def off(
    seconds: float,
    *,
    device: str = "TRK-1",
    speed: float | None = 50.0,
    seal: SealState | None = None,
) -> Row:
    """Far off the route (distance not computed)."""
    moving = fix(seconds, device=device, speed=speed, seal=seal)
    return Row(moving, inside=False, inside_clear=False)


def band(seconds: float, *, device: str = "TRK-1") -> Row:
    """Inside the buffer but outside the clear radius: 450 m off."""
    return Row(fix(seconds, device=device), inside_clear=False, distance_m=450.0)


def stopped(seconds: float, *, zone: bool = False, device: str = "TRK-1") -> Row:
    return Row(fix(seconds, speed=0.0, device=device), in_stop_zone=zone)


def every(step_s: float, start_s: float, end_s: float) -> list[float]:
    """start, start + step, ... up to end inclusive."""
    return [float(s) for s in np.arange(start_s, end_s + step_s / 2, step_s)]


def assessment_of(rows: Sequence[Row]) -> Assessment:
    return Assessment(
        inside=np.array([r.inside for r in rows], dtype=bool),
        inside_clear=np.array([r.inside_clear for r in rows], dtype=bool),
        distance_m=np.array([r.distance_m for r in rows], dtype=np.float64),
        in_stop_zone=np.array([r.in_stop_zone for r in rows], dtype=bool),
    )


def run(
    rows: Sequence[Row], state: MonitorState = EMPTY, context: AlertContext = CTX
) -> tuple[MonitorState, list[AlertChange]]:
    return evaluate(state, context, [r.fix for r in rows], assessment_of(rows))


def summary(changes: Sequence[AlertChange]) -> list[tuple[str, str, float]]:
    return [(c.kind.value, c.change.value, (c.at - T0).total_seconds()) for c in changes]


# --- route deviation --------------------------------------------------------------------------


def test_deviation_needs_three_fixes_and_a_minute_outside() -> None:
    state, changes = run([off(s) for s in every(10, 0, 50)])
    assert changes == [] and state.runs[K.ROUTE_DEVIATION].count == 6
    state, changes = run([off(60)], state)
    assert summary(changes) == [("route_deviation", "raised", 60)]
    raised = changes[0]
    assert raised.mrn == MRN and raised.device_id == "TRK-1"
    assert raised.location == (raised.evidence[-1].lon, raised.evidence[-1].lat)
    assert [e.time for e in raised.evidence] == [at(s) for s in every(10, 0, 60)]
    assert state.is_open(K.ROUTE_DEVIATION) and K.ROUTE_DEVIATION not in state.runs


def test_two_fixes_a_long_time_apart_are_not_enough() -> None:
    _, changes = run([off(0), off(300)])
    assert changes == []
    _, changes = run([off(0), off(300), off(301)])
    assert summary(changes) == [("route_deviation", "raised", 301)]


def test_three_quick_fixes_are_not_enough() -> None:
    _, changes = run([off(0), off(1), off(2)])
    assert changes == []


@pytest.mark.parametrize("breaker", [on, band])
def test_a_fix_inside_the_buffer_restarts_the_count(breaker: Callable[[float], Row]) -> None:
    rows = [off(s) for s in every(10, 0, 50)] + [breaker(55)] + [off(s) for s in every(10, 60, 110)]
    _, changes = run(rows)
    assert changes == []


def test_deviation_clears_after_a_minute_within_the_clear_radius() -> None:
    state, _ = run([off(s) for s in every(10, 0, 60)])
    # the hysteresis band (450 m: inside the 500 m buffer, outside 400 m) never clears
    state, changes = run([band(s) for s in every(10, 70, 300)], state)
    assert changes == [] and state.is_open(K.ROUTE_DEVIATION)
    state, changes = run([on(s) for s in every(10, 310, 360)], state)
    assert changes == []
    state, changes = run([on(370)], state)
    assert summary(changes) == [("route_deviation", "cleared", 370)]
    assert len(changes[0].evidence) == 7 and not state.open_alerts


def test_evidence_keeps_the_distance_when_known() -> None:
    _, changes = run(
        [Row(fix(s), inside=False, inside_clear=False, distance_m=612.5) for s in every(10, 0, 60)]
    )
    assert {e.distance_m for e in changes[0].evidence} == {612.5}
    _, changes = run([off(s) for s in every(10, 0, 60)])
    assert {e.distance_m for e in changes[0].evidence} == {None}


# --- unauthorized stop ------------------------------------------------------------------------


def test_stop_outside_the_zones_for_five_minutes() -> None:
    state, changes = run([stopped(s) for s in every(10, 0, 290)])
    assert changes == []
    state, changes = run([stopped(300)], state)
    assert summary(changes) == [("unauthorized_stop", "raised", 300)]
    state, changes = run([on(s) for s in every(10, 310, 360)], state)
    assert changes == []
    _, changes = run([on(370)], state)
    assert summary(changes) == [("unauthorized_stop", "cleared", 370)]


def test_stop_in_a_stop_zone_is_allowed() -> None:
    _, changes = run([stopped(s, zone=True) for s in every(10, 0, 1800)])
    assert changes == []


def test_a_tracker_reporting_rarely_while_parked_still_completes_a_stop() -> None:
    _, changes = run([stopped(0), stopped(300)])
    assert summary(changes) == [("unauthorized_stop", "raised", 300)]


def test_fixes_without_speed_neither_extend_nor_break_a_stop() -> None:
    rows = [stopped(0), on(100, device="ESEAL-1", speed=None), stopped(299)]
    state, changes = run(rows)
    assert changes == [] and state.runs[K.UNAUTHORIZED_STOP].count == 2
    _, changes = run([stopped(300)], state)
    assert summary(changes) == [("unauthorized_stop", "raised", 300)]


def test_a_speed_that_is_not_a_number_is_unknown() -> None:
    state, changes = run([stopped(0), on(100, speed=nan), on(200, speed=float("inf"))])
    assert changes == [] and state.last_fix is not None and state.last_fix.speed_kmh is None
    assert json.dumps(state.to_json(), allow_nan=False)  # stored as JSON: no NaN
    _, changes = run([stopped(300)], state)
    assert summary(changes) == [("unauthorized_stop", "raised", 300)]


def test_moving_restarts_the_stop() -> None:
    _, changes = run([stopped(0), stopped(200), on(210), stopped(220), stopped(500)])
    assert changes == []


def test_evidence_is_capped_keeping_the_first_fix() -> None:
    _, changes = run([stopped(s) for s in every(1, 0, 300)])
    evidence = changes[0].evidence
    assert len(evidence) == MAX_EVIDENCE
    assert evidence[0].time == at(0) and evidence[-1].time == at(300)
    assert evidence[1].time == at(300 - MAX_EVIDENCE + 2)


# --- speeding ---------------------------------------------------------------------------------


def test_speeding_for_thirty_seconds() -> None:
    state, changes = run([on(s, speed=97.0) for s in every(10, 0, 20)])
    assert changes == []
    state, changes = run([on(30, speed=97.0)], state)
    assert summary(changes) == [("speeding", "raised", 30)]
    _, changes = run([on(s, speed=90.0) for s in every(10, 40, 100)], state)
    assert summary(changes) == [("speeding", "cleared", 100)]


def test_the_limit_depends_on_the_mode() -> None:
    rows = [on(s, speed=85.0) for s in every(10, 0, 60)]
    assert run(rows)[1] == []
    rail = dataclasses.replace(CTX, mode=TransportMode.RAIL)
    assert summary(run(rows, context=rail)[1]) == [("speeding", "raised", 30)]
    rules = TrackingRules(speed_limit_kmh={TransportMode.RAIL: 80.0})
    no_road_limit = dataclasses.replace(CTX, rules=rules)
    assert run([on(s, speed=200.0) for s in every(10, 0, 60)], context=no_road_limit)[1] == []


# --- seal -------------------------------------------------------------------------------------


@pytest.mark.parametrize("seal", [SealState.OPEN, SealState.TAMPERED])
def test_seal_opened_at_once_and_kept_until_acknowledged(seal: SealState) -> None:
    state, changes = run([on(0, seal=SealState.CLOSED), on(10, seal=seal)])
    assert summary(changes) == [("seal_opened", "raised", 10)]
    state, changes = run([on(s, seal=SealState.CLOSED) for s in every(10, 20, 600)], state)
    assert changes == [] and state.is_open(K.SEAL_OPENED)
    state, changes = acknowledge(state, CTX, K.SEAL_OPENED, at(700))
    assert summary(changes) == [("seal_opened", "cleared", 700)]
    assert changes[0].evidence == () and changes[0].device_id is None


def test_an_acknowledged_seal_still_open_is_not_raised_again() -> None:
    state, _ = run([on(0, seal=SealState.OPEN)])
    state, _ = acknowledge(state, CTX, K.SEAL_OPENED, at(5))
    state, changes = run([on(s, seal=SealState.OPEN) for s in every(10, 10, 100)], state)
    assert changes == []
    state, changes = run([on(110, seal=SealState.CLOSED), on(120, seal=SealState.OPEN)], state)
    assert summary(changes) == [("seal_opened", "raised", 120)]


def test_acknowledging_nothing_changes_nothing() -> None:
    state, changes = acknowledge(EMPTY, CTX, K.SPEEDING, at(0))
    assert state == EMPTY and changes == []


# --- armed or not -----------------------------------------------------------------------------


def test_an_unarmed_movement_raises_nothing() -> None:
    rows = [off(s, speed=0.0, seal=SealState.OPEN) for s in every(10, 0, 3600)]
    state, changes = run(rows, context=UNARMED)
    assert changes == [] and not state.runs and state.last_fix_at == at(3600)
    state, changes = check_time(state, UNARMED, at(90_000))
    assert changes == [] and state.watching_since is None


def test_disarming_keeps_open_alerts_and_drops_runs() -> None:
    state, _ = run([off(s) for s in every(10, 0, 60)] + [stopped(70)])
    assert state.is_open(K.ROUTE_DEVIATION) and K.UNAUTHORIZED_STOP in state.runs
    state, changes = run([on(80)], state, UNARMED)
    assert changes == [] and state.is_open(K.ROUTE_DEVIATION) and not state.runs


def test_fixes_before_release_do_not_make_the_tracker_silent() -> None:
    state, _ = run([on(0)], context=UNARMED)
    state, changes = check_time(state, CTX, at(7200))  # released two hours later
    assert changes == [] and state.watching_since == at(7200)
    _, changes = check_time(state, CTX, at(7200 + 601))
    assert summary(changes) == [("tracker_silent", "raised", 7800)]


# --- time-driven kinds ------------------------------------------------------------------------


def test_silent_tracker_raised_by_the_clock_and_cleared_by_a_fix() -> None:
    state, _ = run([on(0)])
    state, changes = check_time(state, CTX, at(600))
    assert changes == []  # exactly 600 s is not more than 600 s
    state, changes = check_time(state, CTX, at(660))
    assert summary(changes) == [("tracker_silent", "raised", 600)]
    assert changes[0].location == (fix(0).lon, fix(0).lat)
    assert [e.time for e in changes[0].evidence] == [at(0)]
    state, changes = check_time(state, CTX, at(720))
    assert changes == []
    state, changes = run([on(900)], state)
    assert summary(changes) == [("tracker_silent", "cleared", 900)]
    assert changes[0].device_id == "TRK-1"


def test_a_gap_between_fixes_is_silent_without_a_clock() -> None:
    _, changes = run([on(0), on(900)])
    assert summary(changes) == [
        ("tracker_silent", "raised", 600),
        ("tracker_silent", "cleared", 900),
    ]


def test_no_fix_at_all_after_release() -> None:
    state, changes = check_time(EMPTY, CTX, at(0))
    assert changes == [] and state.watching_since == at(0)
    _, changes = check_time(state, CTX, at(601))
    assert summary(changes) == [("tracker_silent", "raised", 600)]
    assert changes[0].location is None and changes[0].evidence == ()


def test_acknowledged_silence_stays_quiet_until_a_fix() -> None:
    state, _ = check_time(run([on(0)])[0], CTX, at(700))
    state, _ = acknowledge(state, CTX, K.TRACKER_SILENT, at(710))
    state, changes = check_time(state, CTX, at(2000))
    assert changes == []
    state, changes = run([on(2010)], state)
    assert changes == []
    _, changes = check_time(state, CTX, at(2700))
    assert summary(changes) == [("tracker_silent", "raised", 2610)]


def test_overdue_once_after_the_time_limit() -> None:
    limit = CTX.time_limit
    assert limit is not None
    after = (limit - T0).total_seconds()
    quiet = dataclasses.replace(CTX, rules=TrackingRules(silent_after_s=10**6))
    state, changes = check_time(run([on(0)], context=quiet)[0], quiet, limit)
    assert changes == []
    state, changes = check_time(state, quiet, at(after + 1))
    assert summary(changes) == [("overdue", "raised", after)]
    assert changes[0].location == (fix(0).lon, fix(0).lat)
    state, changes = check_time(state, quiet, at(after + 3600))
    assert changes == []
    extended = dataclasses.replace(quiet, time_limit=at(after + 7200))
    _, changes = check_time(state, extended, at(after + 3601))
    assert summary(changes) == [("overdue", "cleared", after + 3601)]


def test_an_acknowledged_overdue_is_not_raised_again_for_the_same_limit() -> None:
    context = dataclasses.replace(CTX, time_limit=at(100))
    state, _ = check_time(EMPTY, context, at(101))
    state, _ = acknowledge(state, context, K.OVERDUE, at(102))
    state, changes = check_time(state, context, at(200))
    assert changes == []
    extended = dataclasses.replace(context, time_limit=at(300))
    state, _ = check_time(state, extended, at(250))
    _, changes = check_time(state, extended, at(301))
    assert summary(changes) == [("overdue", "raised", 300)]


def test_a_fix_after_the_time_limit_raises_overdue() -> None:
    context = dataclasses.replace(CTX, time_limit=at(100))
    _, changes = run([on(0), on(110)], context=context)
    assert summary(changes) == [("overdue", "raised", 100)]


def test_no_time_limit_no_overdue() -> None:
    context = dataclasses.replace(CTX, time_limit=None)
    _, changes = check_time(EMPTY, context, at(10**7))
    assert [c.kind for c in changes] == []


def test_times_must_be_aware() -> None:
    with pytest.raises(ValueError, match=r"time_limit=.* must be timezone-aware"):
        AlertContext(MRN, TransportMode.ROAD, datetime(2026, 3, 2), armed=True)
    with pytest.raises(ValueError, match=r"now=.* must be timezone-aware"):
        check_time(EMPTY, CTX, datetime(2026, 3, 2))


# --- order and duplicates ---------------------------------------------------------------------


def test_duplicates_are_ignored_but_other_devices_at_the_same_time_count() -> None:
    state, _ = run([off(0), off(0), off(60), off(60)])
    assert state.runs[K.ROUTE_DEVIATION].count == 2
    state, changes = run([off(60)], state)  # resent in a later batch
    assert changes == [] and state.runs[K.ROUTE_DEVIATION].count == 2
    _, changes = run([off(60, device="ESEAL-1", speed=None)], state)
    assert summary(changes) == [("route_deviation", "raised", 60)]


def test_fixes_out_of_order_are_refused() -> None:
    with pytest.raises(FixOutOfOrder, match="older than the last evaluated"):
        run([on(10), on(5)])
    state, _ = run([on(10)])
    with pytest.raises(FixOutOfOrder, match="replay instead"):
        run([on(9, device="ESEAL-1")], state)


def test_the_assessment_must_match_the_fixes() -> None:
    with pytest.raises(ValueError, match="assessment has 1 rows for 2 fixes"):
        evaluate(EMPTY, CTX, [fix(0), fix(10)], assessment_of([on(0)]))


# --- JSON -------------------------------------------------------------------------------------


def busy_state() -> MonitorState:
    rows = [off(s) for s in every(10, 0, 60)]
    rows += [Row(fix(70, speed=0.0), inside=False, inside_clear=False, distance_m=640.25)]
    rows += [on(80, seal=SealState.OPEN, device="ESEAL-1", speed=None)]
    state, _ = run(rows)
    state, _ = acknowledge(state, CTX, K.SEAL_OPENED, at(90))
    return state


def test_state_json_shape() -> None:
    body = busy_state().to_json()
    assert json.loads(json.dumps(body)) == body
    assert body["version"] == 1
    assert body["last_fix"]["device_id"] == "ESEAL-1"
    assert body["last_fix"]["time"] == "2026-03-02T06:01:20Z"
    assert body["last_fix_devices"] == ["ESEAL-1"]
    assert body["watching_since"] == "2026-03-02T06:00:00Z"
    assert set(body["open"]) == {"route_deviation"}
    assert body["open"]["route_deviation"]["raised_at"] == "2026-03-02T06:01:00Z"
    assert body["runs"]["unauthorized_stop"]["count"] == 1
    assert body["runs"]["unauthorized_stop"]["evidence"][0]["distance_m"] == 640.25
    assert body["acknowledged"] == ["seal_opened"]


def test_state_round_trips() -> None:
    state = busy_state()
    assert MonitorState.from_json(json.loads(json.dumps(state.to_json()))) == state
    assert MonitorState.from_json(EMPTY.to_json()) == EMPTY


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d.update(version=2),
        lambda d: d.pop("version"),
        lambda d: d.pop("runs"),
        lambda d: d["open"].update(nonsense={"raised_at": "2026-03-02T06:00:00Z"}),
        lambda d: d.update(watching_since="yesterday"),
        lambda d: d.update(watching_since="2026-03-02T06:00:00"),  # no offset
        lambda d: d["runs"]["unauthorized_stop"].update(evidence=[{"device_id": "x"}]),
    ],
)
def test_a_damaged_state_is_refused(damage: object) -> None:
    body = busy_state().to_json()
    damage(body)  # type: ignore[operator]
    with pytest.raises(ValueError, match="monitor state"):
        MonitorState.from_json(body)


def test_alert_change_json() -> None:
    _, changes = run([off(s) for s in every(10, 0, 60)])
    body = changes[0].to_json()
    assert json.loads(json.dumps(body)) == body
    assert body["kind"] == "route_deviation" and body["change"] == "raised"
    assert body["at"] == "2026-03-02T06:01:00Z" and body["mrn"] == MRN
    assert body["location"] == [fix(60).lon, 38.9] and body["device_id"] == "TRK-1"
    assert body["evidence"][0] == {
        "device_id": "TRK-1",
        "time": "2026-03-02T06:00:00Z",
        "lat": 38.9,
        "lon": 46.4,
        "speed_kmh": 50.0,
        "distance_m": None,
    }
    assert Evidence.from_json(body["evidence"][0]) == changes[0].evidence[0]


# --- properties -------------------------------------------------------------------------------

KINDS_OF_ROW = ["on", "off", "band", "stopped", "zone", "fast", "open", "closed", "blind"]


def make_row(kind: str, seconds: float, device: str) -> Row:
    """One fix of a random sequence; ``blind`` is an e-seal without speed or seal state."""
    builders = {
        "on": lambda: on(seconds, device=device),
        "off": lambda: off(seconds, device=device),
        "band": lambda: band(seconds, device=device),
        "stopped": lambda: stopped(seconds, device=device),
        "zone": lambda: stopped(seconds, zone=True, device=device),
        "fast": lambda: on(seconds, speed=120.0, device=device),
        "open": lambda: on(seconds, seal=SealState.OPEN, device=device),
        "closed": lambda: on(seconds, seal=SealState.CLOSED, device=device),
        "blind": lambda: on(seconds, speed=None, device=device),
    }
    return builders[kind]()


steps = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=400),  # seconds since the previous step
        st.sampled_from([*KINDS_OF_ROW, "tick", "ack"]),
        st.sampled_from(["TRK-1", "ESEAL-1"]),
    ),
    max_size=60,
)


def play(
    sequence: list[tuple[int, str, str]], context: AlertContext
) -> tuple[MonitorState, list[AlertChange]]:
    """Fixes one at a time, with clock ticks and acknowledgements in between."""
    state, changes, seconds = EMPTY, [], 0.0
    for gap, kind, device in sequence:
        seconds += gap
        if kind == "tick":
            state, new = check_time(state, context, at(seconds))
        elif kind == "ack":
            state, new = acknowledge(state, context, K.SEAL_OPENED, at(seconds))
        else:
            state, new = run([make_row(kind, seconds, device)], state, context)
        assert MonitorState.from_json(json.loads(json.dumps(state.to_json()))) == state
        changes += new
    return state, changes


@settings(max_examples=150, deadline=None)
@given(sequence=steps, limit_s=st.integers(min_value=0, max_value=20_000))
def test_never_two_open_alerts_of_one_kind(
    sequence: list[tuple[int, str, str]], limit_s: int
) -> None:
    context = dataclasses.replace(CTX, time_limit=at(limit_s))
    state, changes = play(sequence, context)
    open_kinds: set[AlertKind] = set()
    for change in changes:
        if change.change is Change.RAISED:
            assert change.kind not in open_kinds
            open_kinds.add(change.kind)
        else:
            assert change.kind in open_kinds
            open_kinds.remove(change.kind)
    assert open_kinds == set(state.open_alerts)


@settings(max_examples=100, deadline=None)
@given(
    sequence=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=59),
            st.sampled_from(["on", "band", "stopped", "zone", "fast", "blind"]),
            st.sampled_from(["TRK-1", "ESEAL-1"]),
        ),
        max_size=80,
    )
)
def test_jitter_inside_the_buffer_never_raises_a_deviation(
    sequence: list[tuple[int, str, str]],
) -> None:
    _, changes = play(sequence, CTX)
    assert K.ROUTE_DEVIATION not in {c.kind for c in changes}


@settings(max_examples=100, deadline=None)
@given(sequence=steps, cut=st.integers(min_value=0, max_value=60))
def test_batches_do_not_change_the_outcome(sequence: list[tuple[int, str, str]], cut: int) -> None:
    rows, seconds = [], 0.0
    for gap, kind, device in sequence:
        seconds += gap
        rows.append(make_row(kind if kind in KINDS_OF_ROW else "on", seconds, device))
    whole_state, whole = run(rows)
    first_state, first = run(rows[:cut])
    split_state, second = run(rows[cut:], first_state)
    assert summary(first + second) == summary(whole)
    assert split_state == whole_state


@settings(max_examples=100, deadline=None)
@given(sequence=steps, before=st.lists(st.sampled_from(KINDS_OF_ROW), max_size=20),
       after=st.lists(st.sampled_from(KINDS_OF_ROW), max_size=20))  # fmt: skip
def test_a_movement_judged_from_the_middle_of_a_batch_assessment(
    sequence: list[tuple[int, str, str]], before: list[str], after: list[str]
) -> None:
    """``offset``: the movement's rows inside a batch's assessment, between other
    movements' rows, give what its own rows give."""
    rows, seconds = [], 0.0
    for gap, kind, device in sequence:
        seconds += gap + 1
        rows.append(make_row(kind if kind in KINDS_OF_ROW else "on", seconds, device))
    state, _ = run([on(0)])  # a last fix: the quiet path is open
    around = [[make_row(kind, 0, "TRK-9") for kind in side] for side in (before, after)]
    batch = assessment_of(around[0] + rows + around[1])
    fixes = [r.fix for r in rows]
    assert evaluate(state, CTX, fixes, batch, len(before)) == run(rows, state)


def test_an_offset_past_the_rows_is_refused() -> None:
    with pytest.raises(ValueError, match="assessment has 2 rows for 2 fixes from row 1"):
        evaluate(EMPTY, CTX, [fix(0), fix(10)], assessment_of([on(0), on(10)]), 1)


@settings(max_examples=50, deadline=None)
@given(sequence=steps)
def test_nothing_is_raised_while_unarmed(sequence: list[tuple[int, str, str]]) -> None:
    _, changes = play(sequence, UNARMED)
    assert changes == []


# --- the quiet path and the stored last fix ---------------------------------------------------

# Mostly fixes that change nothing, so that long quiet stretches meet every way out of one:
# gaps past silent_after_s, the time limit, a condition starting mid-batch.
quiet_steps = st.lists(
    st.tuples(
        st.one_of(
            st.integers(min_value=0, max_value=60), st.integers(min_value=0, max_value=1_500)
        ),
        st.sampled_from([*["on"] * 6, "closed", "blind", "zone", *KINDS_OF_ROW, "tick", "ack"]),
        st.sampled_from(["TRK-1", "TRK-1", "ESEAL-1"]),
    ),
    max_size=80,
)


def batches_of(
    sequence: list[tuple[int, str, str]], size: int
) -> list[list[Row] | tuple[str, float]]:
    """The steps as batches of up to ``size`` fixes, ticks and acknowledgements in between;
    a fix repeating an earlier (device, time) is dropped, as the store drops it."""
    out: list[list[Row] | tuple[str, float]] = []
    seen: set[tuple[str, float]] = set()
    seconds = 0.0
    for gap, kind, device in sequence:
        seconds += gap
        if kind in ("tick", "ack"):
            out.append((kind, seconds))
        elif (device, seconds) not in seen:
            seen.add((device, seconds))
            if not out or not isinstance(out[-1], list) or len(out[-1]) >= size:
                out.append([])
            batch = out[-1]
            assert isinstance(batch, list)
            batch.append(make_row(kind, seconds, device))
    return out


def clock_or_person(
    state: MonitorState, context: AlertContext, step: tuple[str, float]
) -> tuple[MonitorState, list[AlertChange]]:
    """A ``tick`` of the time-driven rules or an ``ack`` of the seal alert, at its time."""
    kind, seconds = step
    if kind == "tick":
        return check_time(state, context, at(seconds))
    return acknowledge(state, context, K.SEAL_OPENED, at(seconds))


def replay(
    steps: list[list[Row] | tuple[str, float]],
    context: AlertContext,
    fold: Callable[..., tuple[MonitorState, list[AlertChange]]],
) -> tuple[MonitorState, list[AlertChange]]:
    state, changes = EMPTY, []
    for step in steps:
        if isinstance(step, tuple):
            state, new = clock_or_person(state, context, step)
        else:
            state, new = fold(state, context, [r.fix for r in step], assessment_of(step))
        changes += new
    return state, changes


@settings(max_examples=300, deadline=None)
@given(
    sequence=quiet_steps,
    size=st.integers(min_value=1, max_value=8),
    limit_s=st.one_of(st.none(), st.integers(min_value=0, max_value=20_000)),
    armed=st.booleans(),
)
def test_the_quiet_path_decides_as_the_rules_do(
    sequence: list[tuple[int, str, str]], size: int, limit_s: int | None, armed: bool
) -> None:
    context = dataclasses.replace(
        CTX, time_limit=None if limit_s is None else at(limit_s), armed=armed
    )
    steps = batches_of(sequence, size)
    assert replay(steps, context, evaluate) == replay(steps, context, _by_rules)


@settings(max_examples=300, deadline=None)
@given(
    sequence=quiet_steps,
    size=st.integers(min_value=1, max_value=8),
    limit_s=st.integers(min_value=0, max_value=20_000),
)
def test_a_state_stored_only_when_more_than_its_last_fix_changed_decides_the_same(
    sequence: list[tuple[int, str, str]], size: int, limit_s: int
) -> None:
    """The store's protocol: a state is written only when ``differs_beyond_last_fix``, and
    read back with the newest stored fix (``with_last_fix``); a batch whose fixes are all
    quiet (``quiet_count``, told the newest fix's time) is not evaluated at all. Alerts come out the same, at
    the same times, as with the state kept whole; only the distance of that last fix is
    lost, which only a silent tracker's evidence shows."""
    context = dataclasses.replace(CTX, time_limit=at(limit_s))
    whole_state, whole = replay(batches_of(sequence, size), context, evaluate)

    stored, newest, changes = EMPTY, None, []
    for step in batches_of(sequence, size):
        state = with_last_fix(stored, newest)
        if isinstance(step, tuple):
            state_after, new = clock_or_person(state, context, step)
        else:
            fixes, assessment = [r.fix for r in step], assessment_of(step)
            # As the monitor does: all quiet, nothing to evaluate or store (the state and its
            # newest fix are never merged); otherwise evaluate the merged state.
            last_at = None if newest is None else newest.time
            quiet = quiet_count(stored, context, fixes, assessment, last_at=last_at)
            assert quiet == quiet_count(state, context, fixes, assessment)
            if quiet == len(fixes):
                state_after, new = state, []
            else:
                state_after, new = evaluate(state, context, fixes, assessment)
            last = max((r.fix for r in step), key=lambda f: f.time)
            newest = last if newest is None or last.time >= newest.time else newest
        if new or state_after.differs_beyond_last_fix(state):
            stored = state_after
        changes += new
    final = with_last_fix(stored, newest)
    assert summary(changes) == summary(whole)
    assert [c.evidence for c in changes if c.kind is not K.TRACKER_SILENT] == [
        c.evidence for c in whole if c.kind is not K.TRACKER_SILENT
    ]
    assert not final.differs_beyond_last_fix(whole_state)
    assert final.last_fix_at == whole_state.last_fix_at


def test_with_last_fix_takes_only_a_newer_fix() -> None:
    state, _ = run([on(0), band(60)])
    assert state.last_fix is not None and state.last_fix.distance_m == 450.0
    assert with_last_fix(state, fix(30)) is state
    assert with_last_fix(state, fix(60, device="ESEAL-1")) is state
    newer = with_last_fix(state, fix(90, speed=nan))
    assert newer.last_fix == Evidence("TRK-1", at(90), 38.9, fix(90).lon, None, None)
    assert newer.last_fix_devices == frozenset({"TRK-1"})
    assert not newer.differs_beyond_last_fix(state)
    assert with_last_fix(EMPTY, None) is EMPTY


def test_a_state_differs_beyond_its_last_fix_when_a_run_starts() -> None:
    quiet, _ = run([on(0), on(10)])
    running, _ = run([off(20)], quiet)
    assert running.differs_beyond_last_fix(quiet)
    moved, _ = run([on(20)], quiet)
    assert not moved.differs_beyond_last_fix(quiet) and moved != quiet
