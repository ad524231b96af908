from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.factories import T0, declaration
from tripp.movements.model import (
    FINAL_STATES,
    TRANSITIONS,
    EventType,
    IllegalTransition,
    Movement,
    MovementEvent,
    MovementState,
    allowed_events,
)

S = MovementState
OUTCOMES = {
    EventType.CONTROL_RESULT: ["satisfactory", "discrepancies"],
    EventType.RESOLVE_ENQUIRY: ["discharged", "recovery"],
    EventType.INSPECTION: ["none", "incident", "enquiry"],  # its follow_up
}


def movement() -> Movement:
    return Movement("26AZ0000000000A1J0", "XA-CARRIER-1", declaration(), Decimal(10), "USD", T0)


def event(kind: EventType, outcome: str | None = None, n: int = 0) -> MovementEvent:
    # The field that picks the target: ``outcome``, or an inspection's ``follow_up``.
    payload: dict[str, object] = {TRANSITIONS[kind].key: outcome} if outcome else {}
    if kind is EventType.RELEASE:
        payload.update(seals=["S1"], time_limit=T0 + timedelta(hours=24))
    return MovementEvent(f"e{n}", kind, None, T0 + timedelta(minutes=n), "X", payload)


def run(*steps: tuple[EventType, str | None]) -> Movement:
    m = movement()
    for i, (kind, outcome) in enumerate(steps):
        m.apply(event(kind, outcome, i))
    return m


def test_happy_path_to_written_off() -> None:
    m = run(
        (EventType.RELEASE, None),
        (EventType.BORDER_CROSSING, None),
        (EventType.BORDER_CROSSING, None),
        (EventType.ARRIVAL, None),
        (EventType.CONTROL_RESULT, "satisfactory"),
    )
    assert m.state is S.WRITTEN_OFF
    assert m.seals == ("S1",) and m.arrived_at is not None


@pytest.mark.parametrize(
    ("steps", "final"),
    [
        ([(EventType.CANCEL, None)], S.CANCELLED),
        ([(EventType.RELEASE, None), (EventType.INCIDENT, None)], S.RELEASED),
        (
            [
                (EventType.RELEASE, None),
                (EventType.ENQUIRY, None),
                (EventType.RESOLVE_ENQUIRY, "recovery"),
            ],
            S.RECOVERY,
        ),
        (
            [
                (EventType.RELEASE, None),
                (EventType.ARRIVAL, None),
                (EventType.CONTROL_RESULT, "discrepancies"),
                (EventType.RESOLVE_ENQUIRY, "discharged"),
            ],
            S.WRITTEN_OFF,
        ),
    ],
)
def test_other_paths(steps: list[tuple[EventType, str | None]], final: MovementState) -> None:
    assert run(*steps).state is final


def test_illegal_transition_names_state_and_allowed() -> None:
    m = run((EventType.RELEASE, None))
    with pytest.raises(IllegalTransition) as caught:
        m.apply(event(EventType.CANCEL))
    assert caught.value.state is S.RELEASED
    assert "released" in caught.value.detail and "arrival" in caught.value.detail
    assert m.state is S.RELEASED


def test_final_states_allow_nothing() -> None:
    for state in FINAL_STATES:
        assert allowed_events(state) == []


steps = st.lists(
    st.sampled_from(list(EventType)).flatmap(
        lambda t: st.tuples(st.just(t), st.sampled_from(OUTCOMES.get(t, [None])))
    ),
    max_size=12,
)


@given(steps)
def test_state_machine_follows_the_table(seq: list[tuple[EventType, str | None]]) -> None:
    m = movement()
    for i, (kind, outcome) in enumerate(seq):
        before = m.state
        transition = TRANSITIONS[kind]
        if before in transition.allowed_from:
            m.apply(event(kind, outcome, i))
            target = transition.leads_to[outcome if len(transition.leads_to) > 1 else None]
            assert m.state is (target or before)
        else:
            with pytest.raises(IllegalTransition):
                m.apply(event(kind, outcome, i))
            assert m.state is before


def test_an_inspection_may_open_an_enquiry() -> None:
    m = run((EventType.RELEASE, None), (EventType.INSPECTION, "incident"))
    assert m.state is S.RELEASED
    m.apply(event(EventType.INSPECTION, "enquiry", 5))
    assert m.state is S.UNDER_ENQUIRY
