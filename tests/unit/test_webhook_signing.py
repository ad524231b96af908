"""Webhook signing, the receivers' verify(), subscription rules and the retry schedule."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tripp.errors import InvalidInput
from tripp.webhooks.model import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Attempt,
    Backoff,
    DeliveryStatus,
    Subscription,
    encode_body,
    settle,
    signature,
    signed_headers,
    verify,
)

SECRET = "whsec_test-secret-0123456789"
BODY = b'{"alert":{"id":1},"type":"alert.raised"}'
STAMP = 1_700_000_000
# Computed apart from tripp: printf '1700000000.<BODY>' | openssl dgst -sha256 -hmac <SECRET>
KNOWN = "sha256=bf29e5e6fd3dacd963bc1f655aa6a109298e02fd57a7f642ab9e86781692519e"
NOW = datetime(2025, 1, 1, tzinfo=UTC)


def test_signature_known_answer() -> None:
    assert signature(SECRET, STAMP, BODY) == KNOWN
    assert encode_body({"type": "alert.raised", "alert": {"id": 1}}) == BODY


def test_headers_carry_timestamp_signature_and_delivery_id() -> None:
    headers = signed_headers(SECRET, BODY, timestamp=STAMP, delivery_id=42)
    assert headers[TIMESTAMP_HEADER] == str(STAMP)
    assert headers[SIGNATURE_HEADER] == KNOWN
    assert headers[DELIVERY_HEADER] == "42"


def test_verify_accepts_the_genuine_request() -> None:
    assert verify(SECRET, BODY, timestamp=str(STAMP), signature_header=KNOWN)
    assert verify(SECRET, BODY, timestamp=str(STAMP), signature_header=KNOWN, now=STAMP + 299)


@pytest.mark.parametrize(
    ("secret", "body", "stamp", "sig"),
    [
        ("whsec_another-secret-000000", BODY, str(STAMP), KNOWN),  # wrong key
        (SECRET, BODY.replace(b"1", b"2"), str(STAMP), KNOWN),  # body altered
        (SECRET, BODY + b" ", str(STAMP), KNOWN),  # a byte appended
        (SECRET, BODY, str(STAMP + 1), KNOWN),  # timestamp altered
        (SECRET, BODY, str(STAMP), KNOWN.upper()),  # not the same string
        (SECRET, BODY, str(STAMP), KNOWN.removeprefix("sha256=")),
        (SECRET, BODY, "-1", KNOWN),
        (SECRET, BODY, "", KNOWN),
        (SECRET, BODY, "9" * 40, KNOWN),
    ],
)
def test_verify_rejects_tampering(secret: str, body: bytes, stamp: str, sig: str) -> None:
    assert not verify(secret, body, timestamp=stamp, signature_header=sig)


def test_verify_rejects_a_stale_timestamp() -> None:
    assert not verify(SECRET, BODY, timestamp=str(STAMP), signature_header=KNOWN, now=STAMP + 301)
    assert not verify(SECRET, BODY, timestamp=str(STAMP), signature_header=KNOWN, now=STAMP - 301)


@given(body=st.binary(max_size=512), flip=st.integers(min_value=0, max_value=511))
def test_any_flipped_byte_breaks_the_signature(body: bytes, flip: int) -> None:
    sig = signature(SECRET, STAMP, body)
    assert verify(SECRET, body, timestamp=str(STAMP), signature_header=sig)
    if body:
        i = flip % len(body)
        tampered = body[:i] + bytes([body[i] ^ 0x01]) + body[i + 1 :]
        assert not verify(SECRET, tampered, timestamp=str(STAMP), signature_header=sig)


# --- subscriptions ---------------------------------------------------------------


def _fields(exc: pytest.ExceptionInfo[InvalidInput]) -> list[str]:
    return [e.field for e in exc.value.errors]


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/hook",
        "file:///etc/passwd",
        "https://",
        "https://user:pw@example.com/hook",
        "https://example.com/hook#frag",
        "https://example.com:99999/hook",
        "https://exa mple.com/hook",
        "https://example.com/" + "a" * 2000,
        "not a url",
    ],
)
def test_bad_urls_are_refused_naming_the_field(url: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        Subscription(url, ("speeding",), SECRET)
    assert _fields(exc) == ["url"]


def test_kinds_and_secret_rules_name_each_field() -> None:
    with pytest.raises(InvalidInput) as exc:
        Subscription("https://example.com/h", ("speeding", "nap"), "short")
    assert _fields(exc) == ["kinds[1]", "secret"]
    assert "short" not in str(exc.value)  # a secret is never quoted back
    with pytest.raises(InvalidInput) as exc:
        Subscription("https://example.com/h", (), SECRET)
    assert _fields(exc) == ["kinds"]
    assert "whsec" not in repr(Subscription("http://127.0.0.1:8080/h", ("overdue",), SECRET))


# --- the retry schedule ----------------------------------------------------------


@given(
    attempt=st.integers(min_value=1, max_value=10_000),
    seed=st.integers(min_value=0, max_value=2**32),
    base=st.floats(min_value=1, max_value=600),
    cap_factor=st.floats(min_value=1, max_value=1000),
)
def test_backoff_stays_within_floor_and_capped_exponential(
    attempt: int, seed: int, base: float, cap_factor: float
) -> None:
    backoff = Backoff(base_s=base, cap_s=base * cap_factor, floor_s=1.0)
    delay = backoff.delay_s(attempt, random.Random(seed))
    ceiling = min(backoff.cap_s, base * 2.0 ** min(attempt - 1, 60))
    assert backoff.floor_s <= delay <= ceiling
    assert delay <= backoff.cap_s


@given(seed=st.integers(min_value=0, max_value=2**32))
def test_backoff_is_reproducible_from_its_seed(seed: int) -> None:
    backoff = Backoff()
    first = [backoff.delay_s(n, random.Random(seed)) for n in range(1, 9)]
    again = [backoff.delay_s(n, random.Random(seed)) for n in range(1, 9)]
    assert first == again


def test_backoff_ceiling_doubles_until_the_cap() -> None:
    backoff = Backoff(base_s=30, cap_s=3600)
    assert [backoff.ceiling_s(n) for n in range(1, 10)] == [
        30, 60, 120, 240, 480, 960, 1920, 3600, 3600,
    ]  # fmt: skip


@pytest.mark.parametrize(
    "kwargs",
    [
        {"floor_s": -1},
        {"base_s": 10, "cap_s": 5},
        {"floor_s": 20, "base_s": 10},
        {"max_attempts": 0},
    ],
)
def test_backoff_refuses_nonsense(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Backoff(**kwargs)  # type: ignore[arg-type]


def test_settle_delivered_retry_then_failed() -> None:
    rng, backoff = random.Random(7), Backoff(max_attempts=3)
    done = settle(1, Attempt(status_code=204), NOW, backoff, rng)
    assert done.status is DeliveryStatus.DELIVERED and done.delivered_at == NOW
    retry = settle(2, Attempt(status_code=500), NOW, backoff, rng)
    assert retry.status is DeliveryStatus.PENDING
    assert retry.next_attempt_at is not None
    assert NOW + timedelta(seconds=1) <= retry.next_attempt_at <= NOW + timedelta(seconds=60)
    failed = settle(3, Attempt(error="ConnectError"), NOW, backoff, rng)
    assert failed.status is DeliveryStatus.FAILED and failed.next_attempt_at is None


@pytest.mark.parametrize(
    ("attempt", "summary"),
    [
        (Attempt(status_code=200), None),
        (Attempt(status_code=299), None),
        (Attempt(status_code=302), "HTTP 302"),  # redirects are not followed
        (Attempt(status_code=500), "HTTP 500"),
        (Attempt(error="ReadTimeout"), "ReadTimeout"),
    ],
)
def test_attempt_summary(attempt: Attempt, summary: str | None) -> None:
    assert attempt.summary == summary
    assert attempt.ok is (summary is None)
