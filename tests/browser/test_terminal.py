"""The officer terminal in headless Chromium against a real ``tripp serve``: scan, see the
lane and reasons, record the crossing with Enter; a red lane needs an inspection first.

Screenshots (1366x768) are kept under tests/artifacts/ for review.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Console, Upstream, contrast_failures
from tripp.movements.examples import example_declaration
from tripp.risk.defaults import default_ruleset_dict

pytestmark = pytest.mark.slow

OFFICE = "AM000101"  # the westbound road itinerary enters Armenia here
_plates = itertools.count(1)


@pytest.fixture(scope="module")
def corridor_ready(upstream: Upstream) -> Upstream:
    """AM's baseline ruleset without random selection, so lanes follow from the goods."""
    body = default_ruleset_dict("AM")
    body["rules"] = [r for r in body["rules"] if r["kind"] != "random"]
    r = upstream.call("PUT", "/risk/rulesets/AM", upstream.tokens.am_customs, json=body)
    assert r.status_code == 201, r.text
    return upstream


def released(up: Upstream, hs_code: str = "870323") -> tuple[str, str]:
    """A movement released at Aghband towards Nrnadzor; its MRN and unique plate."""
    t = up.tokens
    guarantee = {"holder": "AZ-CARRIER-0001", "reference_amount": "1000000.00", "currency": "USD"}
    r = up.call("POST", "/guarantees", t.az_customs, json=guarantee)
    assert r.status_code == 201, r.text
    it = up.itinerary("TRIPP-W-ROAD")
    assert it.offices_of_transit[0] == OFFICE
    plate = f"{next(_plates):02d}-AZ-{hs_code[:3]}"
    body = example_declaration(it, r.json()["grn"], "AZ-CARRIER-0001")
    body["transport"]["vehicle_id"] = plate  # unique: the plate finds this movement alone
    body["goods"][0]["hs_code"] = hs_code
    r = up.call("POST", "/movements", t.carrier, json=body)
    assert r.status_code == 201, r.text
    mrn = str(r.json()["mrn"])
    up.event(mrn, t.az_customs, "release", it.office_of_departure, seals=["AZ-S-71", "AZ-S-72"])
    return mrn, plate


def sign_in(page: Any, up: Upstream, screenshot: Path | None = None) -> None:
    page.goto(up.url + "/terminal")
    page.get_by_label("Token").fill(up.tokens.am_customs)
    page.get_by_label("Office code").fill(OFFICE)
    if screenshot is not None:
        page.screenshot(path=str(screenshot))
    page.get_by_label("Office code").press("Enter")
    page.locator("#desk").wait_for(state="visible")
    assert page.evaluate("document.activeElement.id") == "scan"


def scan(page: Any, value: str) -> None:
    """What a barcode scanner does: type the value into the focused field, then Enter."""
    page.keyboard.type(value)
    page.keyboard.press("Enter")
    page.locator("#result[data-armed='true']").wait_for()


def types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


def test_green_lane_scan_then_enter_records_the_crossing(
    corridor_ready: Upstream, page: tuple[Any, Console], artifacts: Path
) -> None:
    up = corridor_ready
    p, console = page
    mrn, plate = released(up)
    sign_in(p, up, screenshot=artifacts / "terminal-signin.png")
    p.locator(f"#expected [data-mrn='{mrn}']").wait_for()

    scan(p, mrn)
    lane = p.locator("#lane")
    assert lane.get_attribute("data-lane") == "green"
    assert p.locator("#lane-text").inner_text() == "GREEN LANE"
    assert p.locator("#f-mrn").inner_text() == mrn
    assert p.locator("#f-vehicle").inner_text() == plate
    assert "AZ-S-71" in p.locator("#seals").inner_text()
    assert p.locator("#reasons tr").count() >= 1  # the new holder's thin record at least
    assert "Border crossing — entry" in p.locator("#next-text").inner_text()
    assert p.locator("#scan").input_value() == ""
    p.screenshot(path=str(artifacts / "terminal-green.png"))
    assert contrast_failures(p) == []

    p.keyboard.press("Enter")  # the one keystroke that records
    p.locator("#message[data-kind='ok']").wait_for()
    assert re.search(
        r"Recorded border crossing — entry of .* at AM000101", p.locator("#message").inner_text()
    )
    assert p.locator("#result").is_hidden()
    assert p.evaluate("document.activeElement.id") == "scan"
    [crossing] = [e for e in up.events(mrn) if e["type"] == "border_crossing"]
    assert crossing["office"] == OFFICE and crossing["payload"]["direction"] == "entry"
    assert crossing["state_after"] == "in_transit"
    p.locator(f"#expected [data-mrn='{mrn}']").wait_for(state="detached")
    p.screenshot(path=str(artifacts / "terminal-recorded.png"))
    assert console.unexpected() == []


def test_red_lane_needs_an_inspection_before_enter_records(
    corridor_ready: Upstream, page: tuple[Any, Console], artifacts: Path
) -> None:
    up = corridor_ready
    p, console = page
    mrn, plate = released(up, hs_code="930190")  # arms: red whatever the score
    sign_in(p, up)

    scan(p, plate)  # by plate this time
    assert p.locator("#lane").get_attribute("data-lane") == "red"
    assert p.locator("#lane-text").inner_text() == "RED LANE"
    assert p.locator("#f-mrn").inner_text() == mrn
    assert "arms" in p.locator("#reasons").inner_text()
    assert "Inspection required first" in p.locator("#next-text").inner_text()
    p.screenshot(path=str(artifacts / "terminal-red.png"))
    assert contrast_failures(p) == []

    p.keyboard.press("Enter")  # refused on the page: nothing is sent
    p.locator("#message[data-kind='error']").wait_for()
    assert "inspection is required first" in p.locator("#message").inner_text()
    assert "border_crossing" not in types(up.events(mrn))

    p.keyboard.press("i")
    form = p.locator("#inspection")
    form.wait_for(state="visible")
    assert p.evaluate("document.activeElement.id") == "i-kind"
    assert p.locator("#i-kind").input_value() == "xray"  # a red lane's least inspection
    p.keyboard.press("ArrowDown")  # physical
    p.keyboard.press("Tab")  # outcome: no findings
    p.keyboard.press("Tab")  # duration
    p.keyboard.press("Control+A")
    p.keyboard.type("25")
    p.screenshot(path=str(artifacts / "terminal-inspection.png"))
    assert contrast_failures(p) == []
    p.keyboard.press("Enter")  # save
    form.wait_for(state="hidden")
    assert "Inspection recorded (physical, no findings)" in p.locator("#message").inner_text()
    assert p.evaluate("document.activeElement.id") == "scan"
    assert "Will record: Border crossing — entry" in p.locator("#next-text").inner_text()

    p.keyboard.press("Enter")
    p.locator("#message", has_text="Recorded border crossing").wait_for()
    events = up.events(mrn)
    [inspection] = [e for e in events if e["type"] == "inspection"]
    assert inspection["office"] == OFFICE
    assert inspection["payload"]["kind"] == "physical"
    assert inspection["payload"]["duration_min"] == 25
    assert types(events)[-2:] == ["inspection", "border_crossing"]
    assert console.unexpected() == []


def test_the_expected_list_is_an_alternative_to_scanning(
    corridor_ready: Upstream, page: tuple[Any, Console], artifacts: Path
) -> None:
    up = corridor_ready
    p, console = page
    mrn, _ = released(up)
    sign_in(p, up)
    option = p.locator(f"#expected [data-mrn='{mrn}']")
    option.wait_for()

    p.keyboard.press("ArrowDown")
    assert p.evaluate("document.activeElement.id") == "expected"
    while option.get_attribute("aria-selected") != "true":
        p.keyboard.press("ArrowDown")
    p.keyboard.press("Enter")
    p.locator("#result[data-armed='true']").wait_for()
    assert p.locator("#f-mrn").inner_text() == mrn
    assert p.evaluate("document.activeElement.id") == "scan"

    p.keyboard.press("Escape")  # cancel: nothing recorded, back to the scan field
    assert p.locator("#result").is_hidden()
    assert "border_crossing" not in types(up.events(mrn))

    p.keyboard.type("NOSUCHPLATE")
    p.keyboard.press("Enter")
    problem = p.locator("#problem")
    problem.wait_for(state="visible")
    assert problem.inner_text().strip() != ""
    p.screenshot(path=str(artifacts / "terminal-problem.png"))
    # the refused screening is a 404 the browser logs; anything else is a fault of the page
    assert [e for e in console.unexpected() if "status of 404" not in e] == []


def test_post_node_state_and_a_network_failure_are_shown(
    corridor_ready: Upstream, page: tuple[Any, Console], artifacts: Path
) -> None:
    """On a post node the page shows the upstream link, the outbox and its conflicts; when
    the server cannot be reached it says so and records nothing. The node's answers are
    stood in for by the browser (its routes), as is the dropped connection."""
    up = corridor_ready
    p, console = page
    status = {
        "office": OFFICE,
        "counts": {"event_pending": 2, "screening_pending": 1, "conflicts_open": 1},
        "last_round": {"reachable": False, "error": "connect timeout"},
    }
    conflict = {
        "seq": 7, "kind": "event", "mrn": "26AZ00000000000017", "event_type": "border_crossing",
        "created_at": "2026-03-01T08:00:00Z", "upstream_status": 409,
        "conflict": "the movement is under_enquiry: border_crossing is not allowed",
    }  # fmt: skip
    p.route("**/api/v1/post/status", lambda route: route.fulfill(json=status))
    p.route("**/api/v1/post/conflicts*", lambda route: route.fulfill(json={"items": [conflict]}))
    sign_in(p, up)
    post = p.locator("#post")
    post.wait_for(state="visible")
    assert post.inner_text() == "Post node · upstream OFFLINE · 3 pending · 1 conflict"
    p.locator("#conflicts", has_text="26AZ00000000000017").wait_for()
    assert "under_enquiry" in p.locator("#conflicts").inner_text()

    p.route("**/api/v1/offices/*/screenings", lambda route: route.abort("connectionrefused"))
    p.keyboard.type("CSQU3054383")  # a container number
    p.keyboard.press("Enter")
    problem = p.locator("#problem[data-network='true']")
    problem.wait_for()
    assert "Network down" in problem.inner_text()
    assert "Screening container CSQU3054383 failed" in p.locator("#message").inner_text()
    assert p.locator("#net").inner_text() == "⚠ Server unreachable"
    p.screenshot(path=str(artifacts / "terminal-post-node-offline.png"))
    assert contrast_failures(p) == []
    assert [e for e in console.unexpected() if "ERR_CONNECTION_REFUSED" not in e] == []
