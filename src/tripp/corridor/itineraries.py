"""The ``itineraries`` of a corridor file: named office sequences for one transport mode."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from tripp.corridor.fields import Node, transport_mode
from tripp.corridor.model import Itinerary, Office, OfficeRole, TransportMode

MAX_OFFICES_OF_TRANSIT = 9  # NCTS: a declaration holds up to 9 offices of transit
_UNREAD = object()  # sentinel: None is a value an itinerary may wrongly hold


@dataclass(frozen=True)
class OfficeRefs:
    """What an itinerary may refer to. ``known`` holds every office code in the file,
    valid or not, so an office with its own errors is not reported again as unknown."""

    offices: Mapping[str, Office]
    known: Collection[str]
    modes_with_route: Collection[TransportMode] | None


def read_itineraries(root: Node, refs: OfficeRefs) -> tuple[Itinerary, ...] | None:
    names: dict[str, int] = {}
    result: list[Itinerary | None] = []
    for i, raw in enumerate(root.items("itineraries", required=False) or []):
        node = Node(root.sink, f"itineraries[{i}]", raw)
        itinerary = _itinerary(node, refs)
        if itinerary is not None and itinerary.name in names:
            message = (
                f"{itinerary.name!r} is already the name of itineraries[{names[itinerary.name]}]"
            )
            node.error("name", message, "itinerary-unique")
            itinerary = None
        elif itinerary is not None:
            names[itinerary.name] = i
        result.append(itinerary)
    return None if None in result else tuple(r for r in result if r is not None)


def _itinerary(node: Node, refs: OfficeRefs) -> Itinerary | None:
    name = node.text("name")
    mode = transport_mode(node, "mode")
    routed = refs.modes_with_route
    if mode is not None and routed is not None and mode not in routed:
        node.error("mode", f"{mode.value!r} has no route in the GeoJSON file", "mode-route")
    departure = _office_ref(
        node, "office_of_departure", role=OfficeRole.DEPARTURE, mode=mode, refs=refs
    )
    transit = _transit_refs(node, mode, refs)
    destination = _office_ref(
        node, "office_of_destination", role=OfficeRole.DESTINATION, mode=mode, refs=refs
    )
    node.text("description", required=False)
    node.finish()
    if name is None or mode is None or departure is None or destination is None:
        return None
    return None if transit is None else Itinerary(name, mode, departure, transit, destination)


def _transit_refs(
    node: Node, mode: TransportMode | None, refs: OfficeRefs
) -> tuple[str, ...] | None:
    key = "offices_of_transit"
    codes = node.items(key, required=False) or []
    if len(codes) > MAX_OFFICES_OF_TRANSIT:
        message = f"at most {MAX_OFFICES_OF_TRANSIT} offices of transit, got {len(codes)}"
        node.error(key, message, "itinerary-transit-count")
    found = [
        _office_ref(node, f"{key}[{i}]", code, role=OfficeRole.TRANSIT, mode=mode, refs=refs)
        for i, code in enumerate(codes)
    ]
    for i, code in enumerate(found):
        if code is not None and code in found[:i]:
            node.error(f"{key}[{i}]", f"{code} is listed twice", "itinerary-transit-unique")
    valid = [c for c in found if c is not None]
    ok = len(valid) == len(codes) == len(set(valid)) <= MAX_OFFICES_OF_TRANSIT
    return tuple(valid) if ok else None


def _office_ref(
    node: Node,
    key: str,
    code: object = _UNREAD,
    *,
    role: OfficeRole,
    mode: TransportMode | None,
    refs: OfficeRefs,
) -> str | None:
    """The office code at ``key`` if it names an office with ``role`` that handles ``mode``.

    ``code`` is the value when the caller has read it (an item of a list); by
    default it is read from ``node``, where a missing value is reported as required.
    """
    if code is _UNREAD:
        code = node.get(key)
        if code is None:
            return None
    office = refs.offices.get(code) if isinstance(code, str) else None
    if office is None:
        if not isinstance(code, str) or code not in refs.known:
            node.error(key, f"{code!r} is not an office of this corridor", "office-ref")
        return None
    if role not in office.roles:
        roles = ", ".join(sorted(office.roles))
        node.error(
            key, f"{code} is not an office of {role.value} (its roles: {roles})", "itinerary-role"
        )
        return None
    if mode is not None and mode not in office.modes:
        node.error(key, f"{code} does not handle {mode.value}", "itinerary-mode")
        return None
    return office.code
