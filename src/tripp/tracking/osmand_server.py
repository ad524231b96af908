"""The OsmAnd listener: its own HTTP port (Traccar's 5055) for Traccar Client and phone apps.

Like Traccar, it answers any method on any path. Parameters come from the query
string; when the query is empty, from the body decoded as a form (whatever the
Content-Type, as Traccar does); a body sent as ``application/json`` is the JSON form.

Answers:

* 200, empty body: the fix was decoded and ``sink.ingest`` has returned (it is durable);
* 400, a short text naming the parameter: bad input (``OsmAndError``), never a 500;
* 413: a body over ``max_body_bytes`` (64 KiB by default; a real report is < 1 KiB);
* the sink's own 4xx (a ``TrippError`` such as an unknown device) with its detail;
* 503 with ``Retry-After`` when the sink fails in any other way. Traccar Client keeps
  every unsent position and retries on any non-200 answer, so "try again later" is
  the honest message: the report was fine, tripp could not store it. The failure is
  logged with its traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from collections.abc import Callable, Generator, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from tripp.errors import TrippError
from tripp.tracking.model import Fix, PositionSink
from tripp.tracking.osmand import OsmAndError, parse_json, parse_query

MAX_BODY_BYTES = 64 * 1024
MAX_FORM_FIELDS = 256
RETRY_AFTER_S = 30

log = logging.getLogger("tripp.tracking.osmand")

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def make_osmand_app(
    sink: PositionSink, *, clock: Clock = _utc_now, max_body_bytes: int = MAX_BODY_BYTES
) -> Starlette:
    """The OsmAnd listener as an ASGI app; ``clock`` (aware UTC) dates reports sent
    without a timestamp; ``max_body_bytes`` bounds a request body."""
    if max_body_bytes <= 0:
        raise ValueError(f"max_body_bytes={max_body_bytes} must be > 0")
    endpoint = _OsmAndEndpoint(sink, clock, max_body_bytes)
    # An ASGI-callable endpoint (not a function) makes Starlette accept every method.
    return Starlette(routes=[Route("/{path:path}", endpoint)])


class _BodyTooLarge(Exception):
    pass


class _OsmAndEndpoint:
    """Decodes one report, hands it to the sink, answers as Traccar Client expects."""

    def __init__(self, sink: PositionSink, clock: Clock, max_body_bytes: int) -> None:
        self._sink = sink
        self._clock = clock
        self._max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self._respond(Request(scope, receive))
        await response(scope, receive, send)

    async def _respond(self, request: Request) -> Response:
        try:
            fix = await self._decode(request)
        except _BodyTooLarge:
            return PlainTextResponse(f"body over {self._max_body_bytes} bytes", status_code=413)
        except OsmAndError as exc:
            return PlainTextResponse(exc.detail, status_code=exc.status)
        return await self._deliver(fix)

    async def _decode(self, request: Request) -> Fix:
        body = await _read_body(request, self._max_body_bytes)
        now = self._clock()
        if _is_json(request.headers.get("content-type", "")):
            return parse_json(_json_document(body), now=now)
        params = request.query_params or _form(body)
        return parse_query(params, now=now)

    async def _deliver(self, fix: Fix) -> Response:
        try:
            await run_in_threadpool(self._sink.ingest, [fix])
        except TrippError as exc:
            if exc.status < 500:
                return PlainTextResponse(exc.detail, status_code=exc.status)
            return _try_again(fix, exc)
        except Exception as exc:  # any other sink failure: the device must resend
            return _try_again(fix, exc)
        return Response(status_code=200)


def _try_again(fix: Fix, exc: Exception) -> Response:
    # A store that is away or full is already logged once by the unit of work: a traceback
    # per fix would bury the log while it lasts. Anything else is a bug: keep its trace.
    known = isinstance(exc, TrippError)
    log.error("OsmAnd fix from %s not stored: %s", fix.device_id, exc, exc_info=not known)
    return PlainTextResponse(
        "position not stored; try again",
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


async def _read_body(request: Request, limit: int) -> bytes:
    """The whole body, refused past ``limit`` bytes without reading the rest."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:  # chunked uploads declare no length
            raise _BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _is_json(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() == "application/json"


def _json_document(body: bytes) -> object:
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError):  # RecursionError: a body nested thousands deep
        raise OsmAndError("body", "is not valid JSON") from None


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")


def _form(body: bytes) -> Mapping[str, str]:
    """Form fields of ``body``; a repeated key keeps its last value, as in Traccar."""
    try:
        text = body.decode("utf-8")
        return dict(parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS))
    except UnicodeDecodeError:
        raise OsmAndError("body", "is not UTF-8") from None
    except ValueError:  # parse_qsl past max_num_fields
        raise OsmAndError("body", f"has more than {MAX_FORM_FIELDS} fields") from None


class ListenerState(StrEnum):
    NEW = "new"
    RUNNING = "running"
    STOPPED = "stopped"


class OsmAndListenError(TrippError):
    """The OsmAnd port could not be opened (in use, no permission, bad address)."""

    status = 503
    title = "OsmAnd listener unavailable"
    slug = "osmand-listener-unavailable"


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves SIGINT/SIGTERM to its host.

    Two uvicorn servers in one process would otherwise each replace the other's
    signal handlers; the host (``tripp serve``) stops this one with ``stop()``.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class OsmAndServer:
    """Serves an ASGI app (``make_osmand_app``) on its own port in the caller's event loop.

    Lifecycle: NEW --start()--> RUNNING --stop()--> STOPPED; a server is not restarted.
    ``log_level=None`` leaves uvicorn's loggers, which are process-wide, as the host
    configured them.
    """

    def __init__(
        self, app: ASGIApp, *, log_level: str | None = None, graceful_shutdown_s: int = 5
    ) -> None:
        self._app = app
        self._log_level = log_level
        self._graceful_shutdown_s = graceful_shutdown_s
        self._state = ListenerState.NEW
        self._socket: socket.socket | None = None
        self._port: int | None = None
        self._server: _EmbeddedServer | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def state(self) -> ListenerState:
        return self._state

    @property
    def port(self) -> int:
        """The bound TCP port (the real one when started with port 0)."""
        if self._port is None:
            raise RuntimeError(f"OsmAnd server is {self._state}; start() it first")
        return self._port

    async def start(self, host: str = "0.0.0.0", port: int = 5055) -> None:
        """Bind ``host:port`` (0 = any free port) and serve until ``stop()``.

        Raises ``OsmAndListenError`` when the port cannot be bound.
        """
        if self._state is not ListenerState.NEW:
            raise RuntimeError(f"OsmAnd server is {self._state}; only a new one can start")
        # Binding here, not in uvicorn, turns a busy port into an exception we can
        # raise: uvicorn would call sys.exit() inside the shared event loop.
        self._socket = _bind(host, port)
        self._port = int(self._socket.getsockname()[1])
        self._server = _EmbeddedServer(self._config(host))
        self._task = asyncio.create_task(self._server.serve(sockets=[self._socket]))
        self._state = ListenerState.RUNNING
        await self._started()

    async def stop(self) -> None:
        """Stop accepting, let requests in flight finish (up to the graceful timeout)."""
        if self._state is not ListenerState.RUNNING:
            return
        self._state = ListenerState.STOPPED
        assert self._server is not None and self._task is not None
        self._server.should_exit = True
        await self._task

    def _config(self, host: str) -> uvicorn.Config:
        return uvicorn.Config(
            self._app,
            host=host,
            port=self.port,
            log_config=None,  # never reconfigure the process's logging
            log_level=self._log_level,
            access_log=False,
            lifespan="off",
            server_header=False,
            timeout_graceful_shutdown=self._graceful_shutdown_s,
        )

    async def _started(self) -> None:
        assert self._server is not None and self._task is not None
        while not self._server.started:
            if self._task.done():
                self._state = ListenerState.STOPPED
                self._task.result()  # re-raises why uvicorn stopped
                raise OsmAndListenError("OsmAnd listener stopped while starting")
            await asyncio.sleep(0.01)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family)
    except OSError as exc:
        raise OsmAndListenError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
