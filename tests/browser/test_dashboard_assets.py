"""The dashboard's files as served (media types, the strict CSP, nothing outside STATIC_DIR)
and its colour scheme: every text colour pair of dashboard.css is at least 4.5:1.

No browser needed: a bare app with the dashboard's pages router, through Starlette's
TestClient, and the stylesheet read as text.
"""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tripp.dashboard.pages import STATIC_DIR, router

CSS = (STATIC_DIR / "dashboard.css").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = FastAPI()
    app.include_router(router)
    return TestClient(app)


def _shipped() -> list[str]:
    return sorted(f.name for f in STATIC_DIR.iterdir() if f.is_file())


@pytest.mark.parametrize("name", _shipped())
def test_files_are_served_with_their_type_and_a_strict_policy(
    client: TestClient, name: str
) -> None:
    r = client.get(f"/dashboard/{name}")
    assert r.status_code == 200
    kind = {"html": "text/html", "js": "text/javascript", "css": "text/css", "svg": "image/svg"}
    assert r.headers["content-type"].startswith(kind[name.rsplit(".", 1)[1]])
    assert r.headers["x-content-type-options"] == "nosniff"
    csp = r.headers["content-security-policy"]
    assert csp.startswith("default-src 'self'") and "unsafe" not in csp
    assert "script-src" not in csp  # scripts fall back to default-src 'self'
    assert "frame-ancestors 'none'" in csp


def test_the_page_is_served_at_dashboard(client: TestClient) -> None:
    for path in ("/dashboard", "/dashboard/"):
        r = client.get(path)
        assert r.status_code == 200 and "<main" in r.text


@pytest.mark.parametrize(
    "path",
    [
        "/dashboard/nothing.js",
        "/dashboard/..%2Fpages.py",
        "/dashboard/pages.py",
        "/dashboard/.x.js",
    ],
)
def test_nothing_but_the_shipped_files(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 404


def test_nothing_is_loaded_from_elsewhere() -> None:
    """No CDN, no external font, no import from another origin."""
    for f in STATIC_DIR.iterdir():
        text = f.read_text(encoding="utf-8")
        for url in re.findall(r"""(?:src|href)=["']([^"'#]+)""", text):
            assert url.startswith("/dashboard/"), (f.name, url)
        for spec in re.findall(r"""^import .* from ["']([^"']+)""", text, flags=re.M):
            assert spec.startswith("./"), (f.name, spec)
        refs = re.findall(r"https?://[^\s\"')]+", text)
        assert set(refs) <= {"http://www.w3.org/2000/svg"}, (f.name, refs)
        assert "@import" not in text and "url(" not in text, f.name


def test_no_inline_script_or_style_and_no_token_in_urls() -> None:
    html = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    assert re.search(r"<script(?![^>]*\bsrc=)", html) is None
    assert "<style" not in html and " style=" not in html
    assert re.search(r"\son[a-z]+=", html) is None
    for f in STATIC_DIR.glob("*.js"):
        text = f.read_text(encoding="utf-8")
        assert "new EventSource" not in text, f.name  # it cannot send the Authorization header
        assert not re.search(r"[?&](access_)?token=", text), f.name
        assert "eval(" not in text and "innerHTML" not in text, f.name


# ---------------------------------------------------------------- colour contrast


def _variables() -> dict[str, str]:
    root = re.search(r":root\s*\{([^}]*)\}", CSS)
    assert root is not None
    return dict(re.findall(r"(--[\w-]+)\s*:\s*(#[0-9a-fA-F]{6})", root.group(1)))


def _resolve(value: str, variables: dict[str, str]) -> str:
    value = value.strip()
    found = re.fullmatch(r"var\((--[\w-]+)\)", value)
    return variables[found.group(1)] if found else value


def _luminance(hex_colour: str) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else float(((s + 0.055) / 1.055) ** 2.4)

    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _rule_pairs() -> list[tuple[str, str, str]]:
    """(selector, text colour, background) of every rule that sets both."""
    variables = _variables()
    pairs = []
    for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", CSS):
        colour = re.search(r"(?<![-\w])color\s*:\s*([^;]+)", body)
        background = re.search(r"background(?:-color)?\s*:\s*([^;]+)", body)
        if colour and background:
            fg, bg = _resolve(colour.group(1), variables), _resolve(background.group(1), variables)
            if fg.startswith("#") and bg.startswith("#") and bg != "transparent":
                pairs.append((selector.strip(), fg, bg))
    return pairs


# Text drawn on a background set elsewhere (the page, a card, the header, the map).
_INHERITED = [
    ("ink", "paper"), ("ink", "card"), ("muted", "paper"), ("muted", "card"),
    ("link", "paper"), ("link", "card"), ("alert-ink", "card"), ("alert-ink", "paper"),
    ("bar-muted", "bar"), ("bar-ink", "bar"), ("ink", "line-free-map"),
]  # fmt: skip


def test_every_colour_pair_in_the_stylesheet_is_at_least_4_5_to_1() -> None:
    pairs = _rule_pairs()
    assert len(pairs) >= 15, pairs  # the parser found the rules
    low = [(s, fg, bg, round(contrast(fg, bg), 2)) for s, fg, bg in pairs if contrast(fg, bg) < 4.5]
    assert low == []


def test_text_on_inherited_backgrounds_is_at_least_4_5_to_1() -> None:
    v = {**_variables(), "--line-free-map": "#eef2f6"}  # the map's background (.map)
    assert "background: #eef2f6" in CSS
    low = [(fg, bg) for fg, bg in _INHERITED if contrast(v[f"--{fg}"], v[f"--{bg}"]) < 4.5]
    assert low == []


def test_state_colours_carry_white_text_and_markers_stand_out() -> None:
    v = _variables()
    for name in ("released", "in-transit", "arrived", "enquiry", "alert", "focus", "bar"):
        assert contrast(v[f"--{name}"], "#ffffff") >= 4.5, name
    # markers and lines are graphics: 3:1 against the map (WCAG 1.4.11)
    for name in ("released", "in-transit", "arrived", "enquiry", "alert", "route"):
        assert contrast(v[f"--{name}"], "#eef2f6") >= 3, name
