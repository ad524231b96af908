"""The root of every tripp exception.

Each package defines its own subclasses; the HTTP edge (``tripp.api.problems``)
and the CLI translate them once. ``status`` is the HTTP status the edge uses.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One broken rule on one input field, e.g. ``goods[2].hs_code``."""

    field: str
    message: str
    rule: str = ""


class TrippError(Exception):
    """Root of all domain errors."""

    status = 400
    title = "Bad request"
    slug = "bad-request"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidInput(TrippError):
    """One or more input fields break a rule; ``errors`` names each one."""

    status = 422
    title = "Invalid input"
    slug = "invalid-input"

    def __init__(self, errors: list[FieldError], detail: str | None = None) -> None:
        if not errors:
            raise ValueError("InvalidInput needs at least one FieldError")
        self.errors = errors
        super().__init__(detail or "; ".join(f"{e.field}: {e.message}" for e in errors))


class NotFound(TrippError):
    """The resource does not exist, or the caller may not know it exists."""

    status = 404
    title = "Not found"
    slug = "not-found"


class Forbidden(TrippError):
    """The caller may see the resource but not do this to it."""

    status = 403
    title = "Forbidden"
    slug = "forbidden"


class Unauthenticated(TrippError):
    status = 401
    title = "Unauthenticated"
    slug = "unauthenticated"


class Conflict(TrippError):
    """The request is valid but clashes with the resource's current state."""

    status = 409
    title = "Conflict"
    slug = "conflict"


class TooManyRequests(TrippError):
    """Too many failed authentications from one client: wait ``retry_after_s`` seconds."""

    status = 429
    title = "Too many requests"
    slug = "too-many-requests"

    def __init__(self, detail: str, retry_after_s: int) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s


class StoreUnavailable(TrippError):
    """The database could not be reached; the request changed nothing."""

    status = 503
    title = "Store unavailable"
    slug = "store-unavailable"


class StoreFull(TrippError):
    """The store's disk is full: the write was refused whole and nothing was recorded.

    Retrying succeeds once space is freed; ``retry_after_s`` is a hint for clients that
    back off on their own, not a promise that space will be free by then.
    """

    status = 507
    title = "Store full"
    slug = "store-full"
    retry_after_s = 60
