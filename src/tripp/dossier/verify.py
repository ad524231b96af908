"""Check a dossier offline against the parties' public keys (pure, no I/O).

What passes proves: the exporting party signed exactly this file (any altered field breaks
its signature); every event signed by an authority carries that authority's valid
signature; each audit entry matches its own hash; and every event has its audit entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from tripp.audit.chain import Note, digest
from tripp.signing.documents import canonical
from tripp.signing.keys import verify as verify_signature

_EVENT_FIELDS = ("mrn", "id", "type", "office", "at", "recorded_by", "payload",
                 "state_before", "state_after")  # fmt: skip


def trusted_keys(keys: Any) -> dict[str, tuple[str, str]]:
    """key_id -> (party, public key) from a ``tripp keys export`` file."""
    found: dict[str, tuple[str, str]] = {}
    for k in keys.get("keys", []) if isinstance(keys, dict) else []:
        found[str(k["key_id"])] = (str(k["party"]), str(k["public_key"]))
    return found


def verify(dossier: Any, keys: Mapping[str, tuple[str, str]]) -> list[str]:
    """Every problem found, each naming what failed; empty when the dossier holds."""
    if not isinstance(dossier, dict) or not isinstance(dossier.get("signature"), dict):
        return ["the file is not a tripp dossier (no signature)"]
    problems: list[str] = []
    body = {k: v for k, v in dossier.items() if k != "signature"}
    sig = dossier["signature"]
    problems += _signed_by(keys, sig.get("key_id"), sig.get("party"), canonical(body),
                           sig.get("value"), "the dossier")  # fmt: skip
    for i, event in enumerate(_list(body, "events")):
        where = f"events[{i}] ({event.get('id')})"
        if event.get("signature") is None:
            continue  # recorded by a carrier or a party without a key: nothing to check
        document = {k: event.get(k) for k in _EVENT_FIELDS}
        problems += _signed_by(keys, event.get("key_id"), event.get("recorded_by"),
                               canonical(document), event["signature"], where)  # fmt: skip
    problems += _audit(body)
    return problems


def _signed_by(
    keys: Mapping[str, tuple[str, str]],
    key_id: Any,
    party: Any,
    data: bytes,
    signature: Any,
    what: str,
) -> list[str]:
    known = keys.get(str(key_id))
    if known is None:
        return [f"{what} is signed with key {key_id}, which is not among the trusted keys"]
    if known[0] != party:
        return [f"{what} claims {party} but key {key_id} belongs to {known[0]}"]
    if not isinstance(signature, str) or not verify_signature(known[1], data, signature):
        return [f"{what}: the signature of {party} does not match the content"]
    return []


def _audit(body: Mapping[str, Any]) -> list[str]:
    problems = []
    audit = body.get("audit") if isinstance(body.get("audit"), dict) else {}
    entries = _list(audit, "entries")
    noted = set()
    for e in entries:
        try:
            note = Note(e["action"], e["subject"], e["party"], e["role"], e["detail"])
            ok = (
                digest(e["prev_hash"], e["seq"], datetime.fromisoformat(e["at"]), note) == e["hash"]
            )
        except (KeyError, TypeError, ValueError):
            ok = False
        if not ok:
            problems.append(f"audit entry {e.get('seq')} does not match its hash")
        detail = e.get("detail")
        if isinstance(detail, dict) and "event_id" in detail:
            noted.add(detail["event_id"])
    for i, event in enumerate(_list(body, "events")):
        if event.get("id") not in noted:
            problems.append(f"events[{i}] ({event.get('id')}) has no entry in the audit log")
    return problems


def _list(body: Any, key: str) -> list[dict[str, Any]]:
    value = body.get(key) if isinstance(body, dict) else None
    return [x for x in value if isinstance(x, dict)] if isinstance(value, list) else []
