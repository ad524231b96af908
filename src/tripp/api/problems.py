"""RFC 9457 problem+json responses: every error leaves the API through here."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from tripp.errors import (
    InvalidInput,
    StoreFull,
    TooManyRequests,
    TrippError,
    Unauthenticated,
)
from tripp.movements.model import EventType, IllegalTransition

log = logging.getLogger("tripp.api")
MEDIA_TYPE = "application/problem+json"
_EVENT_TAGS = {t.value for t in EventType}
# The store unreachable may be back in seconds; a full disk waits for an operator.
_RETRY_AFTER_S = {503: 5, StoreFull.status: StoreFull.retry_after_s}


class FieldProblem(BaseModel):
    field: str
    message: str
    rule: str | None = None


class Problem(BaseModel):
    """An RFC 9457 problem; ``errors`` lists the broken rules of invalid input."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldProblem] | None = None
    state: str | None = None
    allowed: list[str] | None = None


def _response(
    status: int, slug: str, title: str, detail: str, retry_after: int | None = None, **extra: Any
) -> JSONResponse:
    body = {"type": f"urn:tripp:problem:{slug}", "title": title, "status": status, "detail": detail}
    body.update({k: v for k, v in extra.items() if v is not None})
    headers = {"WWW-Authenticate": 'Bearer realm="tripp"'} if status == 401 else None
    if status in _RETRY_AFTER_S:
        headers = {"Retry-After": str(_RETRY_AFTER_S[status])}
    if retry_after is not None:
        headers = {"Retry-After": str(retry_after)}
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def field_path(loc: tuple[int | str, ...]) -> str:
    """``('body', 'goods', 2, 'hs_code')`` → ``goods[2].hs_code``."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header"):
        where = parts.pop(0)
        if where == "header" and parts:
            return str(parts[0]).title()
    if parts and parts[0] in _EVENT_TAGS:
        parts.pop(0)  # the discriminated union's tag is not a field of the request
    path = ""
    for p in parts:
        path += f"[{p}]" if isinstance(p, int) else (f".{p}" if path else str(p))
    return path or "body"


def _on_domain_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TrippError)
    extra: dict[str, Any] = {}
    if isinstance(exc, InvalidInput):
        extra["errors"] = [
            {"field": e.field, "message": e.message, "rule": e.rule or None} for e in exc.errors
        ]
    if isinstance(exc, IllegalTransition):
        extra["state"] = exc.state.value
        extra["allowed"] = [t.value for t in exc.allowed]
    if isinstance(exc, TooManyRequests):
        extra["retry_after"] = exc.retry_after_s
    return _response(exc.status, exc.slug, exc.title, exc.detail, **extra)


def _on_validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "field": "body" if e["type"] == "json_invalid" else field_path(tuple(e["loc"])),
            "message": e["msg"],
            "rule": e["type"],
        }
        for e in exc.errors()
    ]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    return _response(422, "invalid-input", "Invalid input", detail, errors=errors)


def _on_http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return _response(exc.status_code, "http", str(exc.detail), str(exc.detail))


def _on_unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error", exc_info=exc)
    return _response(500, "internal", "Internal error", "an unexpected error; nothing was changed")


def install(app: FastAPI) -> None:
    app.add_exception_handler(TrippError, _on_domain_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the problem responses a route can give."""
    titles = {
        400: "Bad request",
        401: "Missing or bad token",
        403: "Not allowed",
        404: "Not found",
        409: "Conflict with the current state",
        422: "Invalid input",
        503: "Store unavailable",
        507: "Store full: the write was refused, nothing recorded",
    }
    return {
        s: {"model": Problem, "description": titles[s], "content": {MEDIA_TYPE: {}}}
        for s in (401, *statuses, 503, 507)
    }


__all__ = ["MEDIA_TYPE", "Problem", "Unauthenticated", "field_path", "install", "responses"]
