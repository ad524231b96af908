"""The terminal's files as served: media types, the strict CSP, nothing outside STATIC_DIR.

No browser needed: a bare app with the terminal mounted, through Starlette's TestClient.
"""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tripp.terminal.router import STATIC_DIR, mount


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = FastAPI()
    mount(app)
    return TestClient(app)


@pytest.mark.parametrize(
    ("path", "media_type"),
    [
        ("/terminal", "text/html"),
        ("/terminal/", "text/html"),
        ("/terminal/terminal.js", "text/javascript"),
        ("/terminal/terminal.css", "text/css"),
        ("/terminal/favicon.svg", "image/svg+xml"),
    ],
)
def test_files_are_served_with_their_type_and_a_strict_policy(
    client: TestClient, path: str, media_type: str
) -> None:
    r = client.get(path)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith(media_type)
    assert r.headers["x-content-type-options"] == "nosniff"
    csp = r.headers["content-security-policy"]
    assert csp.startswith("default-src 'self'") and "unsafe" not in csp
    assert "frame-ancestors 'none'" in csp


@pytest.mark.parametrize(
    "path",
    [
        "/terminal/nothing.js",
        "/terminal/..%2Frouter.py",
        "/terminal/%2E%2E%2F__init__.py",
        "/terminal/router.py",
        "/terminal/.hidden.js",
    ],
)
def test_nothing_but_the_shipped_files(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 404


def test_the_page_loads_nothing_from_elsewhere() -> None:
    """No CDN, no external font: every reference in the shipped files is to this origin."""
    for f in STATIC_DIR.iterdir():
        text = f.read_text(encoding="utf-8")
        for url in re.findall(r"""(?:src|href)=["']([^"']+)""", text):
            assert url.startswith("/terminal/"), (f.name, url)
        refs = re.findall(r"https?://[^\s\"')]+", text)
        assert refs in ([], ["http://www.w3.org/2000/svg"]), (f.name, refs)
        assert "@import" not in text and "url(" not in text, f.name


def test_inline_script_and_style_are_absent() -> None:
    """The CSP forbids them: the page would break silently if one crept in."""
    html = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    assert re.search(r"<script(?![^>]*\bsrc=)", html) is None
    assert "<style" not in html and " style=" not in html
    assert re.search(r"\son[a-z]+=", html) is None  # no inline event handlers
