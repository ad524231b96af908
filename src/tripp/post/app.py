"""The node's HTTP API: the upstream's paths for what the officer terminal uses, so one
page works against either, plus ``/api/v1/post/...`` for the node itself.

| path | as upstream? |
|---|---|
| ``GET /api/v1/offices/{code}/expected`` | yes, from the mirror; adds ``as_of`` |
| ``POST /api/v1/offices/{code}/screenings`` | yes; adds ``basis`` and ``sync`` |
| ``POST /api/v1/movements/{mrn}/events`` | yes (crossing, arrival, inspection, incident); adds ``sync`` |
| ``GET /api/v1/post/status`` | node only: upstream reachable?, last round, counts |
| ``GET /api/v1/post/conflicts`` | node only: what the upstream refused, kept |
| ``POST /api/v1/post/conflicts/{seq}/acknowledge`` | node only |
| ``POST /api/v1/post/sync`` | node only: run a round now |

Every ``/api/v1`` path needs the bearer token the node was started with; errors are the
upstream's RFC 9457 problems (``tripp.api.problems``).
"""

from __future__ import annotations

import contextlib
import hmac
import importlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from tripp import __version__
from tripp.api import problems
from tripp.api.paging import DEFAULT_LIMIT, MAX_LIMIT
from tripp.api.types import Code, Mrn
from tripp.border.router import ScreeningIn
from tripp.errors import NotFound, Unauthenticated
from tripp.movements.schemas import EventIn
from tripp.post.bootstrap import Node
from tripp.post.screening import Target
from tripp.post.service import PostService

_bearer = HTTPBearer(auto_error=False, description="The token the node was started with")
TERMINAL_STATIC = FilePath(__file__).resolve().parent.parent / "terminal" / "static"


def _node(request: Request) -> Node:
    node: Node = request.app.state.node
    return node


def _service(request: Request) -> PostService:
    return _node(request).service


def _office(request: Request, code: str) -> PostService:
    service = _service(request)
    if code != service.office:
        raise NotFound(f"this node serves office {service.office} only")
    return service


def _authorised(token: str) -> Callable[..., None]:
    expected = token.encode()

    def check(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> None:
        given = b"" if credentials is None else credentials.credentials.encode()
        # Constant time: the node may sit on a shared network at the post.
        if not hmac.compare_digest(given, expected):
            raise Unauthenticated("missing or wrong token for this node")

    return check


router = APIRouter(prefix="/api/v1")
Service = Annotated[PostService, Depends(_service)]


@router.get("/offices/{code}/expected", tags=["border posts"], responses=problems.responses(404))
def expected(
    request: Request,
    code: Annotated[Code, Path()],
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    return _office(request, code).expected(limit, cursor)


@router.post(
    "/offices/{code}/screenings",
    status_code=201,
    tags=["border posts"],
    responses=problems.responses(404, 409, 422),
)
def screen(
    request: Request, code: Annotated[Code, Path()], body: Annotated[ScreeningIn, Body()]
) -> JSONResponse:
    target = Target(body.mrn, body.vehicle_id, body.container)
    answer, created = _office(request, code).screen(target, body.id)
    return JSONResponse(answer, status_code=201 if created else 200)


@router.post(
    "/movements/{mrn}/events",
    status_code=201,
    tags=["movements"],
    responses=problems.responses(404, 409, 422),
)
def record_event(
    service: Service, mrn: Annotated[Mrn, Path()], event: Annotated[EventIn, Body()]
) -> JSONResponse:
    answer, created = service.record(mrn, event.model_dump(mode="json", exclude_none=True))
    return JSONResponse(answer, status_code=201 if created else 200)


@router.get("/post/status", tags=["post node"])
def status(request: Request) -> dict[str, Any]:
    node = _node(request)
    found = node.service.status(upstream=node.upstream.url, reachable=node.syncer.reachable)
    return {**found, "terminal": "/terminal" if request.app.state.terminal else None}


@router.get("/post/conflicts", tags=["post node"])
def conflicts(
    service: Service,
    all: Annotated[bool, Query(description="include conflicts already acknowledged")] = False,
) -> dict[str, Any]:
    return {"items": service.conflicts(include_acknowledged=all)}


@router.post(
    "/post/conflicts/{seq}/acknowledge", tags=["post node"], responses=problems.responses(404)
)
def acknowledge(service: Service, seq: Annotated[int, Path(ge=1)]) -> dict[str, Any]:
    return service.acknowledge(seq)


@router.post("/post/sync", status_code=202, tags=["post node"])
def sync_now(request: Request) -> dict[str, Any]:
    _node(request).loop.nudge()
    return {"queued": True}


def create_app(node: Node, *, run_sync: bool = True) -> FastAPI:
    """The node's app; ``run_sync`` starts the sync loop with the app (tests of the HTTP
    layer alone turn it off and run rounds themselves)."""

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if run_sync:
            node.loop.start()
        yield
        if run_sync:
            node.loop.stop()

    app = FastAPI(
        title=f"tripp post node {node.settings.office}",
        version=__version__,
        description="An offline border-post node: mirrors the upstream, records while it is away.",
        lifespan=lifespan,
    )
    app.state.node = node
    problems.install(app)
    app.include_router(router, dependencies=[Depends(_authorised(node.settings.token.reveal()))])
    app.state.terminal = mount_terminal(app)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def mount_terminal(app: FastAPI) -> bool:
    """Serve the officer terminal at ``/terminal`` when it is installed; True if served."""
    if not TERMINAL_STATIC.is_dir():
        return False
    try:
        terminal = importlib.import_module("tripp.terminal.router")
    except ImportError:
        return False
    terminal.mount(app)
    return True
