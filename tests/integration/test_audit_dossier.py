"""The audit log and signed dossiers against a real store (SQLite and PostgreSQL): a
lifecycle leaves one chained entry per change and per cross-party read; tampering in the
database is named by ``tripp audit verify``; a dossier verifies offline with only the
public keys, and fails once any field is altered."""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select, text, update
from typer.testing import CliRunner

from tests.conftest import Tokens, mint_tokens
from tests.integration.conftest import Api
from tripp.api.app import create_app
from tripp.audit import store as audit_store
from tripp.audit.chain import verify
from tripp.bootstrap import Wiring, utc_now, wire
from tripp.cli import app as cli
from tripp.config import Settings
from tripp.db.tables import audit_log, events
from tripp.dossier.export import export
from tripp.dossier.verify import trusted_keys
from tripp.dossier.verify import verify as verify_dossier
from tripp.signing import store as key_store

SIGNERS = ("AZ-CUSTOMS", "AM-CUSTOMS", "CORRIDOR-OPERATOR", "SYSTEM")


@pytest.fixture
def signed(database_url: str, tmp_path: Path) -> Iterator[tuple[Wiring, Tokens]]:
    w = wire(Settings(database_url=database_url, fees_enforced=False,
                      keys_dir=str(tmp_path / "keys")))  # fmt: skip
    w.upgrade()
    for party in SIGNERS:
        pair = w.keyring.create(party)
        with w.context.uow.write() as conn:
            key_store.publish(conn, pair, utc_now())
    yield w, mint_tokens(w)
    w.engine.dispose()


@pytest.fixture
def api(signed: tuple[Wiring, Tokens]) -> Iterator[Api]:
    w, tokens = signed
    with TestClient(create_app(w, run_jobs=False), raise_server_exceptions=False) as client:
        yield Api(client, tokens, w.corridor)


def _journey(api: Api) -> str:
    t, it = api.tokens, api.itinerary
    g = api.guarantee("100000.00")
    assert api.call("POST", "/devices", t.az_customs,
                    json={"id": "TRK-A1", "kind": "eseal"}).status_code == 201  # fmt: skip
    mrn = str(api.lodge(g["grn"]).json()["mrn"])
    steps = [
        (t.az_customs, "release", it.office_of_departure, {"seals": ["S-1"], "tracker_id": "TRK-A1"}),
        (t.am_customs, "border_crossing", it.offices_of_transit[0], {"direction": "entry"}),
        (t.am_customs, "border_crossing", it.offices_of_transit[-1], {"direction": "exit"}),
        (t.az_customs, "arrival", it.office_of_destination, {}),
    ]  # fmt: skip
    for token, kind, office, payload in steps:
        r = api.event(mrn, token, kind, office, **payload)
        assert r.status_code == 201, r.text
    assert api.call("GET", f"/movements/{mrn}", t.am_customs).status_code == 200
    assert api.call("GET", f"/movements/{mrn}", t.carrier).status_code == 200
    return mrn


def _entries(w: Wiring) -> list[Any]:
    with w.context.uow.read() as conn:
        return list(audit_store.entries(conn))


def test_a_lifecycle_is_logged_in_order_with_cross_party_reads(api: Api, signed: Any) -> None:
    w, _ = signed
    mrn = _journey(api)
    mine = [e for e in _entries(w) if e.subject == mrn]
    assert [e.action for e in mine] == [
        "movement.lodge", "movement.release", "movement.border_crossing",
        "movement.border_crossing", "movement.arrival", "read.movement",
    ]  # fmt: skip
    # The customs' read is logged; the holder reading its own movement is not.
    assert (mine[-1].party, mine[-1].detail) == ("AM-CUSTOMS", {"owner": "AZ-CARRIER-0001"})
    entries = _entries(w)
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    with w.context.uow.read() as conn:
        assert verify(entries, [audit_store.head(conn)]).ok


def test_a_refused_command_leaves_no_entry(api: Api, signed: Any) -> None:
    w, _ = signed
    mrn = _journey(api)
    before = len(_entries(w))
    r = api.event(mrn, api.tokens.am_customs, "release", api.itinerary.office_of_departure)
    assert r.status_code in (403, 409, 422)
    assert len(_entries(w)) == before


def test_events_of_authorities_are_signed_and_carriers_are_not(api: Api, signed: Any) -> None:
    w, _ = signed
    mrn = _journey(api)
    r = api.event(mrn, api.tokens.carrier, "incident", None, description="tyre", id="inc-1")
    with w.context.uow.read() as conn:
        rows = conn.execute(select(events.c.type, events.c.recorded_by, events.c.key_id)
                            .where(events.c.mrn == mrn).order_by(events.c.seq)).all()  # fmt: skip
    ids = {p: w.keyring.get(p).key_id for p in SIGNERS}  # type: ignore[union-attr]
    for row in rows:
        expected = None if row.recorded_by.startswith("AZ-CARRIER") else ids[row.recorded_by]
        assert row.key_id == expected, row
    assert r.status_code in (201, 403, 409, 422)


def _verify_cli(w: Wiring, *args: str) -> tuple[int, str]:
    env = {"TRIPP_DATABASE_URL": w.settings.database_url, "TRIPP_KEYS_DIR": w.settings.keys_dir}
    result = CliRunner().invoke(cli, ["audit", "verify", *args], env=env)
    return result.exit_code, result.stdout + result.stderr


def test_verify_passes_an_untouched_log(api: Api, signed: Any) -> None:
    w, _ = signed
    _journey(api)
    code, out = _verify_cli(w)
    assert code == 0, out
    assert f"{len(_entries(w))} entries" in out


def _tamper(w: Wiring, statement: Any) -> None:
    with w.engine.begin() as conn:
        conn.execute(statement)


def test_an_edited_entry_is_named(api: Api, signed: Any) -> None:
    w, _ = signed
    _journey(api)
    _tamper(w, update(audit_log).where(audit_log.c.seq == 4).values(party="AZ-CUSTOMS"))
    code, out = _verify_cli(w)
    assert code == 1 and "entry 4 (altered)" in out, out


def test_a_deleted_entry_is_named(api: Api, signed: Any) -> None:
    w, _ = signed
    _journey(api)
    _tamper(w, delete(audit_log).where(audit_log.c.seq == 5))
    code, out = _verify_cli(w)
    assert code == 1 and "entry 5 (removed)" in out, out


def test_reordered_entries_are_named(api: Api, signed: Any) -> None:
    w, _ = signed
    _journey(api)
    with w.engine.begin() as conn:  # swap 6 and 7 through a free number
        conn.execute(update(audit_log).where(audit_log.c.seq == 6).values(seq=-1))
        conn.execute(update(audit_log).where(audit_log.c.seq == 7).values(seq=6))
        conn.execute(update(audit_log).where(audit_log.c.seq == -1).values(seq=7))
    code, out = _verify_cli(w)
    assert code == 1 and "entry 6 (reordered)" in out, out


def test_the_newest_entries_removed_show_against_a_kept_signed_head(
    api: Api, signed: Any, tmp_path: Path
) -> None:
    w, _ = signed
    _journey(api)
    env = {"TRIPP_DATABASE_URL": w.settings.database_url, "TRIPP_KEYS_DIR": w.settings.keys_dir}
    runner = CliRunner()
    head_file, keys_file = tmp_path / "head.json", tmp_path / "keys.json"
    assert runner.invoke(cli, ["audit", "head", "--sign-as", "AM-CUSTOMS", "--out",
                               str(head_file)], env=env).exit_code == 0  # fmt: skip
    assert runner.invoke(cli, ["keys", "export", "--out", str(keys_file)], env=env).exit_code == 0
    last = len(_entries(w))
    # A forger who also rolls the head row back leaves no trace in the database itself.
    _tamper(w, delete(audit_log).where(audit_log.c.seq >= last - 1))
    prev = _entries(w)[-1]
    _tamper(w, text(f"UPDATE audit_head SET seq = {prev.seq}, hash = '{prev.hash}'"))
    assert _verify_cli(w)[0] == 0  # without a kept head, the truncation is invisible
    code, out = _verify_cli(w, "--head", str(head_file), "--keys", str(keys_file))
    assert code == 1 and f"entry {last - 1} (truncated)" in out, out
    # A kept head whose signature was forged is refused outright.
    forged = json.loads(head_file.read_text())
    forged["seq"] = 1
    head_file.write_text(json.dumps(forged))
    code, out = _verify_cli(w, "--head", str(head_file), "--keys", str(keys_file))
    assert code == 1 and "signature does not verify" in out


def test_concurrent_writers_build_one_gapless_chain(api: Api, signed: Any) -> None:
    w, _ = signed
    g = api.guarantee("900000.00")
    errors: list[str] = []

    def lodge() -> None:
        for _ in range(5):
            r = api.lodge(g["grn"])
            if r.status_code != 201:
                errors.append(r.text)

    threads = [threading.Thread(target=lodge) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    entries = _entries(w)
    assert sum(e.action == "movement.lodge" for e in entries) == 20
    assert verify(entries).ok
    with w.context.uow.read() as conn:
        assert conn.execute(select(func.count()).select_from(audit_log)).scalar() == len(entries)


# --- dossiers ------------------------------------------------------------------------------


def _dossier(api: Api, signed: Any) -> tuple[dict[str, Any], dict[str, tuple[str, str]]]:
    w, _ = signed
    mrn = _journey(api)
    with w.context.uow.read() as conn:
        keys = trusted_keys({"keys": key_store.public_keys(conn)})
    pair = w.keyring.get("CORRIDOR-OPERATOR")
    return export(w.context.uow, mrn, pair, utc_now()), keys


def test_an_unaltered_dossier_verifies_with_only_the_public_keys(api: Api, signed: Any) -> None:
    dossier, keys = _dossier(api, signed)
    assert verify_dossier(json.loads(json.dumps(dossier)), keys) == []
    assert [e["type"] for e in dossier["events"]] == [
        "release", "border_crossing", "border_crossing", "arrival"]  # fmt: skip
    assert all(e["signature"] for e in dossier["events"])
    assert dossier["audit"]["entries"] and dossier["track"] == {"fixes": 0}


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*prefix, i))
    else:
        yield prefix


def _altered(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1
    if value is None:
        return "x"
    return str(value) + "x"


def test_a_dossier_altered_in_any_field_fails(api: Api, signed: Any) -> None:
    dossier, keys = _dossier(api, signed)
    paths = list(_paths(dossier))
    assert len(paths) > 100
    for path in paths:
        forged = copy.deepcopy(dossier)
        node = forged
        for step in path[:-1]:
            node = node[step]
        node[path[-1]] = _altered(node[path[-1]])
        assert verify_dossier(forged, keys), f"altering {path} went unnoticed"


def test_a_dossier_fails_against_another_party_s_keys(api: Api, signed: Any) -> None:
    dossier, keys = _dossier(api, signed)
    operator = dossier["signature"]["key_id"]
    problems = verify_dossier(dossier, {k: v for k, v in keys.items() if k != operator})
    assert problems and "not among the trusted keys" in problems[0]
