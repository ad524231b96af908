"""GET /dashboard: the operations dashboard's page and assets, from the package's static files.

The dashboard is a single page (hash routes) of vanilla JavaScript modules, CSS and SVG
shipped in ``STATIC_DIR``: no build step, no CDN. Only those files are served, by exact
name, each with its media type and the terminal's security headers. The policy allows
this origin only, plus ``blob:`` images: simulator charts are fetched with the bearer
token and shown through blob URLs, since a token never travels in a URL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from fastapi import APIRouter, Response

from tripp.terminal.router import SECURITY_HEADERS, static_file

STATIC_DIR: Final = Path(__file__).resolve().parent / "static"

CONTENT_SECURITY_POLICY: Final = (
    "default-src 'self'; img-src 'self' blob:; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'; object-src 'none'"
)

HEADERS: Final = {**SECURITY_HEADERS, "Content-Security-Policy": CONTENT_SECURITY_POLICY}

router = APIRouter(include_in_schema=False)


def _file(name: str) -> Response:
    return static_file(STATIC_DIR, name, HEADERS)


@router.get("/dashboard")
@router.get("/dashboard/")
def dashboard_page() -> Response:
    return _file("index.html")


@router.get("/dashboard/{name}")
def dashboard_asset(name: str) -> Response:
    return _file(name)
