"""Each dashboard page's first render, timed in headless Chromium (Playwright) against a
running server, cold (a new browser context: empty cache, new connections) and warm (the
same page visited again in that context).

"First render" runs from navigation start (``performance.timeOrigin``) to the first frame
after the page shows its data: an init script watches the DOM (a MutationObserver from
document start) for the page's readiness condition, e.g. the map's vehicle markers and list
drawn, and when it first holds waits one animation frame plus a task, so that the frame
with the data has been laid out and painted. The time is read from the page's own clock:
Playwright's polling adds nothing to it.

The token is put in the tab's session storage before the page's scripts run, as a signed-in
tab opening the page's address does (a ``#token=`` sign-in link always lands on the map).

Same-run baselines: the page's API calls fetched in sequence with httpx (JSON bodies, the
same token), and the sign-in form (the dashboard's assets, no data) rendered in the same
browser.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1366, "height": 768}
TOKEN_KEY = "tripp.dashboard.token"
REPEATS = 5
TIMEOUT_MS = 30_000


@dataclass(frozen=True)
class Page:
    name: str
    role: str
    route: str  # the hash route, e.g. "#/map"
    ready: str  # a JavaScript expression, true once the page's data is on screen
    api: tuple[str, ...]  # the calls under /api/v1 whose answers the page draws


def pages(mrn: str, office: str) -> list[Page]:
    """The dashboard's pages, each opened by the role that works with it. ``mrn``: a
    movement under way with a track, events and an alert; ``office``: a border post."""
    q = "document.querySelector"
    return [
        # Markers and the list beside the map are drawn in one go from the snapshot.
        Page("live map", "operator", "#/map",
             f"{q}('#map g.vehicle') && {q}('#vehicle-list li[data-mrn]')",
             ("/dashboard/layers", "/dashboard/vehicles")),
        Page("movements list", "operator", "#/movements",
             f"{q}('#movement-rows tr[data-mrn]')", ("/movements?limit=25",)),
        # The track meta line is written last, after the timeline, alerts and track.
        Page("movement detail", "customs", f"#/movements/{mrn}",
             f"{q}('#timeline li[data-type]') && {q}('#track-map .track-end')"
             f" && {q}('#track-meta').textContent !== ''",
             (f"/movements/{mrn}", f"/movements/{mrn}/events", f"/movements/{mrn}/track",
              f"/alerts?mrn={mrn}&limit=100", "/dashboard/layers")),
        Page("border post", "customs", f"#/border/{office}",
             f"{q}('#expected-rows tr') && {q}('#border-meta').textContent !== ''",
             (f"/offices/{office}/expected?limit=200",)),
        Page("alerts", "operator", "#/alerts", f"{q}('#alert-rows li[data-id]')",
             ("/alerts?limit=500",)),
        # The meta line is written after the four charts.
        Page("KPIs (30 days)", "observer", "#/kpis",
             f"{q}('#c-transit svg.bars') && {q}('#kpis-meta').textContent !== ''",
             ("/dashboard/kpis",)),
        Page("simulator reports", "operator", "#/reports", f"{q}('#report-rows tr')",
             ("/dashboard/sim-reports",)),
    ]  # fmt: skip


# The sign-in form: the dashboard's own assets and no data, the trivial page to compare with.
SHELL = Page("sign-in form (assets only)", "", "", "!document.getElementById('page-signin').hidden",
             ())  # fmt: skip

_INIT = """
(() => {
  if (location.protocol !== "http:") return;  // about:blank between visits
  if (%(token)s) sessionStorage.setItem(%(key)s, %(token)s);
  const ready = () => { try { return Boolean(%(ready)s); } catch (e) { return false; } };
  let seen = false;
  const check = () => {
    if (seen || !ready()) return;
    seen = true;
    requestAnimationFrame(() => setTimeout(() => { window.__benchReady = performance.now(); }, 0));
  };
  new MutationObserver(check).observe(document, {
    subtree: true, childList: true, attributes: true, characterData: true,
  });
})();
"""


def _init_script(page: Page, token: str) -> str:
    return _INIT % {"token": json.dumps(token), "key": json.dumps(TOKEN_KEY), "ready": page.ready}


def _visit(tab: Any, url: str) -> float:
    """Open ``url`` as a new document; ms from its navigation start to its data drawn, or
    ``TIMEOUT_MS`` when it is not drawn by then (counted, so that the figures show it)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    tab.goto("about:blank")
    tab.goto(url, wait_until="commit")
    try:
        tab.wait_for_function("() => window.__benchReady !== undefined", timeout=TIMEOUT_MS)
    except PlaywrightTimeout:
        return float(TIMEOUT_MS)
    return float(tab.evaluate("() => window.__benchReady"))


@contextmanager
def _browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _time_page(browser: Any, base: str, page: Page, token: str, repeats: int) -> dict[str, Any]:
    url = f"{base}/dashboard/{page.route}"
    cold: list[float] = []
    warm: list[float] = []
    errors: list[str] = []
    for _ in range(repeats + 1):  # the first round warms the server and the OS, not counted
        context = browser.new_context(viewport=VIEWPORT, locale="en-GB")
        try:
            context.add_init_script(_init_script(page, token))
            tab = context.new_page()
            tab.on("pageerror", lambda e: errors.append(str(e)))
            cold.append(_visit(tab, url))
            warm.append(_visit(tab, url))
        finally:
            context.close()
    if errors:
        raise RuntimeError(f"{page.name}: the page failed: {errors[0]}")
    return {"cold": cold[1:], "warm": warm[1:]}


def _api_ms(base: str, page: Page, token: str, repeats: int) -> list[float]:
    """The page's calls one after the other, JSON parsed, per repeat (ms)."""
    out: list[float] = []
    with httpx.Client(base_url=base + "/api/v1", timeout=60,
                      headers={"Authorization": f"Bearer {token}"}) as http:  # fmt: skip
        for k in range(repeats + 1):
            started = time.perf_counter()
            for path in page.api:
                http.get(path).raise_for_status().json()
            if k:
                out.append((time.perf_counter() - started) * 1000)
    return out


def _stats(ms: list[float]) -> tuple[float, float, float]:
    ordered = sorted(ms)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ms), p95, ordered[-1]


def measure(
    base: str,
    tokens: dict[str, str],
    mrn: str,
    office: str,
    *,
    store: str,
    repeats: int = REPEATS,
    tick: Callable[[str], None] = lambda _: None,
) -> list[dict[str, Any]]:
    """One row per page (the sign-in form first): cold and warm first render in ms, the API
    baseline and the ratios. ``tokens``: a token per role name."""
    rows: list[dict[str, Any]] = []
    with _browser() as browser:
        tick(SHELL.name)
        shell = _time_page(browser, base, SHELL, "", repeats)
        shell_cold = statistics.median(shell["cold"])
        rows.append(_page_row(store, SHELL, shell, None, shell_cold))
        for page in pages(mrn, office):
            tick(page.name)
            timed = _time_page(browser, base, page, tokens[page.role], repeats)
            api = statistics.median(_api_ms(base, page, tokens[page.role], repeats))
            rows.append(_page_row(store, page, timed, api, shell_cold))
    return rows


def _page_row(
    store: str, page: Page, timed: dict[str, list[float]], api: float | None, shell: float
) -> dict[str, Any]:
    cold, warm = _stats(timed["cold"]), _stats(timed["warm"])
    return {
        "store": store, "page": page.name, "role": page.role or None,
        "route": page.route or None, "n": len(timed["cold"]),
        "cold_p50_ms": round(cold[0], 1), "cold_p95_ms": round(cold[1], 1),
        "cold_max_ms": round(cold[2], 1),
        "warm_p50_ms": round(warm[0], 1), "warm_p95_ms": round(warm[1], 1),
        "warm_max_ms": round(warm[2], 1),
        "api_p50_ms": round(api, 1) if api is not None else None,
        "cold_vs_api": round(cold[0] / api, 2) if api else None,
        "cold_vs_shell": round(cold[0] / shell, 2) if shell else None,
    }  # fmt: skip
