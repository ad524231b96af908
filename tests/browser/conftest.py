"""Browser-tier fixtures: a real ``tripp serve`` and Debian's headless Chromium via Playwright.

Playwright drives the system Chromium (``/usr/bin/chromium``, Debian package ``chromium``);
its own browser download (``playwright install``) is never used. Without Chromium or the
``playwright`` package these tests skip and say why; in CI (CI=true) they fail instead.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import IN_CI, Tokens, mint_tokens
from tests.integration.live import LiveServer
from tripp.bootstrap import wire
from tripp.config import Settings
from tripp.corridor.model import Corridor, Itinerary

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1366, "height": 768}
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI requires the browser tests to run)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not CHROMIUM.exists() and shutil.which("chromium") is None:
        _unavailable(f"Chromium is not installed at {CHROMIUM}: apt-get install -y chromium")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("the playwright package is missing: pip install playwright")
    return str(CHROMIUM if CHROMIUM.exists() else shutil.which("chromium"))


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@dataclass
class Upstream:
    """The live server spoken to as one token at a time, for setting up and checking."""

    url: str
    tokens: Tokens
    corridor: Corridor
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.url + "/api/v1", timeout=10)

    def call(self, method: str, path: str, token: str, **kw: Any) -> httpx.Response:
        return self.http.request(method, path, headers={"Authorization": f"Bearer {token}"}, **kw)

    def itinerary(self, name: str) -> Itinerary:
        return next(it for it in self.corridor.itineraries if it.name == name)

    def events(self, mrn: str) -> list[dict[str, Any]]:
        r = self.call("GET", f"/movements/{mrn}/events", self.tokens.am_customs)
        assert r.status_code == 200, r.text
        return list(r.json()["items"])

    def event(self, mrn: str, token: str, type_: str, office: str, **payload: Any) -> None:
        body = {
            "id": f"setup-{type_}-{mrn}",
            "type": type_,
            "office": office,
            "at": datetime.now(UTC).isoformat(),
            **payload,
        }
        r = self.call("POST", f"/movements/{mrn}/events", token, json=body)
        assert r.status_code == 201, r.text


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upstream]:
    """``tripp serve`` on a fresh SQLite store, with a token per role, serving the terminal."""
    where = tmp_path_factory.mktemp("terminal")
    url = f"sqlite:///{where / 'tripp.db'}"
    w = wire(Settings(database_url=url))
    w.upgrade()
    tokens = mint_tokens(w)
    corridor = w.corridor
    w.engine.dispose()
    server = LiveServer(url, where / "server.log")
    server.start()
    up = Upstream(server.url, tokens, corridor)
    try:
        if httpx.get(server.url + "/terminal", timeout=10).status_code != 200:
            pytest.fail(
                "tripp serve does not serve /terminal: register tripp.terminal.router "
                "in tripp.api.app.create_app",
                pytrace=False,
            )
        yield up
    finally:
        up.http.close()
        server.stop()


@pytest.fixture(scope="module")  # closed with its module: no event loop outlives it
def browser(chromium_path: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@dataclass
class Console:
    """What the page said on its console, and its uncaught errors."""

    errors: list[str] = field(default_factory=list)

    def unexpected(self) -> list[str]:
        # The page asks once whether it runs on a post node; the main server answers 404.
        return [e for e in self.errors if "/api/v1/post/status" not in e]


@pytest.fixture
def page(browser: Any) -> Iterator[tuple[Any, Console]]:
    context = browser.new_context(viewport=VIEWPORT, locale="en-GB", timezone_id="Asia/Yerevan")
    p = context.new_page()
    p.set_default_timeout(5000)
    console = Console()

    def on_console(msg: Any) -> None:
        if msg.type == "error":
            console.errors.append(f"{msg.text} @ {msg.location.get('url', '')}")

    p.on("console", on_console)
    p.on("pageerror", lambda exc: console.errors.append(f"page error: {exc}"))
    try:
        yield p, console
    finally:
        context.close()


# WCAG 2 contrast of every visible text against the first opaque background behind it.
_CONTRAST_JS = """
() => {
  const rgb = (s) => (s.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (let n = el; n; n = n.parentElement) {
      const c = rgb(getComputedStyle(n).backgroundColor);
      if (c.length === 3 || c[3] === 1) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const failures = [];
  for (const el of document.querySelectorAll("body *")) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || !el.checkVisibility() || el.closest(":disabled")) continue;
    const fg = lum(rgb(getComputedStyle(el).color));
    const bg = lum(background(el));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    if (ratio < 4.5) failures.push(`${el.tagName}#${el.id}.${el.className}: ${ratio.toFixed(2)}`);
  }
  return failures;
}
"""


def contrast_failures(page: Any) -> list[str]:
    """Visible texts with a contrast below 4.5:1 (WCAG AA, normal text)."""
    return list(page.evaluate(_CONTRAST_JS))
