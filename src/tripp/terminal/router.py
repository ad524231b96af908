"""GET /terminal: the officer terminal's page and assets, from the package's static files.

Only the files shipped in ``STATIC_DIR`` are served, by exact name, each with its media
type, ``X-Content-Type-Options: nosniff`` and a Content-Security-Policy that allows
nothing but this origin: the page loads no script, style, font or image from elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Final

from fastapi import APIRouter, FastAPI, Response

STATIC_DIR: Final = Path(__file__).resolve().parent / "static"

MEDIA_TYPES: Final = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}

# 'self' only: no inline script or style, no eval, no other origin, never in a frame.
CONTENT_SECURITY_POLICY: Final = (
    "default-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'; object-src 'none'"
)

SECURITY_HEADERS: Final = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    # Small files that change with each release: revalidate rather than run a stale page.
    "Cache-Control": "no-cache",
}

router = APIRouter(include_in_schema=False)


def _not_found() -> Response:
    return Response("not found", status_code=404, media_type="text/plain; charset=utf-8")


def static_file(directory: Path, name: str, headers: Mapping[str, str]) -> Response:
    """The shipped file ``name`` (a bare file name) of ``directory``, or 404; never a path
    outside it. Shared by every page tripp serves from its package (terminal, dashboard)."""
    path = directory / name
    media_type = MEDIA_TYPES.get(path.suffix)
    if media_type is None or "/" in name or "\\" in name or name.startswith("."):
        return _not_found()
    if path.parent != directory or not path.is_file():
        return _not_found()
    return Response(path.read_bytes(), media_type=media_type, headers=dict(headers))


def _file(name: str) -> Response:
    return static_file(STATIC_DIR, name, SECURITY_HEADERS)


@router.get("/terminal")
@router.get("/terminal/")
def terminal_page() -> Response:
    return _file("index.html")


@router.get("/terminal/{name}")
def terminal_asset(name: str) -> Response:
    return _file(name)


def mount(app: FastAPI) -> None:
    """Serve the terminal on ``app`` (the main server or a post node)."""
    app.include_router(router)
