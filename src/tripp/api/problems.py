"""RFC 9457 problem+json responses: every error leaves the API through here."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
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
# What FastAPI raises (a 400 HTTPException) when it cannot read the body at all.
_BODY_UNPARSABLE = "There was an error parsing the body"
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


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
    status: int,
    slug: str,
    title: str,
    detail: str,
    retry_after: int | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = {"type": f"urn:tripp:problem:{slug}", "title": title, "status": status, "detail": detail}
    body.update({k: v for k, v in extra.items() if v is not None})
    out = dict(headers or {})
    if status == 401:
        out["WWW-Authenticate"] = 'Bearer realm="tripp"'
    if status in _RETRY_AFTER_S:
        out["Retry-After"] = str(_RETRY_AFTER_S[status])
    if retry_after is not None:
        out["Retry-After"] = str(retry_after)
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=out or None)


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


def _allowed_methods(request: Request) -> str | None:
    """Every method the published API answers on the path (RFC 9110 ``Allow``).

    Starlette's 405 names only the methods of the first route that matched the path, not
    those of a second route on the same path (GET and PUT of one resource declared apart),
    so the answer comes from the OpenAPI document instead. ``None``: not an API path."""
    paths = getattr(request.app.state, "allow_by_path", None)
    if paths is None:
        paths = []
        for template, item in request.app.openapi().get("paths", {}).items():
            parts = template.strip("/").split("/")
            pattern = "/".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
            literal = sum(not p.startswith("{") for p in parts)
            methods = sorted(m.upper() for m in item if m.upper() in _METHODS)
            paths.append((re.compile(f"/{pattern}"), literal, methods))
        request.app.state.allow_by_path = paths
    path = request.url.path.removeprefix(request.scope.get("root_path", ""))
    found = [(literal, methods) for rx, literal, methods in paths if rx.fullmatch(path)]
    if not found:
        return None
    best = max(literal for literal, _ in found)
    allowed = {m for literal, methods in found if literal == best for m in methods}
    return ", ".join(m for m in _METHODS if m in allowed)


def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.detail == _BODY_UNPARSABLE:
        # FastAPI's answer to a body it cannot decode (not UTF-8, say): bad input like any
        # other, so a 422 naming the body and Pydantic's rule, as for malformed JSON.
        message = "the body is not valid JSON"
        errors = [{"field": "body", "message": message, "rule": "json_invalid"}]
        return _response(422, "invalid-input", "Invalid input", f"body: {message}", errors=errors)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        allow = _allowed_methods(request)
        if allow is not None:
            headers["Allow"] = allow
    # The exception's headers travel with it (Allow on a 405, as RFC 9110 wants).
    return _response(exc.status_code, "http", str(exc.detail), str(exc.detail), headers=headers)


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


def problem_openapi(schema: dict[str, Any]) -> dict[str, Any]:
    """Every 4xx/5xx of the document as it is answered: ``application/problem+json`` with
    the ``Problem`` schema (FastAPI's own 422 names ``application/json`` and its
    ``HTTPValidationError``, which tripp never sends)."""
    problem = {"$ref": "#/components/schemas/Problem"}
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            for status, answer in operation.get("responses", {}).items():
                if str(status)[:1] not in ("4", "5"):
                    continue
                answer["content"] = {MEDIA_TYPE: {"schema": problem}}
                if status == "422" and answer.get("description") == "Validation Error":
                    answer["description"] = "Invalid input"
    components = schema.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):  # the second used by the first
        if f'"#/components/schemas/{unused}"' not in json.dumps(schema.get("paths")):
            components.pop(unused, None)
    return schema


__all__ = [
    "MEDIA_TYPE",
    "Problem",
    "Unauthenticated",
    "field_path",
    "install",
    "problem_openapi",
    "responses",
]
