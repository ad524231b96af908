"""The dashboard's API under /api/v1/dashboard: map layers, vehicles under way, the live
stream, KPIs and simulator reports. The contract is docs/dashboard-api.md.

Who may call what: observers only ``/kpis`` (aggregates); ``/sim-reports`` the planners
(admin, operator, customs); the rest everyone else, each seeing the movements and alerts
the rest of the API shows them.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import FileResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from tripp.api.auth import Ctx, CurrentActor
from tripp.api.problems import responses
from tripp.api.types import QueryTime
from tripp.config import Settings
from tripp.dashboard import kpi, layers, sse, store
from tripp.dashboard.export import kpi_csv
from tripp.dashboard.feed import Feed, ShutdownWatch, iso, stream
from tripp.dashboard.reports import ReportShelf
from tripp.dashboard.tail import Tail
from tripp.errors import FieldError, Forbidden, InvalidInput, NotFound
from tripp.movements.service import Context
from tripp.parties.model import Actor, Role

router = APIRouter(prefix="/api/v1/dashboard", tags=["dashboard"])

_LIVE = (Role.ADMIN, Role.OPERATOR, Role.CUSTOMS, Role.CARRIER)
_PLANNERS = (Role.ADMIN, Role.OPERATOR, Role.CUSTOMS)
_SSE_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
# A report page is ours but shown from the dashboard's origin: no script, nothing fetched.
_REPORT_CSP = "default-src 'none'; img-src data: 'self'; style-src 'unsafe-inline'; sandbox"


def _require(actor: Actor, roles: tuple[Role, ...], what: str) -> None:
    if actor.role not in roles:
        raise Forbidden(f"{actor.role} parties do not see {what}")


def _settings(request: Request) -> Settings:
    """The app's settings; read from the environment once where the app factory did not
    keep them."""
    settings: Settings | None = getattr(request.app.state, "settings", None)
    if settings is None:
        settings = request.app.state.settings = Settings.from_env()
    return settings


def _json(doc: Any) -> Response:
    return Response(orjson.dumps(doc), media_type="application/json")


@router.get("/me", responses=responses(), summary="Who the token is (every role)")
def get_me(actor: CurrentActor) -> dict[str, Any]:
    return {"party": actor.party, "role": actor.role.value, "country": actor.country}


@router.get(
    "/layers",
    responses={
        **responses(403),
        200: {
            "description": "A GeoJSON FeatureCollection",
            "content": {"application/geo+json": {"schema": {"type": "object"}}},
        },
        304: {"description": "Not modified (If-None-Match matched the ETag)"},
    },
    summary="The map's layers (GeoJSON)",
)
def get_layers(
    request: Request,
    actor: CurrentActor,
    ctx: Ctx,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    _require(actor, _LIVE, "the map")
    cached: tuple[bytes, str] | None = getattr(request.app.state, "dashboard_layers", None)
    if cached is None:  # the corridor never changes while the app runs: render it once
        cached = layers.rendered(layers.layers(ctx.corridor, layers.bundled_region()))
        request.app.state.dashboard_layers = cached
    body, etag = cached
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if if_none_match is not None and etag in {t.strip() for t in if_none_match.split(",")}:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/geo+json", headers=headers)


def _vehicles(ctx: Context, actor: Actor) -> dict[str, Any]:
    at = ctx.clock()  # before the reads: the stream resumes from here, overlap included
    with ctx.uow.read() as conn:
        rows = store.vehicles(conn, actor)
        kinds = store.open_alert_kinds(conn, actor)
    items = [
        {"mrn": r.mrn, "status": r.state, "carrier": r.holder, "plate": r.plate,
         "device_id": r.device_id, "lon": r.lon, "lat": r.lat, "fixed_at": iso(r.time),
         "speed_kmh": r.speed_kmh, "alerts": kinds.get(r.mrn, [])}
        for r in rows
    ]  # fmt: skip
    return {"at": iso(at), "cursor": sse.encode_cursor(at), "vehicles": items}


@router.get("/vehicles", responses=responses(403), summary="Latest position of each vehicle")
async def get_vehicles(request: Request, actor: CurrentActor, ctx: Ctx) -> Response:
    _require(actor, _LIVE, "vehicles")
    body = await run_in_threadpool(_vehicles, ctx, actor)
    return _json(body)


@router.get(
    "/stream",
    responses={**responses(403, 422), 200: {"content": {"text/event-stream": {}}}},
    summary="Live positions, alerts and movement states (Server-Sent Events)",
)
async def get_stream(
    request: Request,
    actor: CurrentActor,
    ctx: Ctx,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=64)] = None,
) -> StreamingResponse:
    _require(actor, _LIVE, "the live stream")
    if last_event_id:
        since, resumed = sse.decode_cursor(last_event_id, "Last-Event-ID"), True
    elif cursor:
        since, resumed = sse.decode_cursor(cursor), True
    else:
        since, resumed = ctx.clock(), False
    watch: ShutdownWatch | None = getattr(request.app.state, "dashboard_shutdown", None)
    if watch is None:
        watch = request.app.state.dashboard_shutdown = ShutdownWatch()
    watch.install()
    feed = Feed(ctx.uow, actor, Tail(since), resumed)
    body = stream(
        feed,
        poll_s=_settings(request).dashboard_poll_s,
        disconnected=request.is_disconnected,
        closing=lambda: watch.closing,
    )
    return StreamingResponse(body, media_type="text/event-stream", headers=_SSE_HEADERS)


def _kpis(ctx: Context, start: Any, end: Any, office: str | None) -> dict[str, Any]:
    with ctx.uow.read() as conn:
        inputs = store.kpi_inputs(conn, start, end, office)
    return kpi.kpis(start, end, inputs)


@router.get(
    "/kpis",
    responses={
        **responses(422),
        200: {
            "description": "Key figures; CSV with ?format=csv or Accept: text/csv",
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "text/csv": {"schema": {"type": "string"}},
            },
        },
    },
    summary="Key figures over a period",
)
async def get_kpis(
    request: Request,
    _actor: CurrentActor,
    ctx: Ctx,
    from_: Annotated[
        QueryTime | None, Query(alias="from", description="default: 30 days before 'to'")
    ] = None,
    to: Annotated[QueryTime | None, Query(description="default: now")] = None,
    office: Annotated[str | None, Query(pattern=r"^[A-Z]{2}[A-Z0-9]{6}$")] = None,
    format: Annotated[Literal["json", "csv"] | None, Query()] = None,
    accept: Annotated[str | None, Header()] = None,
) -> Response:
    end = to or ctx.clock()
    start = from_ or end - timedelta(days=30)
    problem = kpi.check_period(start, end)
    if problem is not None:
        raise InvalidInput([FieldError("from", problem, "period")])
    if office is not None and ctx.corridor.office(office) is None:
        raise InvalidInput([FieldError("office", f"no office {office}", "office-unknown")])
    doc = await run_in_threadpool(_kpis, ctx, start, end, office)
    wants_csv = format == "csv" or (format is None and "text/csv" in (accept or ""))
    if wants_csv:
        name = f"tripp-kpis-{start:%Y%m%d}-{end:%Y%m%d}.csv"
        return Response(
            kpi_csv(doc),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return _json(doc)


def _shelf(request: Request) -> ReportShelf:
    return ReportShelf(FilePath(_settings(request).sim_reports_dir))


@router.get("/sim-reports", responses=responses(403), summary="Simulator reports")
def list_sim_reports(request: Request, actor: CurrentActor) -> list[dict[str, Any]]:
    _require(actor, _PLANNERS, "simulator reports")
    return [r.to_json() for r in _shelf(request).list()]


@router.get("/sim-reports/{name}/{file}", responses=responses(403, 404), summary="A report's file")
def get_sim_report_file(
    request: Request,
    actor: CurrentActor,
    name: Annotated[str, Path(max_length=128)],
    file: Annotated[str, Path(max_length=128)],
) -> FileResponse:
    _require(actor, _PLANNERS, "simulator reports")
    found = _shelf(request).file(name, file)
    if found is None:
        raise NotFound(f"no file {file!r} in a report {name!r}")
    path, media_type = found
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-cache"}
    if media_type.startswith("text/html"):
        headers["Content-Security-Policy"] = _REPORT_CSP
    return FileResponse(path, media_type=media_type, headers=headers)
