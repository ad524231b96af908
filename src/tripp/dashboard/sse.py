"""Server-Sent Events framing and the stream's opaque cursor (pure).

An event is ``id:``, ``event:`` and one ``data:`` line of compact JSON, ended by a blank
line (WHATWG HTML, "server-sent events"). The cursor is a point in the store's clock: the
stream resumes from it by looking again at what was stored since, less an overlap (see
``tail``), so a resumed client may see an event twice but misses none.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from tripp.errors import FieldError, InvalidInput

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_PREFIX = "dash1"
_NAME = re.compile(r"^[a-z][a-z_]{0,31}$")
_MAX_CURSOR_CHARS = 64


def event(name: str, data: Mapping[str, Any], event_id: str | None = None) -> bytes:
    """One event. ``name``: lower-case letters and ``_``; ``data``: a JSON object (its
    compact form holds no line break, so one ``data:`` line carries it)."""
    if not _NAME.match(name):
        raise ValueError(f"name={name!r} is not an event name")
    lines = []
    if event_id is not None:
        if any(c in event_id for c in "\r\n\0"):
            raise ValueError(f"event_id={event_id!r} must be one line without NUL")
        lines.append(f"id: {event_id}".encode())
    lines.append(f"event: {name}".encode())
    lines.append(b"data: " + orjson.dumps(dict(data), option=orjson.OPT_NON_STR_KEYS))
    return b"\n".join(lines) + b"\n\n"


def comment(text: str) -> bytes:
    """A comment line (``: text``): clients ignore it; it keeps proxies from timing out."""
    if any(c in text for c in "\r\n"):
        raise ValueError(f"text={text!r} must be one line")
    return f": {text}\n\n".encode()


def retry(milliseconds: int) -> bytes:
    """How long a reconnecting client should wait."""
    if milliseconds < 0:
        raise ValueError(f"milliseconds={milliseconds} must be >= 0")
    return f"retry: {milliseconds}\n\n".encode()


def encode_cursor(at: datetime) -> str:
    """``at`` (aware) as an opaque token."""
    if at.tzinfo is None:
        raise ValueError(f"at={at!r} must be timezone-aware")
    micros = (at - _EPOCH) // timedelta(microseconds=1)
    return base64.urlsafe_b64encode(f"{_PREFIX}:{micros}".encode()).decode().rstrip("=")


def decode_cursor(token: str, field: str = "cursor") -> datetime:
    """The time a token stands for; InvalidInput naming ``field`` if it is not one of ours."""
    try:
        if len(token) > _MAX_CURSOR_CHARS:
            raise ValueError("too long")
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        kind, value = raw.split(":", 1)
        micros = int(value)
        if kind != _PREFIX or not 0 <= micros < 2**62:
            raise ValueError(raw)
        return _EPOCH + timedelta(microseconds=micros)
    except (ValueError, OverflowError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidInput([FieldError(field, "not a cursor this API gave out", "cursor")]) from exc
