"""The authorisation matrix, generated from the app's routes: every route, every role.

Each (method, path) under /api/v1 must have one rule in RULES, or the build fails naming it.
A rule states, for each role, the class of answer expected (API.md: 404 for what the caller
may not see, 403 for what it may see but not do); every route also answers 401 to no token
and to garbage tokens. One world, owned by AZ-CARRIER-0001, is seeded once per module through
the API; ids in paths are filled from it, and AZ-CARRIER-0002 plays the other carrier.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from tests.conftest import STORES, Tokens, mint_tokens, reset_postgres
from tests.integration.conftest import Api
from tripp.api.app import create_app
from tripp.bootstrap import Wiring, wire
from tripp.config import Settings
from tripp.dashboard.feed import ShutdownWatch
from tripp.fees.defaults import default_schedule_dict

PREFIX = "/api/v1"
ROLES = ("admin", "az_customs", "am_customs", "operator", "observer", "carrier", "other_carrier")
OFFICE = "AM000101"  # an Armenian office of transit on the seeded movement's itinerary
_fresh = itertools.count()

# Outcome classes, per cell:
#   ok   authorised: 2xx, or a 4xx other than 401/403/404 (a body we did not make valid)
#   ok?  authorised, and the thing may legitimately be absent: 404 allowed too
#   403  forbidden: may see, may not do
#   404  hidden: answered as if the thing did not exist
OK, OK_OR_ABSENT, DENIED, HIDDEN = "ok", "ok?", "403", "404"


@dataclass(frozen=True)
class World:
    """Ids of AZ-CARRIER-0001's seeded data, by the path parameter names of the routes."""

    ids: dict[str, str]
    tokens: Tokens


Body = Callable[[World], Any]


@dataclass(frozen=True)
class Rule:
    """``expect``: one class per role, in ROLES order, blank-separated."""

    expect: str
    json: Body | None = None
    params: dict[str, str] = field(default_factory=dict)
    # A fresh resource per call, for calls that consume it (a delete): path ids to override.
    fresh: Callable[[Api, World], dict[str, str]] | None = None
    content: Body | None = None

    def outcome(self, role: str) -> str:
        cells = self.expect.split()
        assert len(cells) == len(ROLES), f"{self.expect!r} needs {len(ROLES)} cells"
        return cells[ROLES.index(role)]


def _n(prefix: str) -> str:
    return f"{prefix}-{next(_fresh)}"


def _incident(w: World) -> dict[str, Any]:
    at = datetime.now(UTC).isoformat()
    return {"id": _n("gen-ev"), "type": "incident", "at": at, "kind": "other", "notes": "n"}


def _external_payment(w: World) -> dict[str, Any]:
    # Never exactly the fee: those who may collect get 422, the others 403 before any check.
    return {"method": "external", "reference": _n("R"), "amount": "1.00", "currency": "AMD"}


def _position(w: World) -> list[dict[str, Any]]:
    return [{"device_id": w.ids["device_id"], "time": "2026-01-01T00:00:00Z",
             "lat": 38.9, "lon": 46.3}]  # fmt: skip


def _empty_vehicle(w: World) -> dict[str, Any]:
    return {"id": _n("V"), "vehicle_id": "10-BUS-1", "vehicle_class": "bus",
            "office": OFFICE, "travellers": []}  # fmt: skip


def _fresh_webhook(api: Api, w: World) -> dict[str, str]:
    r = api.call(
        "POST",
        "/webhooks",
        w.tokens.carrier,
        json={"url": "http://127.0.0.1:9/hook", "kinds": ["seal_opened"]},
    )
    assert r.status_code == 201, r.text
    return {"webhook_id": str(r.json()["id"])}


MANIFEST = (
    "document_type,document_number,issuing_state,nationality,surname,given_names,"
    "birth_date,sex,expiry\n"
)

# Roles, in order: admin  az_customs  am_customs  operator  observer  carrier  other_carrier
# "own" data is AZ-CARRIER-0001's; its movement crosses AZ and AM, so both customs see it.
RULES: dict[str, Rule] = {
    "GET /api/v1/corridor": Rule("ok ok ok ok 403 ok ok"),
    "POST /api/v1/guarantees": Rule(
        "ok ok ok 403 403 403 403",
        json=lambda w: {"holder": "AZ-CARRIER-0001", "reference_amount": "1", "currency": "USD"},
    ),
    "GET /api/v1/guarantees/{grn}": Rule("ok ok 404 403 403 ok 404"),
    "POST /api/v1/movements": Rule(
        "ok 403 403 403 403 ok 403", json=lambda w: w.ids["declaration"]
    ),
    "GET /api/v1/movements": Rule("ok ok ok ok 403 ok ok"),
    "GET /api/v1/movements/{mrn}": Rule("ok ok ok ok 403 ok 404"),
    "POST /api/v1/movements/{mrn}/events": Rule("ok ok ok 403 403 ok 404", json=_incident),
    "GET /api/v1/movements/{mrn}/events": Rule("ok ok ok ok 403 ok 404"),
    "POST /api/v1/devices": Rule(
        "ok ok ok ok 403 403 403", json=lambda w: {"id": _n("D"), "kind": "tracker"}
    ),
    "GET /api/v1/devices/{device_id}": Rule("ok ok ok ok 403 ok 404"),
    "POST /api/v1/positions": Rule(
        "ok 403 403 ok 403 403 403",
        json=_position,
    ),
    "GET /api/v1/movements/{mrn}/track": Rule("ok ok ok ok 403 ok 404"),
    "GET /api/v1/alerts": Rule("ok ok ok ok 403 ok ok"),
    "POST /api/v1/alerts/{alert_id}/acknowledge": Rule(
        "ok ok 404 ok 403 403 403", json=lambda w: {"note": "looked"}
    ),
    "POST /api/v1/webhooks": Rule(
        "ok ok ok ok 403 ok ok",
        json=lambda w: {"url": "http://127.0.0.1:9/hook", "kinds": ["seal_opened"]},
    ),
    "GET /api/v1/webhooks": Rule("ok ok ok ok 403 ok ok"),
    "DELETE /api/v1/webhooks/{webhook_id}": Rule(
        "404 404 404 404 403 ok 404", fresh=_fresh_webhook
    ),
    "GET /api/v1/webhooks/{webhook_id}/deliveries": Rule("404 404 404 404 403 ok 404"),
    "GET /api/v1/stats": Rule("ok ok ok ok ok ok ok"),
    "GET /api/v1/offices/{code}/expected": Rule("ok 403 ok ok 403 403 403"),
    "POST /api/v1/offices/{code}/screenings": Rule(
        "ok 403 ok 403 403 403 403", json=lambda w: {"mrn": w.ids["mrn"]}
    ),
    "GET /api/v1/movements/{mrn}/screenings": Rule("ok ok ok ok 403 403 403"),
    "GET /api/v1/risk/rulesets/{country}": Rule("ok 403 ok 403 403 403 403"),
    "GET /api/v1/risk/rulesets/{country}/versions/{version}": Rule("ok 403 ok 403 403 403 403"),
    "PUT /api/v1/risk/rulesets/{country}": Rule("ok 403 ok 403 403 403 403", json=lambda w: {}),
    "PUT /api/v1/risk/trusted/{country}/{holder}": Rule("ok 403 ok 403 403 403 403"),
    "DELETE /api/v1/risk/trusted/{country}/{holder}": Rule("ok 403 ok 403 403 403 403"),
    "GET /api/v1/fees/schedules": Rule("ok ok ok ok 403 ok ok"),
    "PUT /api/v1/fees/schedules": Rule(
        "ok 403 ok 403 403 403 403", json=lambda w: default_schedule_dict()
    ),
    "GET /api/v1/movements/{mrn}/fee": Rule("ok ok ok ok 403 ok 404"),
    "POST /api/v1/movements/{mrn}/fee/payments": Rule(
        "ok 403 403 ok 403 403 403", json=_external_payment
    ),
    "POST /api/v1/fees/accounts/{carrier}/top-ups": Rule(
        "ok 403 403 ok 403 403 403",
        json=lambda w: {"amount": "10.00", "currency": "AMD", "reference": _n("T")},
    ),
    "GET /api/v1/fees/accounts/{carrier}": Rule("ok 404 404 ok 403 ok 404"),
    "GET /api/v1/fees/reconciliation": Rule("ok ok ok ok 403 ok ok", params={"day": "2026-01-01"}),
    "GET /api/v1/vehicles/{announcement_id}/fee": Rule("ok 404 ok ok 403 ok 404"),
    "POST /api/v1/vehicles/{announcement_id}/fee/payments": Rule(
        "ok 403 403 ok 403 403 403", json=_external_payment
    ),
    "POST /api/v1/vehicles": Rule(
        "ok 403 403 ok 403 ok ok",
        json=_empty_vehicle,
    ),
    "POST /api/v1/vehicles/{announcement_id}/manifest": Rule(
        "ok 403 403 ok 403 ok ok",
        params={"vehicle_id": "10-BUS-2", "vehicle_class": "bus", "office": OFFICE},
        fresh=lambda api, w: {"announcement_id": _n("M")},
        content=lambda w: MANIFEST,
    ),
    "GET /api/v1/vehicles/{announcement_id}": Rule("ok 404 ok ok 404 ok 404"),
    "POST /api/v1/travellers/{traveller_id}/decision": Rule(
        "403 404 ok 403 404 403 404", json=lambda w: {"outcome": "admitted"}
    ),
    "GET /api/v1/dashboard/me": Rule("ok ok ok ok ok ok ok"),
    "GET /api/v1/dashboard/layers": Rule("ok ok ok ok 403 ok ok"),
    "GET /api/v1/dashboard/vehicles": Rule("ok ok ok ok 403 ok ok"),
    "GET /api/v1/dashboard/stream": Rule("ok ok ok ok 403 ok ok"),
    "GET /api/v1/dashboard/kpis": Rule("ok ok ok ok ok ok ok"),
    "GET /api/v1/dashboard/sim-reports": Rule("ok ok ok ok 403 403 403"),
    "GET /api/v1/dashboard/sim-reports/{name}/{file}": Rule("ok ok ok ok 403 403 403"),
}


# --- the routes, from the app itself --------------------------------------------------


def _routes_of(app: FastAPI) -> list[str]:
    """'METHOD /path' of every API route under /api/v1, in the schema or not."""
    found = set()
    for ctx in iter_route_contexts(app.routes):
        if not isinstance(ctx.original_route, APIRoute) or not str(ctx.path).startswith(PREFIX):
            continue
        found |= {f"{method} {ctx.path}" for method in ctx.methods or () if method != "HEAD"}
    return sorted(found)


def _bare_app() -> FastAPI:
    """The app over an in-memory store that is never used: only its routes are read."""
    w = wire(Settings(database_url="sqlite://", fees_enforced=False))
    w.engine.dispose()
    return create_app(w, run_jobs=False)


ROUTES = _routes_of(_bare_app())


def test_the_routes_are_found_and_cover_the_openapi_schema() -> None:
    app = _bare_app()
    in_schema = {
        f"{method.upper()} {path}"
        for path, item in app.openapi()["paths"].items()
        if path.startswith(PREFIX)
        for method in item
    }
    assert len(ROUTES) > 40
    assert in_schema <= set(ROUTES), sorted(in_schema - set(ROUTES))


@pytest.mark.parametrize("route", ROUTES)
def test_every_route_has_a_rule(route: str) -> None:
    assert route in RULES, f"add a rule for {route} to RULES in {__name__}"


def test_no_rule_names_a_route_that_is_gone() -> None:
    stale = sorted(set(RULES) - set(ROUTES))
    assert not stale, f"rules for routes the app no longer has: {stale}"


# --- the seeded world -----------------------------------------------------------------


def _traveller(document_number: str, surname: str) -> dict[str, str]:
    expiry = (date.today() + timedelta(days=900)).isoformat()
    return {"document_type": "P", "document_number": document_number, "issuing_state": "AZE",
            "nationality": "AZE", "surname": surname, "given_names": "ELCHIN",
            "birth_date": "1980-05-14", "sex": "M", "expiry": expiry}  # fmt: skip


def _seed(api: Api) -> dict[str, Any]:
    t = api.tokens
    grn = api.guarantee("500000.00")["grn"]
    r = api.call("POST", "/devices", t.admin, json={"id": "GEN-TRK-1", "kind": "eseal"})
    assert r.status_code == 201, r.text
    mrn = api.lodge(grn).json()["mrn"]
    now = datetime.now(UTC) + timedelta(seconds=1)
    r = api.event(mrn, t.az_customs, "release", api.itinerary.office_of_departure, at=now,
                  seals=["GEN-S-1"], tracker_id="GEN-TRK-1")  # fmt: skip
    assert r.status_code == 201, r.text
    lon, lat = api.corridor.offices[api.itinerary.office_of_departure].location
    fixes = [{"device_id": "GEN-TRK-1", "time": (now + timedelta(seconds=i)).isoformat(),
              "lat": lat, "lon": lon, "seal": "open" if i else "closed"}
             for i in range(3)]  # fmt: skip
    r = api.call("POST", "/positions", t.operator, json=fixes)
    assert r.status_code == 202, r.text
    alerts = api.call("GET", "/alerts", t.admin, params={"mrn": mrn}).json()["items"]
    assert alerts, "the open seal raised no alert"
    r = api.call("POST", f"/offices/{OFFICE}/screenings", t.am_customs, json={"mrn": mrn})
    assert r.status_code == 201, r.text
    body = {"id": "GEN-BUS-1", "vehicle_id": "10-BUS-1", "vehicle_class": "bus",
            "office": OFFICE, "travellers": [_traveller("C01X00T47", "MAMMADOV")]}  # fmt: skip
    r = api.call("POST", "/vehicles", t.carrier, json=body)
    assert r.status_code == 201, r.text
    traveller = r.json()["travellers"][0]["id"]
    hook = _fresh_webhook(api, World({}, t))["webhook_id"]
    return {
        "grn": grn,
        "mrn": mrn,
        "device_id": "GEN-TRK-1",
        "alert_id": str(alerts[0]["id"]) if alerts else "1",
        "webhook_id": hook,
        "code": OFFICE,
        "country": "AM",
        "version": "1",
        "holder": "AZ-CARRIER-0001",
        "carrier": "AZ-CARRIER-0001",
        "announcement_id": "GEN-BUS-1",
        "traveller_id": str(traveller),
        "name": "gen-report",
        "file": "summary.json",
        "declaration": api.declaration(grn),
    }


@dataclass
class Matrix:
    api: Api
    world: World
    garbage: tuple[str, ...]


@pytest.fixture(scope="module", params=STORES)
def matrix(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Matrix]:
    tmp = tmp_path_factory.mktemp("authz")
    reports = tmp / "sim-reports"
    (reports / "gen-report").mkdir(parents=True)
    (reports / "gen-report" / "summary.json").write_text(json.dumps({"scenario": "gen"}))
    # Scoping is SQL: it is proved on both stores.
    if request.param == "sqlite":
        url = f"sqlite:///{tmp / 'tripp.db'}"
    else:
        url = request.getfixturevalue("postgres_server")
        reset_postgres(url)
    settings = Settings(
        database_url=url,
        fees_enforced=False,
        auth_failures_burst=100_000,
        sim_reports_dir=str(reports),
    )
    w: Wiring = wire(settings)
    w.upgrade()
    tokens = mint_tokens(w)
    app = create_app(w, run_jobs=False)
    app.state.settings = settings
    # The live stream ends at once when the server is closing: one chunk, then done.
    watch = app.state.dashboard_shutdown = ShutdownWatch()
    watch.closing = True
    with TestClient(app, raise_server_exceptions=False) as client:
        api = Api(client, tokens, w.corridor)
        seeded = _seed(api)
        token_id = tokens.carrier.split("_")[1]
        garbage = (
            "not-a-token",
            f"tripp_{token_id}_{'A' * 43}",  # a real token's id with a guessed secret
            tokens.carrier[:-1] + ("B" if tokens.carrier[-1] != "B" else "C"),
        )
        yield Matrix(api, World(seeded, tokens), garbage)
    w.engine.dispose()


def _request(m: Matrix, route: str, token: str | None) -> httpx.Response:
    method, template = route.split(" ", 1)
    rule = RULES[route]
    ids = dict(m.world.ids)
    if rule.fresh is not None:
        ids.update(rule.fresh(m.api, m.world))
    path = template.removeprefix(PREFIX).format(**ids)
    kw: dict[str, Any] = {"params": rule.params}
    if rule.json is not None:
        kw["json"] = rule.json(m.world)
    if rule.content is not None:
        kw["content"] = rule.content(m.world)
        kw["headers"] = {"Content-Type": "text/csv"}
    return m.api.call(method, path, token, **kw)


def _matches(outcome: str, status: int) -> bool:
    if outcome == DENIED:
        return status == 403
    if outcome == HIDDEN:
        return status == 404
    refused = {401, 403} if outcome == OK_OR_ABSENT else {401, 403, 404}
    return 200 <= status < 300 or (400 <= status < 500 and status not in refused | {429})


CELLS = [(route, role) for route in ROUTES if route in RULES for role in ROLES]


@pytest.mark.parametrize(("route", "role"), CELLS)
def test_role_on_route(matrix: Matrix, route: str, role: str) -> None:
    outcome = RULES[route].outcome(role)
    r = _request(matrix, route, getattr(matrix.world.tokens, role))
    assert _matches(outcome, r.status_code), (
        f"{route} as {role}: expected {outcome}, got {r.status_code} {r.text[:300]}"
    )


@pytest.mark.parametrize("route", [r for r in ROUTES if r in RULES])
def test_no_token_is_401(matrix: Matrix, route: str) -> None:
    r = _request(matrix, route, None)
    assert r.status_code == 401, f"{route} without a token: {r.status_code} {r.text[:200]}"
    assert r.headers.get("www-authenticate", "").lower().startswith("bearer")


@pytest.mark.parametrize("route", [r for r in ROUTES if r in RULES])
def test_garbage_tokens_are_401(matrix: Matrix, route: str) -> None:
    got = {bad: _request(matrix, route, bad).status_code for bad in matrix.garbage}
    assert set(got.values()) == {401}, f"{route}: {got}"
