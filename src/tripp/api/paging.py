"""Opaque cursors for paged lists."""

from __future__ import annotations

import base64
import binascii

from tripp.errors import FieldError, InvalidInput

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


def encode_cursor(seq: int | None) -> str | None:
    if seq is None:
        return None
    return base64.urlsafe_b64encode(f"seq:{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """The position to continue after; InvalidInput naming ``cursor`` if it is not ours."""
    if not cursor:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, value = raw.split(":", 1)
        seq = int(value)
        if kind != "seq" or not 0 <= seq < 2**63:
            raise ValueError(raw)
        return seq
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidInput(
            [FieldError("cursor", "not a cursor this API gave out", "cursor")]
        ) from exc
