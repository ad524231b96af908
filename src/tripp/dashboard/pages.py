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

from tripp.terminal.router import MEDIA_TYPES, SECURITY_HEADERS

STATIC_DIR: Final = Path(__file__).resolve().parent / "static"

CONTENT_SECURITY_POLICY: Final = (
    "default-src 'self'; img-src 'self' blob:; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'; object-src 'none'"
)

HEADERS: Final = {**SECURITY_HEADERS, "Content-Security-Policy": CONTENT_SECURITY_POLICY}

router = APIRouter(include_in_schema=False)


def _not_found() -> Response:
    return Response("not found", status_code=404, media_type="text/plain; charset=utf-8")


def _file(name: str) -> Response:
    """The shipped file ``name`` (a bare file name), or 404; never a path outside STATIC_DIR."""
    path = STATIC_DIR / name
    media_type = MEDIA_TYPES.get(path.suffix)
    if media_type is None or "/" in name or "\\" in name or name.startswith("."):
        return _not_found()
    if path.parent != STATIC_DIR or not path.is_file():
        return _not_found()
    return Response(path.read_bytes(), media_type=media_type, headers=HEADERS)


@router.get("/dashboard")
@router.get("/dashboard/")
def dashboard_page() -> Response:
    return _file("index.html")


@router.get("/dashboard/{name}")
def dashboard_asset(name: str) -> Response:
    return _file(name)
