"""No secret and no identity document reaches a log line, even at debug level.

A real server (``tripp serve``, SQLite) logs at debug while it serves a full round of calls:
tokens minted with the CLI, a declaration's lifecycle, failed authentications, a traveller
announcement with passport data and its MRZ, a manifest, a screening and a webhook with its
secret. Then its whole output (stdout and stderr) is searched for each secret.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.integration.conftest import declaration_body, road_itinerary
from tests.integration.live import LiveServer
from tripp.api.app import create_app
from tripp.bootstrap import wire
from tripp.config import Settings
from tripp.corridor.loader import bundled_corridor_path, load_corridor

OFFICE = "AM000101"
ROLES = {
    "admin": ("SYSTEM", "admin"),
    "az_customs": ("AZ-CUSTOMS", "customs"),
    "am_customs": ("AM-CUSTOMS", "customs"),
    "operator": ("CORRIDOR-OPERATOR", "operator"),
    "carrier": ("AZ-CARRIER-0001", "carrier"),
}
WEBHOOK_SECRET = "whsec-Qx7pL2vN9rT4kZ8m"
# The ICAO Doc 9303 part 4 specimen, and two made-up travellers with unusual names.
SPECIMEN_MRZ = (
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
)
FUTURE = (date.today() + timedelta(days=900)).isoformat()
PEOPLE = [
    {"document_type": "P", "document_number": "L898902C3", "issuing_state": "UTO",
     "nationality": "UTO", "surname": "ERIKSSON", "given_names": "ANNA MARIA",
     "birth_date": "1974-08-12", "sex": "F", "expiry": "2012-04-15",
     "mrz_line1": SPECIMEN_MRZ[0], "mrz_line2": SPECIMEN_MRZ[1]},
    {"document_type": "P", "document_number": "C01X00T47", "issuing_state": "AZE",
     "nationality": "AZE", "surname": "QULIZADEYEV", "given_names": "ZAURBEK",
     "birth_date": "1980-05-14", "sex": "M", "expiry": FUTURE},
]  # fmt: skip
MANIFEST_PEOPLE = [
    ("P", "K7W93Q104", "ARM", "ARM", "HOVSEPYANTZ", "VARDGESIK", "1991-02-03", "M", FUTURE),
    ("P", "U55R8M2Z1", "AZE", "AZE", "VELIKHANLOVA", "SEVINJAQ", "1985-11-30", "F", FUTURE),
]
MANIFEST = "document_type,document_number,issuing_state,nationality,surname,given_names,"
MANIFEST += "birth_date,sex,expiry\n" + "".join(",".join(p) + "\n" for p in MANIFEST_PEOPLE)


def _env(database_url: str) -> dict[str, str]:
    return {**os.environ, "TRIPP_DATABASE_URL": database_url, "TRIPP_LOG_LEVEL": "debug"}


def _cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "tripp", *args],
        env=_env(database_url),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done


def _mint(database_url: str) -> dict[str, str]:
    """Tokens from ``tripp token create``: the token alone on stdout, nothing of it on stderr."""
    _cli(database_url, "party", "add", "AZ-CARRIER-0001", "--role", "carrier", "--country", "AZ")
    tokens = {}
    for name, (party, role) in ROLES.items():
        done = _cli(database_url, "token", "create", "--party", party, "--role", role)
        token = done.stdout.strip()
        assert done.stdout == token + "\n", "stdout carries the token line alone"
        assert _random_part(token) not in done.stderr, f"{name}'s token on stderr"
        tokens[name] = token
    return tokens


def _random_part(token: str) -> str:
    return token.split("_", 2)[2]


class Client:
    def __init__(self, url: str, tokens: dict[str, str], http: httpx.Client | None = None) -> None:
        self.http = http or httpx.Client(base_url=url, timeout=30)
        self.tokens = tokens

    def call(self, method: str, path: str, role: str | None, **kw: Any) -> httpx.Response:
        headers = kw.pop("headers", {})
        if role is not None:
            headers["Authorization"] = f"Bearer {self.tokens.get(role, role)}"
        return self.http.request(method, "/api/v1" + path, headers=headers, **kw)

    def ok(self, status: int, method: str, path: str, role: str, **kw: Any) -> dict[str, Any]:
        r = self.call(method, path, role, **kw)
        assert r.status_code == status, f"{method} {path}: {r.status_code} {r.text}"
        return dict(r.json()) if r.content else {}


def _event(c: Client, mrn: str, role: str, type_: str, **payload: Any) -> None:
    at = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    body = {"id": f"ev-{type_}-{mrn}", "type": type_, "at": at, **payload}
    c.ok(201, "POST", f"/movements/{mrn}/events", "carrier" if role == "carrier" else role,
         json=body)  # fmt: skip


def _lifecycle(c: Client) -> None:
    itinerary = road_itinerary(load_corridor(bundled_corridor_path()))
    grn = c.ok(201, "POST", "/guarantees", "az_customs",
               json={"holder": "AZ-CARRIER-0001", "reference_amount": "90000.00",
                     "currency": "USD"})["grn"]  # fmt: skip
    c.ok(201, "POST", "/devices", "admin", json={"id": "HYG-TRK-1", "kind": "tracker"})
    mrn = c.ok(201, "POST", "/movements", "carrier",
               json=declaration_body(itinerary, grn))["mrn"]  # fmt: skip
    _event(c, mrn, "az_customs", "release", office=itinerary.office_of_departure,
           seals=["HYG-S-1"], tracker_id="HYG-TRK-1")  # fmt: skip
    c.ok(201, "POST", f"/offices/{OFFICE}/screenings", "am_customs", json={"mrn": mrn})
    _event(c, mrn, "carrier", "incident", kind="other", notes="a flat tyre")
    _event(c, mrn, "az_customs", "arrival", office=itinerary.office_of_destination)
    _event(c, mrn, "az_customs", "control_result", office=itinerary.office_of_destination,
           outcome="satisfactory")  # fmt: skip
    c.ok(200, "GET", f"/movements/{mrn}/events", "operator")


def _failed_authentications(c: Client) -> list[str]:
    real_id = c.tokens["carrier"].split("_")[1]
    guesses = [
        f"tripp_{'0' * 12}_{'G' * 43}",  # well shaped, unknown
        f"tripp_{real_id}_{'H' * 43}",  # a real token's id, a guessed secret
        "not a token at all {}",  # malformed
    ]
    for guess in guesses:
        assert c.call("GET", "/movements", guess).status_code == 401
    return guesses


def _travellers(c: Client) -> None:
    body = {"id": "HYG-BUS-1", "vehicle_id": "10-HYG-01", "vehicle_class": "bus",
            "office": OFFICE, "travellers": PEOPLE}  # fmt: skip
    view = c.ok(201, "POST", "/vehicles", "carrier", json=body)
    c.ok(200, "GET", "/vehicles/HYG-BUS-1", "am_customs")
    refused = view["travellers"][0]["id"]
    c.ok(200, "POST", f"/travellers/{refused}/decision", "am_customs",
         json={"outcome": "refused", "note": "document expired"})  # fmt: skip
    c.ok(201, "POST", "/vehicles/HYG-BUS-2/manifest", "operator",
         params={"vehicle_id": "10-HYG-02", "vehicle_class": "bus", "office": OFFICE},
         content=MANIFEST, headers={"Content-Type": "text/csv"})  # fmt: skip
    # A broken row: the error names the row and column, never echoes a document to the log.
    bad = MANIFEST.replace("1991-02-03", "1991-02-31")
    r = c.call("POST", "/vehicles/HYG-BUS-3/manifest", "operator",
               params={"vehicle_id": "10-HYG-03", "vehicle_class": "bus", "office": OFFICE},
               content=bad, headers={"Content-Type": "text/csv"})  # fmt: skip
    assert r.status_code == 422, r.text


def _webhook(c: Client) -> None:
    body = {"url": "http://127.0.0.1:9/hook", "kinds": ["seal_opened"], "secret": WEBHOOK_SECRET}
    c.ok(201, "POST", "/webhooks", "carrier", json=body)


def _secrets(tokens: dict[str, str], guesses: list[str]) -> dict[str, str]:
    found = {f"token {name}": t for name, t in tokens.items()}
    found |= {f"token {name} (random part)": _random_part(t) for name, t in tokens.items()}
    found |= {f"guessed token {i}": g for i, g in enumerate(guesses)}
    found["webhook secret"] = WEBHOOK_SECRET
    found |= {f"MRZ line {i + 1}": line for i, line in enumerate(SPECIMEN_MRZ)}
    for p in PEOPLE:
        for key in ("document_number", "surname", "given_names"):
            found[f"traveller {key} {p[key]}"] = p[key]
    for row in MANIFEST_PEOPLE:
        found |= {f"manifest document {row[1]}": row[1], f"manifest surname {row[4]}": row[4]}
        found[f"manifest given names {row[5]}"] = row[5]
    return found


@pytest.fixture
def server(tmp_path: Path) -> Any:
    url = f"sqlite:///{tmp_path / 'tripp.db'}"
    tokens = _mint(url)
    live = LiveServer(url, tmp_path / "server.log", env={"TRIPP_LOG_LEVEL": "debug"})
    live.start()
    try:
        yield live, tokens
    finally:
        live.stop()


def test_no_secret_or_identity_in_any_log_line(server: tuple[LiveServer, dict[str, str]]) -> None:
    live, tokens = server
    c = Client(live.url, tokens)
    _lifecycle(c)
    guesses = _failed_authentications(c)
    _travellers(c)
    _webhook(c)
    c.http.close()
    live.stop()  # flushes and closes the log
    log = live.log.read_text(encoding="utf-8", errors="replace")
    assert "Started server process" in log, "the server's output was not captured"
    _assert_clean(log, _secrets(tokens, guesses))


def _assert_clean(log: str, secrets: dict[str, str]) -> None:
    leaks = {what: value for what, value in secrets.items() if value in log}
    lines = [line for line in log.splitlines() if any(v in line for v in leaks.values())]
    assert not leaks, f"in the log: {sorted(leaks)}; lines: {lines[:10]}"


def test_no_secret_in_debug_records_of_tripp_loggers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """``tripp serve`` configures only uvicorn's loggers, so the server's output above never
    holds tripp's own debug records: capture every record of every logger here instead."""
    url = f"sqlite:///{tmp_path / 'tripp.db'}"
    tokens = _mint(url)
    w = wire(Settings(database_url=url, fees_enforced=False))
    caplog.set_level(logging.DEBUG)
    with TestClient(create_app(w, run_jobs=False), raise_server_exceptions=False) as http:
        c = Client("", tokens, http)
        _lifecycle(c)
        guesses = _failed_authentications(c)
        _travellers(c)
        _webhook(c)
    w.engine.dispose()
    records = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    _assert_clean(records, _secrets(tokens, guesses))
