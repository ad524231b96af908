"""The operations dashboard in headless Chromium against a real ``tripp serve``: each role's
pages, the live map following posted positions, the alerts feed, a carrier's limits, the
keyboard, labels and contrast.

Screenshots (1366x768 and 390x844) go to tests/artifacts/ and are copied to docs/img/ for
docs/dashboard.md.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.conftest import Console, Upstream, contrast_failures
from tripp.corridor.model import TransportMode
from tripp.movements.examples import example_declaration

pytestmark = pytest.mark.slow

DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
ITINERARY = "TRIPP-W-ROAD"
NAV = {
    "admin": ["map", "movements", "border", "alerts", "kpis", "reports"],
    "customs": ["map", "movements", "border", "alerts", "kpis", "reports"],
    "operator": ["map", "movements", "border", "alerts", "kpis", "reports"],
    "carrier": ["map", "movements", "alerts", "kpis"],
    "observer": ["kpis"],
}
_serial = itertools.count(1)

# Every control a person can reach, and the accessible name it would be announced with.
_UNNAMED_JS = """
() => {
  const name = (el) => {
    const by = el.getAttribute("aria-labelledby");
    if (by) return by.split(/\\s+/).map((id) => (document.getElementById(id) || {}).textContent || "").join(" ");
    if (el.getAttribute("aria-label")) return el.getAttribute("aria-label");
    if (el.labels && el.labels.length) return [...el.labels].map((l) => l.textContent).join(" ");
    if (["BUTTON", "A", "SUMMARY"].includes(el.tagName)) return el.textContent;
    return el.getAttribute("title") || "";
  };
  const controls = document.querySelectorAll(
    "input, select, textarea, button, a[href], summary, [tabindex]:not([tabindex='-1']), [role='link'], [role='button']");
  return [...controls].filter((el) => el.checkVisibility() && !name(el).trim())
    .map((el) => `${el.tagName}#${el.id}.${el.getAttribute("class")}`);
}
"""


@dataclass
class Seeded:
    up: Upstream
    own: str  # MRN of AZ-CARRIER-0001, tracked by device own_device
    own_device: str
    other: str  # MRN of AZ-CARRIER-0002
    other_device: str
    strict_console: bool  # GET /dashboard/me exists: no role probing, no 4xx on sign-in

    def token(self, role: str) -> str:
        t = self.up.tokens
        return {
            "admin": t.admin, "customs": t.az_customs, "operator": t.operator,
            "carrier": t.carrier, "observer": t.observer,
        }[role]  # fmt: skip


def _png(width: int = 4, height: int = 3) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\x0b\x57\xd0" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))


@pytest.fixture(scope="module")
def sim_reports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One simulator report on the shelf the server lists (TRIPP_SIM_REPORTS_DIR)."""
    root = tmp_path_factory.mktemp("sim-reports")
    report = root / "meghri-2026"
    report.mkdir()
    (report / "summary.json").write_text(json.dumps({"scenario": "tripp-meghri"}))
    (report / "report.html").write_text("<!doctype html><title>report</title><p>Meghri</p>")
    (report / "AM000101-waits.png").write_bytes(_png())
    before = os.environ.get("TRIPP_SIM_REPORTS_DIR")
    os.environ["TRIPP_SIM_REPORTS_DIR"] = str(root)
    yield root
    if before is None:
        os.environ.pop("TRIPP_SIM_REPORTS_DIR", None)
    else:
        os.environ["TRIPP_SIM_REPORTS_DIR"] = before


@pytest.fixture(scope="module")
def upstream(sim_reports: Path, upstream: Upstream) -> Upstream:
    """The browser tier's server, started after the report shelf is in its environment."""
    return upstream


def _post_positions(up: Upstream, device: str, fixes: list[tuple[float, float]], **kw: Any) -> None:
    start = datetime.now(UTC)  # after the release that armed the device: fixes count
    body = [
        {"device_id": device, "time": (start + timedelta(milliseconds=i)).isoformat(),
         "lon": lon, "lat": lat, "speed_kmh": 40.0, **kw}
        for i, (lon, lat) in enumerate(fixes)
    ]  # fmt: skip
    r = up.call("POST", "/positions", up.tokens.operator, json=body)
    assert r.status_code == 202 and r.json()["accepted"] == len(fixes), r.text


def _released(up: Upstream, holder: str, token: str) -> tuple[str, str]:
    """A movement of ``holder`` released with a fresh tracker; its MRN and the device id."""
    t = up.tokens
    n = next(_serial)
    device = f"DASH-TRK-{n:03d}"
    r = up.call("POST", "/devices", t.operator, json={"id": device, "kind": "tracker"})
    assert r.status_code == 201, r.text
    g = {"holder": holder, "reference_amount": "1000000.00", "currency": "USD"}
    r = up.call("POST", "/guarantees", t.az_customs, json=g)
    assert r.status_code == 201, r.text
    it = up.itinerary(ITINERARY)
    body = example_declaration(it, r.json()["grn"], holder)
    body["transport"]["vehicle_id"] = f"{n:02d}-AZ-{700 + n}"
    r = up.call("POST", "/movements", token, json=body)
    assert r.status_code == 201, r.text
    mrn = str(r.json()["mrn"])
    up.event(mrn, t.az_customs, "release", it.office_of_departure,
             seals=[f"AZ-D{n}-1"], tracker_id=device)  # fmt: skip
    return mrn, device


def _travelled(up: Upstream) -> str:
    """A movement released, across Armenia (entry, exit) and arrived: the key figures' data."""
    t = up.tokens
    mrn, _ = _released(up, "AZ-CARRIER-0001", t.carrier)
    it = up.itinerary(ITINERARY)
    steps = [
        (t.am_customs, "border_crossing", it.offices_of_transit[0], {"direction": "entry"}),
        (t.am_customs, "border_crossing", it.offices_of_transit[1], {"direction": "exit"}),
        (t.az_customs, "arrival", it.office_of_destination, {}),
    ]
    for i, (token, type_, office, payload) in enumerate(steps):
        body = {"id": f"dash-{mrn}-{i}", "type": type_, "office": office,
                "at": datetime.now(UTC).isoformat(), **payload}  # fmt: skip
        r = up.call("POST", f"/movements/{mrn}/events", token, json=body)
        assert r.status_code == 201, r.text
    return mrn


def route(up: Upstream) -> list[tuple[float, float]]:
    return [(c[0], c[1]) for c in up.corridor.routes[TransportMode.ROAD].coordinates]


@pytest.fixture(scope="module")
def seeded(upstream: Upstream) -> Seeded:
    up = upstream
    own, own_device = _released(up, "AZ-CARRIER-0001", up.tokens.carrier)
    other, other_device = _released(up, "AZ-CARRIER-0002", up.tokens.other_carrier)
    _travelled(up)
    line = route(up)
    _post_positions(up, own_device, line[:2])
    _post_positions(up, other_device, line[1:3])
    me = httpx.get(
        up.url + "/api/v1/dashboard/me",
        headers={"Authorization": f"Bearer {up.tokens.operator}"},
        timeout=10,
    )
    return Seeded(up, own, own_device, other, other_device, me.status_code == 200)


def errors(s: Seeded, console: Console, *allowed: str) -> list[str]:
    """Console errors but the ``allowed`` ones; while the server lacks GET /dashboard/me,
    the page infers the role from refusals (403/404) that Chromium logs: those are allowed."""
    probes = ("/dashboard/me", "/corridor", "/offices/", "/guarantees/PROBE0NONE")
    probes = () if s.strict_console else probes
    return [
        e
        for e in console.unexpected()
        if not any(a in e for a in allowed) and not any(p in e for p in probes)
    ]


def sign_in(p: Any, s: Seeded, role: str, screenshot: Path | None = None) -> None:
    p.goto(s.up.url + "/dashboard")
    p.get_by_label("Token").fill(s.token(role))
    if screenshot is not None:
        p.screenshot(path=str(screenshot))
    p.get_by_label("Token").press("Enter")
    p.locator("#nav").wait_for(state="visible")
    p.locator("#who", has_text=role).wait_for()


def visible_nav(p: Any) -> list[str]:
    return list(p.eval_on_selector_all(
        "#nav li:not([hidden]) a", "(links) => links.map((a) => a.dataset.page)"
    ))  # fmt: skip


def open_page(p: Any, name: str) -> None:
    p.evaluate("(name) => { window.location.hash = '#/' + name; }", name)
    p.locator(f"#page-{name}").wait_for(state="visible")


def shoot(p: Any, artifacts: Path, name: str) -> None:
    path = artifacts / f"{name}.png"
    p.screenshot(path=str(path), full_page=False)
    DOCS_IMG.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, DOCS_IMG / path.name)


def settled(p: Any, name: str) -> None:
    """Wait for what each page loads before looking at it."""
    ready = {
        "map": "#vehicle-list li",
        "movements": "#movement-rows tr",
        "border": "#expected-rows tr",
        "alerts": "#alert-rows li",
        "kpis": "#c-transit > *",
        "reports": "#report-rows tr",
    }
    p.locator(ready[name]).first.wait_for()


@pytest.mark.parametrize("role", list(NAV))
def test_each_role_sees_its_pages_and_no_other(
    seeded: Seeded, page: tuple[Any, Console], role: str
) -> None:
    p, console = page
    sign_in(p, seeded, role)
    assert visible_nav(p) == NAV[role]
    for name in NAV[role]:
        open_page(p, name)
        settled(p, name)
        assert p.evaluate(_UNNAMED_JS) == [], name
        assert contrast_failures(p) == [], name
    for name in set(NAV["admin"]) - set(NAV[role]):
        p.evaluate("(name) => { window.location.hash = '#/' + name; }", name)
        p.locator("#page-refused").wait_for(state="visible")
        assert p.locator(f"#page-{name}").is_hidden()
        assert role in p.locator("#refused-text").inner_text()
    p.locator("#sign-out").click()
    p.locator("#page-signin").wait_for(state="visible")
    assert p.evaluate("sessionStorage.length") == 0
    assert errors(seeded, console) == []


def test_a_sign_in_link_signs_in_and_leaves_no_token_in_the_address(
    seeded: Seeded, page: tuple[Any, Console]
) -> None:
    p, console = page
    token = seeded.token("operator")
    p.goto(f"{seeded.up.url}/dashboard/#token={token}")
    p.locator("#who", has_text="operator").wait_for()
    assert token not in p.url and p.url.endswith("#/map")
    assert token not in str(p.evaluate("history.length ? window.location.href : ''"))
    assert errors(seeded, console) == []


def test_a_vehicle_marker_moves_when_positions_arrive(
    seeded: Seeded, page: tuple[Any, Console], artifacts: Path
) -> None:
    p, console = page
    sign_in(p, seeded, "operator")
    open_page(p, "map")
    marker = p.locator(f"#map .vehicle[data-mrn='{seeded.own}']")
    marker.wait_for()
    assert p.locator("#map .vehicle").count() >= 2
    assert p.locator("#map path.route").count() >= 1 and p.locator("#map .office").count() >= 2
    p.locator("#live[data-state='live']").wait_for()
    before = marker.get_attribute("transform")
    p.evaluate("window.__notReloaded = true")

    lon, lat = route(seeded.up)[3]
    _post_positions(seeded.up, seeded.own_device, [(lon, lat)])
    p.locator(f"#map .vehicle[data-mrn='{seeded.own}'][data-lon='{lon}']").wait_for(timeout=10000)
    assert marker.get_attribute("transform") != before
    assert p.evaluate("window.__notReloaded") is True

    _post_positions(seeded.up, seeded.own_device, [(lon, lat)], seal="open")
    p.locator(f"#map .vehicle[data-mrn='{seeded.own}'][data-alert='true']").wait_for(timeout=10000)
    assert p.locator(f"#map .vehicle[data-mrn='{seeded.own}'] .pulse").count() == 1
    p.locator("#alert-count", has_text="1").wait_for()
    assert errors(seeded, console) == []


def test_an_alert_in_the_feed_opens_its_movement_and_is_acknowledged(
    seeded: Seeded, page: tuple[Any, Console]
) -> None:
    p, console = page
    up = seeded.up
    _post_positions(up, seeded.other_device, [route(up)[2]], seal="tampered")
    sign_in(p, seeded, "operator")
    open_page(p, "alerts")
    row = p.locator(f"#alert-rows li[data-mrn='{seeded.other}'][data-open='true']")
    row.wait_for()
    assert "Seal opened" in row.inner_text() or "seal opened" in row.inner_text()
    row.get_by_role("link", name=seeded.other).click()
    p.locator("#page-movement").wait_for(state="visible")
    assert seeded.other in p.locator("#movement-heading").inner_text()
    p.locator("#timeline li[data-type='release']").wait_for()
    p.locator("#movement-alerts li[data-alert='true']").wait_for()
    assert "operational view" in p.locator("#movement-facts").inner_text()  # operator

    p.go_back()
    row.wait_for()
    row.get_by_role("button", name="Acknowledge").click()
    row.wait_for(state="detached")  # open only: it leaves the list
    r = up.call("GET", f"/alerts?mrn={seeded.other}", up.tokens.operator)
    assert all(a["cleared_at"] for a in r.json()["items"] if a["kind"] == "seal_opened")
    assert errors(seeded, console) == []


def test_a_carrier_sees_its_own_movements_only(seeded: Seeded, page: tuple[Any, Console]) -> None:
    p, console = page
    sign_in(p, seeded, "carrier")
    open_page(p, "movements")
    p.locator(f"#movement-rows tr[data-mrn='{seeded.own}']").wait_for()
    assert p.locator(f"#movement-rows tr[data-mrn='{seeded.other}']").count() == 0
    open_page(p, "map")
    p.locator(f"#map .vehicle[data-mrn='{seeded.own}']").wait_for()
    assert p.locator(f"#map .vehicle[data-mrn='{seeded.other}']").count() == 0

    p.evaluate("(m) => { window.location.hash = '#/movements/' + m; }", seeded.other)
    p.locator("#movement-problem", has_text="Not found").wait_for()
    assert p.locator("#movement-body").is_hidden()
    open_page(p, "movements")
    p.get_by_label("MRN or plate").fill(seeded.own)
    p.get_by_label("MRN or plate").press("Enter")
    p.locator("#movement-body").wait_for(state="visible")
    assert "AZ-CARRIER-0001" in p.locator("#movement-facts").inner_text()
    assert errors(seeded, console, f"/movements/{seeded.other}") == []


def test_an_observer_sees_the_key_figures_and_exports_them(
    seeded: Seeded, page: tuple[Any, Console], artifacts: Path
) -> None:
    p, console = page
    sign_in(p, seeded, "observer")
    p.locator("#page-kpis").wait_for(state="visible")
    assert visible_nav(p) == ["kpis"]
    settled(p, "kpis")
    assert p.locator("#kpis-problem").is_hidden()
    with p.expect_download() as download:
        p.get_by_role("button", name="Export CSV").click()
    saved = artifacts / "dashboard-kpis.csv"
    download.value.save_as(saved)
    assert saved.read_text(encoding="utf-8").strip() != ""
    assert errors(seeded, console) == []


def _tab_to(p: Any, wanted: str, limit: int = 30) -> list[str]:
    """Press Tab until the focused element's text is ``wanted``; the texts passed."""
    texts: list[str] = []
    for _ in range(limit):
        p.keyboard.press("Tab")
        texts.append(p.evaluate("(document.activeElement.textContent || '').trim()"))
        if texts[-1] == wanted:
            break
    return texts


def test_the_keyboard_reaches_the_skip_link_and_the_nav(
    seeded: Seeded, page: tuple[Any, Console]
) -> None:
    p, console = page
    sign_in(p, seeded, "operator")
    open_page(p, "map")
    p.reload()  # signed in still (this tab's session)
    p.locator("#page-map").wait_for(state="visible")
    _tab_to(p, "Skip to content")
    assert p.evaluate("document.activeElement.id") == "skip"
    assert p.locator("#skip").bounding_box()["y"] >= 0  # shown when focused
    texts = _tab_to(p, "KPIs", limit=10)  # header, then the nav in order
    texts = [re.sub(r" \d+$", "", t) for t in texts]  # "Alerts 2": its count of open alerts
    assert texts == ["Sign out", "Live map", "Movements", "Border post", "Alerts", "KPIs"]
    outline = p.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # focus visible
    p.keyboard.press("Enter")
    p.locator("#page-kpis").wait_for(state="visible")
    assert p.evaluate("window.location.hash") == "#/kpis"
    assert p.locator("#nav a[aria-current='page']").inner_text() == "KPIs"
    assert p.evaluate("document.activeElement.id") == "main"  # the new page, read next

    p.reload()
    p.locator("#page-kpis").wait_for(state="visible")
    _tab_to(p, "Skip to content")
    p.keyboard.press("Enter")
    assert p.evaluate("document.activeElement.id") == "main"
    _tab_to(p, "From", limit=1)
    assert p.evaluate("document.activeElement.id") == "k-from"  # past the header and nav
    assert errors(seeded, console) == []


def test_simulator_reports_list_and_show_a_chart(seeded: Seeded, page: tuple[Any, Console]) -> None:
    p, console = page
    sign_in(p, seeded, "customs")
    open_page(p, "reports")
    row = p.locator("#report-rows tr[data-name='meghri-2026']")
    row.wait_for()
    assert "tripp-meghri" in row.inner_text()
    row.get_by_role("button", name="View AM000101-waits.png of meghri-2026").click()
    img = p.locator("#report-content img")
    img.wait_for()
    assert img.get_attribute("src").startswith("blob:")
    p.wait_for_function("document.querySelector('#report-content img').naturalWidth === 4")
    with p.expect_download() as download:
        row.get_by_role("button", name="Save report.html of meghri-2026").click()
    assert download.value.suggested_filename == "meghri-2026-report.html"
    assert errors(seeded, console) == []


@pytest.mark.parametrize(("width", "height"), [(1366, 768), (390, 844)])
def test_screenshots_of_each_page(
    seeded: Seeded, browser: Any, artifacts: Path, width: int, height: int
) -> None:
    context = browser.new_context(
        viewport={"width": width, "height": height}, locale="en-GB", timezone_id="Asia/Yerevan"
    )
    p = context.new_page()
    p.set_default_timeout(5000)
    console = Console()
    p.on(
        "console",
        lambda m: m.type == "error" and console.errors.append(f"{m.text} @ {m.location['url']}"),
    )
    p.on("pageerror", lambda exc: console.errors.append(f"page error: {exc}"))
    DOCS_IMG.mkdir(parents=True, exist_ok=True)
    try:
        sign_in(p, seeded, "operator", screenshot=artifacts / f"dashboard-signin-{width}.png")
        shutil.copyfile(
            artifacts / f"dashboard-signin-{width}.png", DOCS_IMG / f"dashboard-signin-{width}.png"
        )
        for name in NAV["operator"]:
            open_page(p, name)
            settled(p, name)
            if name == "reports":
                p.locator("#report-rows button").first.click()
                p.locator("#report-content img").wait_for()
            shoot(p, artifacts, f"dashboard-{name}-{width}")
        p.evaluate("(m) => { window.location.hash = '#/movements/' + m; }", seeded.own)
        p.locator("#timeline li").first.wait_for()
        shoot(p, artifacts, f"dashboard-movement-{width}")
        assert contrast_failures(p) == []
        assert errors(seeded, console) == []
    finally:
        context.close()
