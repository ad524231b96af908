"""Webhooks, pure: subscriptions, signing, the retry schedule, delivery outcomes.

Signing (what receivers implement, see ``verify``):

    X-Tripp-Timestamp: <unix seconds>
    X-Tripp-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>
    X-Tripp-Delivery:  <delivery id; the same on every retry of one delivery>

The signature covers the exact body bytes and the timestamp, so a receiver
that checks both (and the timestamp's age) rejects tampered and replayed
requests; the delivery id lets it drop a retry it already processed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from tripp.errors import FieldError, InvalidInput
from tripp.parties.model import Actor, Role

ALERT_KINDS = (
    "route_deviation",
    "unauthorized_stop",
    "seal_opened",
    "speeding",
    "overdue",
    "tracker_silent",
)
SIGNATURE_HEADER = "X-Tripp-Signature"
TIMESTAMP_HEADER = "X-Tripp-Timestamp"
DELIVERY_HEADER = "X-Tripp-Delivery"
MAX_URL_LENGTH = 2000
SECRET_PATTERN = re.compile(r"^[\x21-\x7e]{16,128}$")
_URL_FORBIDDEN = re.compile(r"[\x00-\x20\x7f]")


class AlertEvent(StrEnum):
    RAISED = "raised"
    CLEARED = "cleared"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


# --- subscriptions ---------------------------------------------------------------


def new_secret() -> str:
    """A fresh signing secret: 256 random bits, URL-safe."""
    return "whsec_" + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Subscription:
    """A validated request to subscribe ``url`` to alert ``kinds``."""

    url: str
    kinds: tuple[str, ...]
    secret: str = field(repr=False)

    def __post_init__(self) -> None:
        errors = url_errors(self.url) + kind_errors(self.kinds)
        if not SECRET_PATTERN.match(self.secret):
            # The value is a secret: the message never quotes it.
            errors.append(
                FieldError("secret", "must be 16-128 printable ASCII characters", "secret")
            )
        if errors:
            raise InvalidInput(errors)


def url_errors(url: str) -> list[FieldError]:
    """What is wrong with ``url`` as a webhook target (http or https, a host, no credentials)."""
    problem = _url_problem(url)
    return [FieldError("url", problem, "webhook-url")] if problem else []


def _url_problem(url: str) -> str | None:
    if len(url) > MAX_URL_LENGTH:
        return f"must be at most {MAX_URL_LENGTH} characters"
    if _URL_FORBIDDEN.search(url):
        return "must not contain spaces or control characters"
    try:
        parts = urlsplit(url)
        _ = parts.port  # parsed lazily: a bad port raises only when read
    except ValueError:
        return f"{url!r} is not a URL"
    if parts.scheme not in ("http", "https"):
        return f"{url!r} must be an http or https URL"
    if not parts.hostname:
        return f"{url!r} has no host"
    if parts.username is not None or parts.password is not None:
        # Credentials would be stored and shown back in lists: sign with the secret instead.
        return "must not carry credentials (user:password@)"
    if parts.fragment:
        return "must not have a #fragment"
    return None


def kind_errors(kinds: Iterable[str]) -> list[FieldError]:
    listed = list(kinds)
    if not listed:
        return [FieldError("kinds", "name at least one alert kind", "required")]
    return [
        FieldError(f"kinds[{i}]", f"{k!r} is not one of {', '.join(ALERT_KINDS)}", "alert-kind")
        for i, k in enumerate(listed)
        if k not in ALERT_KINDS
    ]


@dataclass(frozen=True)
class Webhook:
    """A stored subscription. The subscriber is the Actor that subscribed: its
    party, role and country then decide which alerts it may receive."""

    id: int
    party: str
    role: Role
    country: str | None
    url: str
    kinds: tuple[str, ...]
    created_at: datetime
    disabled_at: datetime | None = None

    @property
    def subscriber(self) -> Actor:
        return Actor(party=self.party, role=self.role, country=self.country)

    def wants(self, kind: str) -> bool:
        return self.disabled_at is None and kind in self.kinds


@dataclass(frozen=True)
class Delivery:
    """One entry of the delivery log: an alert event owed to one webhook."""

    id: int
    webhook_id: int
    alert_id: int
    event: AlertEvent
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


# --- the body and its signature --------------------------------------------------


def alert_payload(
    alert: Mapping[str, Any], event: AlertEvent, occurred_at: datetime
) -> dict[str, Any]:
    """The JSON document sent for ``event`` on ``alert`` (the alert's API view)."""
    return {
        "type": f"alert.{event.value}",
        "occurred_at": occurred_at.isoformat().replace("+00:00", "Z"),
        "alert": dict(alert),
    }


def encode_body(payload: Mapping[str, Any]) -> bytes:
    """Canonical JSON bytes: the same document always gives the same bytes."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256 over ``"<timestamp>." + body``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def signed_headers(secret: str, body: bytes, *, timestamp: int, delivery_id: int) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
        DELIVERY_HEADER: str(delivery_id),
    }


def verify(
    secret: str,
    body: bytes,
    *,
    timestamp: str,
    signature_header: str,
    now: float | None = None,
    tolerance_s: float = 300.0,
) -> bool:
    """For receivers: whether ``body`` was signed with ``secret`` at ``timestamp``.

    With ``now`` (unix seconds), a timestamp more than ``tolerance_s`` away is
    refused too, which stops replays of an old, validly signed request.
    """
    if not timestamp.isdigit() or len(timestamp) > 12:
        return False
    stamp = int(timestamp)
    if now is not None and abs(now - stamp) > tolerance_s:
        return False
    return hmac.compare_digest(signature(secret, stamp, body), signature_header)


# --- retries ---------------------------------------------------------------------


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter, in seconds.

    After attempt ``n`` failed, the next waits uniformly between ``floor_s``
    and ``min(cap_s, base_s * 2**(n-1))``: jitter spreads the retries of many
    deliveries that failed together (a receiver that was down) instead of
    hammering it in step. After ``max_attempts`` the delivery is failed.
    """

    base_s: float = 30.0
    cap_s: float = 3600.0
    floor_s: float = 1.0
    max_attempts: int = 8

    def __post_init__(self) -> None:
        if not 0 <= self.floor_s <= self.base_s <= self.cap_s:
            raise ValueError(
                f"need 0 <= floor_s={self.floor_s} <= base_s={self.base_s} <= cap_s={self.cap_s}"
            )
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts={self.max_attempts} must be >= 1")

    def ceiling_s(self, attempt: int) -> float:
        """The longest wait after failed attempt ``attempt`` (1-based)."""
        exponent = min(max(attempt - 1, 0), 60)  # beyond 2**60 the cap has long won
        return min(self.cap_s, self.base_s * 2.0**exponent)

    def delay_s(self, attempt: int, rng: random.Random) -> float:
        return rng.uniform(self.floor_s, self.ceiling_s(attempt))


@dataclass(frozen=True)
class Attempt:
    """What one POST got: an HTTP status, or a transport error's short name."""

    status_code: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def summary(self) -> str | None:
        """The log line: never the response body, which the receiver controls."""
        if self.ok:
            return None
        return self.error if self.error else f"HTTP {self.status_code}"


@dataclass(frozen=True)
class Settlement:
    """A delivery's state after an attempt."""

    status: DeliveryStatus
    next_attempt_at: datetime | None
    delivered_at: datetime | None


def settle(
    attempts: int, result: Attempt, now: datetime, backoff: Backoff, rng: random.Random
) -> Settlement:
    """After ``attempts`` tries the last of which got ``result``: delivered, retry, or failed."""
    if result.ok:
        return Settlement(DeliveryStatus.DELIVERED, None, now)
    if attempts >= backoff.max_attempts:
        return Settlement(DeliveryStatus.FAILED, None, None)
    wait = timedelta(seconds=backoff.delay_s(attempts, rng))
    return Settlement(DeliveryStatus.PENDING, now + wait, None)
