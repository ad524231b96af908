"""The OsmAnd listener over real HTTP: a uvicorn server on 127.0.0.1, port 0, httpx.

The server runs inside the test's event loop, as it will beside the main API in
``tripp serve``; the sinks are fakes that record or fail.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
import pytest

from tripp.errors import NotFound, StoreUnavailable
from tripp.tracking.model import Fix, IngestResult, SealState
from tripp.tracking.osmand_server import (
    ListenerState,
    OsmAndListenError,
    OsmAndServer,
    make_osmand_app,
)

pytestmark = pytest.mark.anyio

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
EXAMPLE = (
    "/?id=902064&lat=42.06288&lon=-88.23412&timestamp=2016-01-27T18%3A55%3A47Z"
    "&hdop=6.0&altitude=224.0&speed=0.0"
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class RecordingSink:
    """Keeps what it is given, and on which thread (it must not be the event loop's)."""

    fixes: list[Fix] = field(default_factory=list)
    threads: set[int] = field(default_factory=set)

    def ingest(self, fixes: Sequence[Fix]) -> IngestResult:
        self.threads.add(threading.get_ident())
        self.fixes.extend(fixes)
        return IngestResult(accepted=len(fixes), duplicates=0)


@dataclass
class FailingSink:
    error: Exception

    def ingest(self, fixes: Sequence[Fix]) -> IngestResult:
        raise self.error


@dataclass
class Listener:
    server: OsmAndServer
    client: httpx.AsyncClient
    sink: RecordingSink


@pytest.fixture
async def listener(anyio_backend: str) -> AsyncIterator[Listener]:
    sink = RecordingSink()
    server = OsmAndServer(make_osmand_app(sink, clock=lambda: NOW, max_body_bytes=4096))
    await server.start("127.0.0.1", 0)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
            yield Listener(server, client, sink)
    finally:
        await server.stop()


async def test_traccar_client_get_is_stored_before_the_200(listener: Listener) -> None:
    response = await listener.client.get(EXAMPLE)
    assert (response.status_code, response.content) == (200, b"")
    [fix] = listener.sink.fixes
    assert fix.device_id == "902064"
    assert fix.time == datetime(2016, 1, 27, 18, 55, 47, tzinfo=UTC)
    assert (fix.lat, fix.lon, fix.speed_kmh) == (42.06288, -88.23412, 0.0)
    assert threading.get_ident() not in listener.sink.threads


async def test_any_method_and_any_path(listener: Listener) -> None:
    for method, path in [("POST", EXAMPLE), ("PUT", "/gps" + EXAMPLE[1:]), ("PATCH", EXAMPLE)]:
        response = await listener.client.request(method, path)
        assert response.status_code == 200, (method, path, response.text)
    assert len(listener.sink.fixes) == 3


async def test_form_body(listener: Listener) -> None:
    response = await listener.client.post(
        "/", data={"deviceid": "form-1", "location": "60.0,30.0", "seal": "open", "batt": "55"}
    )
    assert response.status_code == 200, response.text
    [fix] = listener.sink.fixes
    assert (fix.device_id, fix.lat, fix.lon, fix.seal) == ("form-1", 60.0, 30.0, SealState.OPEN)
    assert fix.time == NOW  # no timestamp: the server's clock
    assert fix.attributes == {"batt": 55.0}


async def test_json_body(listener: Listener) -> None:
    report = {
        "device_id": "phone-7",
        "location": {
            "timestamp": "2024-04-30T10:00:00Z",
            "coords": {"latitude": 41.7, "longitude": 44.8, "speed": 5, "heading": 90},
            "battery": {"level": 0.8},
        },
    }
    response = await listener.client.post("/", json=report)
    assert response.status_code == 200, response.text
    [fix] = listener.sink.fixes
    assert (fix.device_id, fix.speed_kmh, fix.course) == ("phone-7", 18.0, 90)
    assert fix.attributes == {"batt": 80.0}


@pytest.mark.parametrize(
    ("request_args", "named"),
    [
        ({"url": "/?timestamp=1377177267&lat=60.0&lon=30.0"}, "id"),
        ({"url": "/?id=1&lat=95&lon=30"}, "lat"),
        ({"url": "/", "content": b"id=1&lat=1&lon=2&speed=warp"}, "speed"),
        ({"url": "/", "content": b"\xff\xfe"}, "body"),
        ({"url": "/", "content": "&".join(["a=1"] * 300).encode()}, "body"),
        (
            {"url": "/", "content": b"{nope", "headers": {"content-type": "application/json"}},
            "body",
        ),
        (
            {"url": "/", "content": b"[" * 3000, "headers": {"content-type": "application/json"}},
            "body",
        ),
        (
            {"url": "/", "json": {"device_id": "d", "location": {"coords": {"latitude": "x"}}}},
            "location.coords.latitude",
        ),
        (
            {
                "url": "/",
                "content": b'{"device_id": NaN}',
                "headers": {"content-type": "application/json"},
            },
            "body",
        ),
    ],
)
async def test_bad_input_is_a_400_naming_the_problem(
    listener: Listener, request_args: dict[str, object], named: str
) -> None:
    response = await listener.client.request("POST", **request_args)  # type: ignore[arg-type]
    assert response.status_code == 400
    assert response.text.startswith(f"{named}: ")
    assert listener.sink.fixes == []


async def test_huge_body_is_413(listener: Listener) -> None:
    response = await listener.client.post("/", content=b"id=1&lat=1&lon=2&x=" + b"9" * 1_000_000)
    assert response.status_code == 413
    assert listener.sink.fixes == []


async def test_huge_chunked_body_is_413(listener: Listener) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(100):
            yield b"9" * 1024

    response = await listener.client.post("/", content=chunks())
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (StoreUnavailable("database down"), 503),
        (RuntimeError("bug in the sink"), 503),
        (NotFound("device 902064 is not registered"), 404),
    ],
)
async def test_sink_failures(anyio_backend: str, error: Exception, status: int) -> None:
    server = OsmAndServer(make_osmand_app(FailingSink(error)))
    await server.start("127.0.0.1", 0)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
            response = await client.get(EXAMPLE)
    finally:
        await server.stop()
    assert response.status_code == status
    if status == 503:  # Traccar Client keeps the position and sends it again
        assert response.headers["retry-after"].isdigit()
        assert "try again" in response.text
    else:
        assert response.text == "device 902064 is not registered"


async def test_lifecycle_and_port(anyio_backend: str) -> None:
    server = OsmAndServer(make_osmand_app(RecordingSink()))
    with pytest.raises(RuntimeError, match="start"):
        _ = server.port
    await server.start("127.0.0.1", 0)
    states = [server.state]
    port = server.port
    assert port > 0
    with pytest.raises(RuntimeError, match="running"):
        await server.start("127.0.0.1", 0)
    await server.stop()
    await server.stop()  # idempotent
    states.append(server.state)
    assert states == [ListenerState.RUNNING, ListenerState.STOPPED]
    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"http://127.0.0.1:{port}/")


async def test_busy_port_is_a_tripp_error(anyio_backend: str) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        server = OsmAndServer(make_osmand_app(RecordingSink()))
        with pytest.raises(OsmAndListenError, match=f"127.0.0.1:{port}"):
            await server.start("127.0.0.1", port)
