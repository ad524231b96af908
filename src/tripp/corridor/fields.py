"""Reading a corridor file field by field, collecting every broken rule.

A ``Node`` wraps one mapping of the input. Its readers (``text``, ``number``,
``items``, ...) never raise: they return the checked value, or None when the
value is absent or broken, recording a ``CorridorFieldError`` in the ``Sink``
for a broken value and for a missing required one. Errors are collected
rather than raised so that an operator fixes a file in one pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, TypeVar

from tripp.corridor.model import TransportMode
from tripp.errors import FieldError

E = TypeVar("E", bound=StrEnum)
LonLat = tuple[float, float]

WHOLE_FILE = "(file)"  # the field name of errors about a file as a whole
_EXTENSION_PREFIX = "x_"  # keys kept as is, for the operator's own data


@dataclass(frozen=True)
class CorridorFieldError(FieldError):
    """A broken rule in a corridor file; ``file`` is the YAML or the GeoJSON file."""

    file: str = ""


@dataclass
class Sink:
    """Where the broken rules of one file go; ``errors`` is shared by both files."""

    file: str
    errors: list[FieldError]

    def add(self, path: str, message: str, rule: str) -> None:
        self.errors.append(CorridorFieldError(path, message, rule, file=self.file))


def kind_of(value: object) -> str:
    """How an error message names the type of ``value``: "a string", "a list", ..."""
    names = {bool: "a boolean", int: "a number", Decimal: "a number", float: "a number"}
    names |= {str: "a string", list: "a list", dict: "a mapping", type(None): "nothing"}
    return names.get(type(value), type(value).__name__)


def to_decimal(value: object) -> Decimal | None:
    """The exact value of a number or numeric string; None unless finite."""
    if isinstance(value, bool):
        return None
    try:
        if isinstance(value, int | Decimal):
            number = Decimal(value)
        elif isinstance(value, float | str):
            number = Decimal(str(value).strip())  # via str: 0.1 stays 0.1, not a binary float
        else:
            return None
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


class Node:
    """One mapping of the input, read key by key; keys never read are reported as unknown."""

    def __init__(self, sink: Sink, path: str, raw: object) -> None:
        self.sink = sink
        self.path = path
        self.is_mapping = isinstance(raw, dict)
        self._raw: dict[Any, Any] = raw if isinstance(raw, dict) else {}
        self._read: set[str] = set()
        if not self.is_mapping:
            self.sink.add(path or WHOLE_FILE, f"must be a mapping, got {kind_of(raw)}", "type")

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def error(self, key: str, message: str, rule: str) -> None:
        self.sink.add(self.at(key), message, rule)

    def get(self, key: str, *, required: bool = True) -> object:
        self._read.add(key)
        value = self._raw.get(key)
        if value is None and required and self.is_mapping:
            self.error(key, "is required", "required")
        return value

    def _typed(self, key: str, value: object, expected: str) -> None:
        self.error(key, f"must be {expected}, got {kind_of(value)} {value!r}", "type")

    def text(self, key: str, *, required: bool = True) -> str | None:
        value = self.get(key, required=required)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self._typed(key, value, "a non-empty string")
            return None
        return value

    def number(self, key: str) -> Decimal | None:
        value = self.get(key)
        number = None if value is None else to_decimal(value)
        if value is not None and number is None:
            self._typed(key, value, "a finite number")
        return number

    def flag(self, key: str) -> bool:
        value = self.get(key, required=False)
        if value is not None and not isinstance(value, bool):
            self._typed(key, value, "true or false")
        return value is True

    def items(self, key: str, *, required: bool = True) -> list[object] | None:
        value = self.get(key, required=required)
        if value is not None and not isinstance(value, list):
            self._typed(key, value, "a list")
            return None
        return value

    def child(self, key: str) -> Node | None:
        value = self.get(key)
        return None if value is None else Node(self.sink, self.at(key), value)

    def entries(self) -> list[tuple[str, object]]:
        """Every key and value, for mappings keyed by data (e.g. currency codes)."""
        self._read.update(str(k) for k in self._raw)
        return [(str(k), v) for k, v in self._raw.items()]

    def finish(self) -> dict[str, Any]:
        """Report unknown keys (typos); return the extension keys, which are kept as is."""
        extensions = {}
        for key in self._raw:
            if str(key).startswith(_EXTENSION_PREFIX):
                extensions[str(key)] = self._raw[key]
            elif key not in self._read:
                allowed = ", ".join(sorted(self._read))
                self.error(str(key), f"unknown field; expected one of: {allowed}", "unknown-field")
        return extensions


def enum_set(node: Node, key: str, enum: type[E], rule: str) -> frozenset[E] | None:
    """A non-empty list of enum values, e.g. roles: [departure, destination]."""
    values = node.items(key)
    if values is None:
        return None
    allowed = [e.value for e in enum]
    if not values:
        node.error(key, f"must list at least one of: {', '.join(allowed)}", rule)
        return None
    found: set[E] = set()
    for i, value in enumerate(values):
        if isinstance(value, str) and value in allowed:
            found.add(enum(value))
        else:
            node.error(f"{key}[{i}]", f"{value!r} is not one of: {', '.join(allowed)}", rule)
    return frozenset(found) if len(found) == len(set(map(repr, values))) else None


def transport_mode(node: Node, key: str) -> TransportMode | None:
    value = node.text(key)
    if value is not None and value not in set(TransportMode):
        node.error(key, f"{value!r} is not one of: road, rail", "mode")
        return None
    return None if value is None else TransportMode(value)


def lonlat(sink: Sink, where: str, value: object) -> LonLat | None:
    """A [lon, lat] (or [lon, lat, elevation]) position in WGS 84 degrees."""
    numbers = [to_decimal(v) for v in value] if isinstance(value, list) else []
    coords = [float(n) for n in numbers if n is not None]
    if len(coords) != len(numbers) or len(coords) not in (2, 3):
        sink.add(where, f"must be [longitude, latitude] in degrees, got {value!r}", "lonlat")
        return None
    lon, lat = coords[0], coords[1]
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        message = f"[{lon}, {lat}] is out of range: longitude -180..180, latitude -90..90"
        sink.add(where, message, "lonlat")
        return None
    return (lon, lat)
