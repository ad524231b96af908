"""The ``tripp`` command line. User mistakes print plainly and exit 1; no tracebacks."""

from __future__ import annotations

import contextlib
import gc
import sys
from typing import Annotated, Any

import typer
from fastapi import FastAPI
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from tripp import logs
from tripp.audit.cli import audit_app, dossier_app, keys_app
from tripp.bootstrap import Wiring, utc_now, wire
from tripp.border.cli import app as risk_app
from tripp.config import Settings
from tripp.corridor.cli import app as corridor_app
from tripp.corridor.model import CorridorInvalid
from tripp.db.uow import UnitOfWork
from tripp.errors import TrippError
from tripp.movements import service as movements
from tripp.parties import service as parties
from tripp.parties.model import Party, Role
from tripp.post.cli import post as post_command
from tripp.sim.cli import app as sim_app
from tripp.travellers.cli import app as travellers_app


class _ReportingGroup(TyperGroup):
    """Turns a TrippError from any command into a plain message and exit status 1."""

    def invoke(self, ctx: Any) -> Any:  # typer vendors click; its Context type is private
        try:
            return super().invoke(ctx)
        except TrippError as exc:
            _report(exc)
            ctx.exit(1)


def _report(exc: TrippError) -> None:
    errors = [] if isinstance(exc, CorridorInvalid) else getattr(exc, "errors", None) or []
    err.print(f"error: {exc.title if errors else exc.detail}", markup=False, highlight=False)
    for e in errors:
        err.print(f"  {e.field}: {e.message}", markup=False, highlight=False)


app = typer.Typer(
    cls=_ReportingGroup,
    help="tripp: a transit-corridor platform. Configuration: TRIPP_* environment variables "
    "(see README).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(corridor_app, name="corridor", help="Show or validate corridor files.")
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
party_app = typer.Typer(
    help="Parties (customs, carriers, operator, observers).", no_args_is_help=True
)
token_app = typer.Typer(help="Bearer tokens for the API.", no_args_is_help=True)
jobs_app = typer.Typer(help="Periodic jobs, run once.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(party_app, name="party")
app.add_typer(token_app, name="token")
app.add_typer(jobs_app, name="jobs")
app.add_typer(risk_app, name="risk")
app.command("post")(post_command)
app.add_typer(travellers_app, name="travellers")
app.add_typer(sim_app, name="sim")
app.add_typer(audit_app, name="audit")
app.add_typer(keys_app, name="keys")
app.add_typer(dossier_app, name="dossier")
err = Console(stderr=True)
out = Console()


def _wiring() -> Wiring:
    return wire(Settings.from_env())


def _migrated() -> Wiring:
    w = _wiring()
    logs.configure(w.settings.log_level)
    w.upgrade()
    return w


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="default TRIPP_HOST or 127.0.0.1")] = None,
    port: Annotated[int | None, typer.Option(help="default TRIPP_PORT or 8000")] = None,
    workers: Annotated[int, typer.Option(min=1, help="server processes (PostgreSQL only)")] = 1,
) -> None:
    """Migrate the database if needed, then serve the API and, with one worker, the device
    listeners (OsmAnd, Teltonika, MQTT: see TRIPP_OSMAND_PORT, TRIPP_TELTONIKA_PORT,
    TRIPP_MQTT_URL)."""
    import uvicorn

    w = _migrated()
    settings = w.settings
    if workers > 1 and w.engine.dialect.name == "sqlite":
        raise typer.BadParameter("several workers need PostgreSQL; SQLite has one writer")
    if workers > 1:
        err.print("several workers: the device listeners do not run here; start 'tripp track'")
    err.print(
        f"tripp serving corridor {w.corridor.id} on http://{host or settings.host}:"
        f"{port or settings.port} (store: {w.engine.dialect.name})"
    )
    uvicorn.run(
        "tripp.api.asgi:build" if workers > 1 else _app(w),
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        factory=workers > 1,
        log_level=settings.log_level,
        access_log=False,
        # Open dashboard streams end on shutdown; this bounds any other straggler.
        timeout_graceful_shutdown=5,
    )


def _app(w: Wiring) -> FastAPI:
    from tripp.api.app import create_app

    return create_app(w, listeners=True)


DEMO_PARTIES = (
    ("SYSTEM", Role.ADMIN),
    ("AZ-CUSTOMS", Role.CUSTOMS),
    ("AM-CUSTOMS", Role.CUSTOMS),
    ("CORRIDOR-OPERATOR", Role.OPERATOR),
    ("WORKING-GROUP", Role.OBSERVER),
    ("AZ-CARRIER-0001", Role.CARRIER),
)


@app.command()
def demo(
    host: Annotated[str | None, typer.Option(help="default TRIPP_HOST or 127.0.0.1")] = None,
    port: Annotated[int | None, typer.Option(help="default TRIPP_PORT or 8000")] = None,
    drive: Annotated[
        bool, typer.Option(help="drive live simulated traffic against the server")
    ] = True,
    speedup: Annotated[
        float, typer.Option(min=1, help="simulated seconds per real second of the traffic")
    ] = 240.0,
    vehicles_per_day: Annotated[float, typer.Option(min=1)] = 400.0,
) -> None:
    """Migrate, add the demo parties, their signing keys and a fresh token per role, print a
    sign-in link per role, serve, and drive live simulated traffic (a day in minutes)."""
    import threading

    w = _migrated()
    uow = UnitOfWork(w.engine)
    known = {p.id for p in parties.list_parties(uow)}
    if "AZ-CARRIER-0001" not in known:
        parties.add_party(
            uow, Party("AZ-CARRIER-0001", Role.CARRIER, "AZ", "Demo carrier"), utc_now()
        )
    _demo_keys(w)
    url = f"http://{host or w.settings.host}:{port or w.settings.port}"
    tokens: dict[str, str] = {}
    # Plain lines, never a table: a token cut to fit the terminal would be useless.
    out.print("Sign in (the link's #token part never leaves the browser):", highlight=False)
    for party_id, role in DEMO_PARTIES:
        secret, _ = parties.create_token(
            uow, party_id=party_id, role=role, label="demo", now=utc_now()
        )
        tokens[party_id] = secret
        out.print(f"  {role.value:<9} {party_id:<18} {url}/dashboard/#token={secret}",
                  soft_wrap=True, highlight=False)  # fmt: skip
    out.print(f"API docs: {url}/docs  (send 'Authorization: Bearer <token>')",
              soft_wrap=True, highlight=False)  # fmt: skip
    out.print(f"Officer terminal (customs token, office e.g. AM000101): {url}/terminal",
              soft_wrap=True, highlight=False)  # fmt: skip
    stop = threading.Event()
    if drive:
        driver = threading.Thread(
            target=_demo_drive, args=(url, tokens, speedup, vehicles_per_day, stop),
            name="tripp-demo-drive", daemon=True,
        )  # fmt: skip
        driver.start()
        out.print(f"Driving simulated traffic at {speedup:g}x; Ctrl-C stops everything.",
                  highlight=False)  # fmt: skip
    else:
        out.print("Ctrl-C stops the server.", highlight=False)
    try:
        serve(host=host, port=port, workers=1)
    finally:
        stop.set()


def _demo_keys(w: Wiring) -> None:
    """Signing keys for the authorities, so the demo's events are signed (docs/security.md)."""
    from tripp.signing import store as key_store

    for party_id in ("AZ-CUSTOMS", "AM-CUSTOMS", "CORRIDOR-OPERATOR", "SYSTEM"):
        if w.keyring.get(party_id) is None:
            pair = w.keyring.create(party_id)
            with UnitOfWork(w.engine).write() as conn:
                key_store.publish(conn, pair, utc_now())


def _demo_drive(
    url: str, tokens: dict[str, str], speedup: float, per_day: float, stop: Any
) -> None:
    from tripp.sim.drive import DriveConfig, run_drive
    from tripp.sim.traffic import TrafficConfig

    traffic = TrafficConfig(speedup=speedup, vehicles_per_day=per_day)
    try:
        stats = run_drive(DriveConfig(url=url, tokens=tokens, traffic=traffic), stop)
    except TrippError as exc:  # the server never came up: say so, keep serving
        err.print(f"demo traffic stopped: {exc.detail}", markup=False, highlight=False)
        return
    err.print(f"demo traffic stopped: {stats}", markup=False, highlight=False)


@app.command()
def track() -> None:
    """Run the device listeners (OsmAnd, Teltonika, MQTT) and the tracking rules as a worker.

    Several workers share the MQTT load when TRIPP_MQTT_GROUP names a shared
    subscription; all state is in the database, so adding one needs nothing else.
    """
    import asyncio

    w = _migrated()
    asyncio.run(_track(w))


async def _track(w: Wiring) -> None:
    import asyncio
    import signal

    from tripp.tracking.listeners import Listeners

    # As ``serve`` does: what start-up built lives as long as the process, and freezing it
    # keeps the collector's passes, which a worker's steady churn of fixes sets off, from
    # walking it again and again.
    gc.collect()
    gc.freeze()
    listeners = Listeners(w.settings, w.tracking)
    await listeners.start()
    for line in listeners.started:
        err.print(f"tripp track: {line}", highlight=False)
    if not listeners.started:
        err.print(
            "tripp track: no listener enabled (TRIPP_OSMAND_PORT, TRIPP_TELTONIKA_PORT, "
            "TRIPP_MQTT_URL)",
            highlight=False,
        )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        while not stop.is_set():
            await asyncio.to_thread(w.tracking.check_time)
            await asyncio.to_thread(w.tracking.housekeeping, w.settings.position_retention_days)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=w.settings.overdue_interval_s)
    finally:
        await listeners.stop()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration to TRIPP_DATABASE_URL."""
    w = _migrated()
    err.print(f"database at head ({w.engine.dialect.name})")


@party_app.command("add")
def party_add(
    party_id: Annotated[str, typer.Argument(metavar="ID")],
    role: Annotated[Role, typer.Option(help="the party's role")],
    country: Annotated[str | None, typer.Option(help="ISO 3166-1 alpha-2")] = None,
    name: Annotated[str, typer.Option(help="display name")] = "",
) -> None:
    """Add a party, e.g. a carrier: tripp party add AZ-CARRIER-0001 --role carrier --country AZ."""
    w = _migrated()
    parties.add_party(UnitOfWork(w.engine), Party(party_id, role, country, name), utc_now())
    err.print(f"party {party_id} added as {role.value}")


@party_app.command("list")
def party_list() -> None:
    """List every party."""
    w = _migrated()
    table = Table("id", "role", "country", "name")
    for p in parties.list_parties(UnitOfWork(w.engine)):
        table.add_row(p.id, p.role.value, p.country or "", p.name)
    out.print(table)


@token_app.command("create")
def token_create(
    party: Annotated[str, typer.Option(help="the party the token acts for")],
    role: Annotated[Role, typer.Option(help="must be the party's role")],
    label: Annotated[str, typer.Option(help="a note to recognise it by")] = "",
) -> None:
    """Mint a token; prints the token alone on stdout, once (only its hash is kept)."""
    w = _migrated()
    secret, record = parties.create_token(
        UnitOfWork(w.engine), party_id=party, role=role, label=label, now=utc_now()
    )
    sys.stdout.write(secret + "\n")
    err.print(f"token {record.id} for {party} ({role.value})")


@token_app.command("list")
def token_list(party: Annotated[str | None, typer.Option()] = None) -> None:
    """List tokens (ids, never the secrets)."""
    w = _migrated()
    table = Table("id", "party", "role", "label", "created", "revoked")
    for t in parties.list_tokens(UnitOfWork(w.engine), party):
        table.add_row(
            t.id,
            t.party_id,
            t.role.value,
            t.label,
            t.created_at.isoformat(),
            t.revoked_at.isoformat() if t.revoked_at else "",
        )
    out.print(table)


@token_app.command("revoke")
def token_revoke(token_id: Annotated[str, typer.Argument(metavar="ID")]) -> None:
    """Revoke a token by its id (see 'tripp token list')."""
    w = _migrated()
    parties.revoke_token(UnitOfWork(w.engine), token_id, utc_now())
    err.print(f"token {token_id} revoked")


@jobs_app.command("overdue")
def jobs_overdue() -> None:
    """Put every movement past its time limit under enquiry (the server does this periodically)."""
    w = _migrated()
    opened = movements.overdue_enquiries(w.context)
    err.print(f"{len(opened)} movements put under enquiry")
    for mrn in opened:
        sys.stdout.write(mrn + "\n")


@jobs_app.command("purge-travellers")
def jobs_purge_travellers() -> None:
    """Empty travellers' identity data older than TRIPP_TRAVELLER_RETENTION_DAYS (the
    server does this periodically); decisions and reason codes stay."""
    from tripp.travellers.passage import Passage

    w = _migrated()
    days = w.settings.traveller_retention_days
    purged = Passage(w.context.uow, w.corridor, w.clock).purge(w.clock(), days)
    err.print(f"identity data of {purged} travellers purged (older than {days} days)")


def main() -> None:
    app()
