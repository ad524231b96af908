"""App-wide HTTP protections: security headers on every response.

A raw ASGI wrapper rather than Starlette's BaseHTTPMiddleware: it only edits the response
start message, so it costs next to nothing and never buffers a stream (the dashboard's
Server-Sent Events pass through untouched).

There is no CSRF token because there is nothing for a forged request to ride on: tripp
sets no cookie and accepts credentials only in the Authorization header, which a browser
never adds by itself to a cross-site request.
"""

from __future__ import annotations

from typing import Final

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ALWAYS: Final = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"geolocation=(), camera=(), microphone=()"),
)
# API answers are data, never a page: nothing in them may run, and no cache may keep
# another party's records.
API_ONLY: Final = (
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
    (b"cache-control", b"no-store"),
)


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        api = str(scope.get("path", "")).startswith("/api/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                for name, value in (*ALWAYS, *(API_ONLY if api else ())):
                    if name not in present:  # a route's own choice wins (the pages' CSP)
                        headers.append((name, value))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install(app: FastAPI) -> None:
    """Install the app-wide protections on ``app``."""
    app.add_middleware(SecurityHeaders)
