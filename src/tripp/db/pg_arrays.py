"""PostgreSQL arrays in binary, encoded a column at a time, for the tracking hot path.

Tracking ingest sends each batch of fixes as one statement with a column per array (one
fixed statement text whatever the batch size; see ``tracking.store``). psycopg dumps a
list parameter element by element in Python, about 200 ns an element: for a batch of
500 fixes, 14 arrays, that was a tenth of the worker's CPU. Here a column of floats or
timestamps is packed by NumPy (about 20 ns an element) and a column of strings in one
join (about 120 ns).

Each ``*_array`` function returns ``bytes`` in PostgreSQL's binary array format (see
``array_recv``: dimensions, a has-nulls flag, the element type, the dimension and its
lower bound, then each element as a length and its bytes, -1 for NULL), typed as a
subclass that ``register`` teaches a connection to send with the array's type. Pass it
with a binary placeholder (``%(name)b``).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, TypeVar

import numpy as np
from psycopg.adapt import AdaptersMap, Dumper
from psycopg.pq import Format

_HEADER = struct.Struct(">iiiii")  # ndim, has nulls, element type, length, lower bound
_EMPTY = struct.Struct(">iii")  # ndim 0, no nulls, element type
_LENGTH = struct.Struct(">i").pack
_NULL = _LENGTH(-1)
_FLOAT8 = struct.Struct(">id").pack  # length 8, value
_INT8 = struct.Struct(">iq").pack
_TRUE, _FALSE = b"\x00\x00\x00\x01\x01", b"\x00\x00\x00\x01\x00"
# An element of a fixed-width column without NULLs: its length (always 8), its value.
_FLOAT8_ITEM = np.dtype([("length", ">i4"), ("value", ">f8")])
_INT8_ITEM = np.dtype([("length", ">i4"), ("value", ">i8")])
_PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)  # timestamps count microseconds from here
_MICROSECOND = timedelta(microseconds=1)
TEXT_ITEMS_KEPT = 50_000  # strings whose encoded element is kept; then it starts afresh
TEXT_ITEM_KEPT_CHARS = 64  # the longest kept: a device id
_TEXT_ITEMS: dict[str, bytes] = {}


class EncodedArray(bytes):
    """An array already in PostgreSQL's binary format; ``oid`` is the array's type."""

    oid: ClassVar[int]
    element_oid: ClassVar[int]


class TextArray(EncodedArray):
    oid, element_oid = 1009, 25


class Float8Array(EncodedArray):
    oid, element_oid = 1022, 701


class Int8Array(EncodedArray):
    oid, element_oid = 1016, 20


class BoolArray(EncodedArray):
    oid, element_oid = 1000, 16


class TimestamptzArray(EncodedArray):
    oid, element_oid = 1185, 1184


_A = TypeVar("_A", bound=EncodedArray)


def _array(kind: type[_A], count: int, nulls: bool, body: bytes) -> _A:
    if not count:
        return kind(_EMPTY.pack(0, 0, kind.element_oid))
    return kind(_HEADER.pack(1, int(nulls), kind.element_oid, count, 1) + body)


def _packed(kind: type[_A], item: np.dtype[Any], values: Any) -> _A:
    """A column of 8-byte elements without NULLs, packed by NumPy in one pass."""
    items = np.empty(len(values), item)
    items["length"] = 8
    items["value"] = values
    return _array(kind, len(values), False, items.tobytes())


def text_array(values: Sequence[str | None]) -> TextArray:
    """``text[]``; raises ``UnicodeEncodeError`` on a string UTF-8 cannot hold."""
    # Short strings' elements (length and bytes) are kept: a worker sends the same device
    # ids and MRNs batch after batch, and a dictionary lookup costs a third of encoding one.
    # Longer ones (JSON documents) seldom repeat and are encoded each time.
    items = _TEXT_ITEMS
    if len(items) > TEXT_ITEMS_KEPT:
        items.clear()
    get = items.get
    body = b"".join([_NULL if v is None else get(v) or _text_item(v) for v in values])
    return _array(TextArray, len(values), None in values, body)


def _text_item(value: str) -> bytes:
    encoded = value.encode()
    item = _LENGTH(len(encoded)) + encoded
    if len(value) <= TEXT_ITEM_KEPT_CHARS:
        _TEXT_ITEMS[value] = item
    return item


def float8_array(values: Sequence[float | None]) -> Float8Array:
    """``float8[]``; ints are taken as floats."""
    # NumPy reads None as NaN: where a NaN shows, the elements are written one by one, so
    # that a None is sent as NULL and a NaN as NaN.
    floats = np.array(values, np.float64)
    if np.isnan(floats).any():
        nulls = None in values
        body = b"".join([_NULL if v is None else _FLOAT8(8, v) for v in values])
        return _array(Float8Array, len(values), nulls, body)
    return _packed(Float8Array, _FLOAT8_ITEM, floats)


def int8_array(values: Sequence[int | None]) -> Int8Array:
    """``int8[]``; raises ``OverflowError`` beyond 64 bits."""
    if None in values:
        body = b"".join([_NULL if v is None else _INT8(8, v) for v in values])
        return _array(Int8Array, len(values), True, body)
    return _packed(Int8Array, _INT8_ITEM, values)


def bool_array(values: Sequence[bool | None]) -> BoolArray:
    nulls = None in values
    body = b"".join([_NULL if v is None else _TRUE if v else _FALSE for v in values])
    return _array(BoolArray, len(values), nulls, body)


def timestamptz_array(values: Sequence[datetime]) -> TimestamptzArray:
    """``timestamptz[]`` of aware datetimes (a naive one raises ``TypeError``)."""
    return _packed(TimestamptzArray, _INT8_ITEM, [(v - _PG_EPOCH) // _MICROSECOND for v in values])


class _EncodedArrayDumper(Dumper):
    format = Format.BINARY

    def dump(self, obj: bytes) -> bytes:
        return obj


def register(adapters: AdaptersMap) -> None:
    """Let connections using ``adapters`` send the encoded arrays with their types."""
    for kind in (TextArray, Float8Array, Int8Array, BoolArray, TimestamptzArray):
        dumper = type(f"{kind.__name__}Dumper", (_EncodedArrayDumper,), {"oid": kind.oid})
        adapters.register_dumper(kind, dumper)
