"""Read and validate a corridor: a YAML file plus the GeoJSON file it names.

``load_corridor`` checks every rule of docs/corridor-format.md and collects
every broken one before raising ``CorridorInvalid``, so an operator fixes a
file in one pass instead of one error per run. Each error is a
``CorridorFieldError``: the file (the GeoJSON file for geometry errors), the
field path, the message and the rule's name.

This module reads the top level of the file; each section has its own
module (``offices``, ``geojson``, ``tariff``, ``currencies``, ``itineraries``,
``tracking_rules``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TypeVar

import yaml

from tripp.corridor.currencies import read_currencies
from tripp.corridor.export import corridor_to_dict
from tripp.corridor.fees import read_fees
from tripp.corridor.fields import WHOLE_FILE, CorridorFieldError, Node, Sink
from tripp.corridor.geojson import read_geometry
from tripp.corridor.itineraries import OfficeRefs, read_itineraries
from tripp.corridor.model import Corridor, CorridorInvalid
from tripp.corridor.offices import read_offices
from tripp.corridor.tariff import read_tariff
from tripp.corridor.tracking_rules import read_tracking_rules
from tripp.corridor.yamlsafe import load_yaml
from tripp.errors import FieldError

__all__ = ["CorridorFieldError", "bundled_corridor_path", "corridor_to_dict", "load_corridor"]

T = TypeVar("T")

FORMAT_VERSION = 1
_CORRIDOR_ID = re.compile(r"[A-Z0-9][A-Z0-9_-]{0,31}")


def load_corridor(path: Path | str) -> Corridor:
    """Read ``path`` (YAML) and the GeoJSON file it names, checking every rule.

    Raises ``CorridorInvalid`` listing every broken rule as ``CorridorFieldError``
    (file, field path, message, rule), including unreadable files and bad syntax.
    """
    path = Path(path)
    errors: list[FieldError] = []
    sink = Sink(str(path), errors)
    doc = _read_yaml(path, sink)
    corridor = _corridor(path, Node(sink, "", doc)) if not errors else None
    if corridor is None:
        raise CorridorInvalid(str(path), errors)
    return corridor


def bundled_corridor_path() -> Path:
    """The TRIPP corridor shipped with the package (its GeoJSON file sits beside it)."""
    return Path(__file__).parent / "data" / "tripp.yaml"


def _read_yaml(path: Path, sink: Sink) -> object:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        sink.add(WHOLE_FILE, f"cannot read the corridor file: {exc}", "file")
        return None
    try:
        return load_yaml(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        sink.add(WHOLE_FILE, f"not valid YAML: {where}{exc.problem}", "yaml-syntax")
    except yaml.YAMLError as exc:
        sink.add(WHOLE_FILE, f"not valid YAML: {exc}", "yaml-syntax")
    return None


def _sure(value: T | None) -> T:
    # Every parser returns None only after recording an error; _corridor
    # builds the Corridor only when there are none.
    assert value is not None, "a parser returned None without recording an error"
    return value


def _corridor(path: Path, root: Node) -> Corridor | None:
    if not root.is_mapping:
        return None
    _format_version(root)
    corridor_id = _corridor_id(root)
    name = root.text("name")
    description = root.text("description", required=False) or ""
    geometry = read_geometry(path, root)
    routes = None if geometry is None else geometry.routes
    declared = None if geometry is None else geometry.declared_modes
    buffer_m = _positive(root, "buffer_m", "buffer")
    time_limit_hours = _positive(root, "time_limit_hours", "time-limit")
    offices, known = read_offices(root, declared)
    tariff = read_tariff(root)
    currencies = read_currencies(root)
    itineraries = read_itineraries(root, OfficeRefs(offices, known, declared))
    tracking = read_tracking_rules(root)
    fees = read_fees(root, currencies)
    sources = _sources(root)
    extra = root.finish()
    for props, zone in geometry.stop_zones if geometry is not None else []:
        if zone.office is not None and zone.office not in known:
            props.error(
                "office", f"{zone.office!r} is not an office of this corridor", "office-ref"
            )
    if root.sink.errors:
        return None
    return Corridor(
        id=_sure(corridor_id),
        name=_sure(name),
        description=description,
        offices=offices,
        routes=_sure(routes),
        buffer_m=_sure(buffer_m),
        time_limit_hours=_sure(time_limit_hours),
        tariff=_sure(tariff),
        currencies=_sure(currencies),
        stop_zones=tuple(zone for _, zone in _sure(geometry).stop_zones),
        itineraries=_sure(itineraries),
        sources=sources,
        extra=extra,
        tracking=_sure(tracking),
        fees=fees,
    )


def _sources(root: Node) -> tuple[str, ...]:
    items = root.items("sources", required=False) or []
    texts = tuple(s for s in items if isinstance(s, str))
    if len(texts) != len(items):
        root.error("sources", "must be a list of strings", "type")
    return texts


def _format_version(root: Node) -> None:
    version = root.get("format", required=False)
    if version is not None and version != FORMAT_VERSION:
        message = f"this loader reads format {FORMAT_VERSION}, got {version!r}"
        root.error("format", message, "format-version")


def _corridor_id(root: Node) -> str | None:
    value = root.text("id")
    if value is not None and not _CORRIDOR_ID.fullmatch(value):
        message = (
            f"{value!r} must be 1-32 of A-Z, 0-9, '-' and '_', starting with a letter or digit"
        )
        root.error("id", message, "corridor-id")
        return None
    return value


def _positive(root: Node, key: str, rule: str) -> float | None:
    number = root.number(key)
    if number is not None and number <= 0:
        root.error(key, f"must be > 0, got {number}", rule)
        return None
    return None if number is None else float(number)
