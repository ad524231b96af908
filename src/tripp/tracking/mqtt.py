"""MQTT channel: positions that trackers and gateways publish to a broker.

Topic ``tripp/positions/<device_id>``, QoS 1, payload one JSON object shaped like an
item of ``POST /positions``: ``time`` (RFC 3339 with an offset), ``lat``, ``lon``,
``speed_kmh?``, ``course?``, ``seal?`` (closed, open, tampered). The device id comes
from the topic; a ``device_id`` in the payload must match it. Other keys with scalar
values are kept as ``Fix.attributes``.

Delivery
--------
* Nothing is acknowledged before it is durable: the subscriber uses manual PUBACKs
  and sends them only after ``sink.ingest`` returned (the sink's contract is
  "durable on return").
* Nothing published while a worker is down is lost by us: an MQTT 5 persistent
  session (fixed client id, Clean Start 0, a Session Expiry Interval) makes the
  broker keep QoS-1 messages for the worker and resend unacknowledged ones when it
  comes back.
* A sink failure acknowledges nothing. MQTT brokers resend unacknowledged messages
  only when a session resumes, never on a live connection, so the subscriber drops
  the connection (keeping the session) and reconnects after a back-off.
* Duplicates follow from redelivery and are harmless: positions are keyed by
  (device_id, time) and the sink counts repeats as duplicates.
* Poison messages (bad JSON, missing or bad fields, or fixes the sink refuses with
  a 4xx ``TrippError``) are counted, logged without their payload, and acknowledged
  so that they cannot loop.

Shared subscriptions and per-device order
-----------------------------------------
With ``shared_group`` each ``tripp track`` worker subscribes to
``$share/<group>/tripp/positions/+`` and the broker gives each message to one member
of the group. It chooses per message, not per device, so two fixes of one device may
go to two workers and be stored in either order; MQTT promises order only within one
session. What protects us: positions are stored by (device_id, time), whatever the
arrival order, and evaluated in time order. The limit: a worker may store a fix a
moment before another worker stores an earlier fix of the same device, so anything
that reads "the latest fix" in that instant can see the later one first.

Broker settings this relies on (Mosquitto)
------------------------------------------
* ``persistence true``. Mosquitto writes its store every ``autosave_interval`` and at
  a clean shutdown (SIGTERM); after a crash, what it acknowledged since the last save
  is gone. That is the broker's limit, not ours.
* ``max_queued_messages`` (1000 per session by default): beyond it Mosquitto drops
  QoS-1 messages for a session that is offline or busy. Size it to the longest outage
  to ride out.
* A shared-group member whose session is alive but offline still gets its share,
  queued until it returns; when that session expires, Mosquitto discards its queue
  rather than handing it to another member. Retire a worker's client id on purpose.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import ssl
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import Enum
from typing import Any
from urllib.parse import unquote, urlsplit

import orjson

from tripp.errors import TrippError
from tripp.tracking import mqtt_wire as wire
from tripp.tracking.model import Fix, PositionSink, SealState

TOPIC_ROOT = "tripp/positions"
MAX_PAYLOAD_BYTES = 16 * 1024  # a fix is ~150 bytes; the cap bounds what a bad client costs
MAX_DEVICE_ID_CHARS = 64  # the width of positions.device_id
MAX_SPEED_KMH = 1000.0  # faster than any road or rail vehicle: a broken receiver
IDLE_POLL_S = 0.1  # how often an idle loop looks at the stop flag
SINK_POLL_S = 0.002  # how often the loop looks whether the sink has stored a batch
CONNACK_TIMEOUT_S = 10.0
DEVICES_KEPT = 100_000  # topics whose device id a subscriber keeps; then it starts afresh
SUBSCRIBE_PACKET_ID = 1  # the only SUBSCRIBE of a connection

_log = logging.getLogger(__name__)
_CORE_FIELDS = frozenset({"device_id", "time", "lat", "lon", "speed_kmh", "course", "seal"})
# orjson reads integers within -2^63..2^64-1 as int, others as floats (which round to at
# most -2^63 or at least 2^64).
_ORJSON_INT_MIN = -(2.0**63)
_ORJSON_INT_MAX = 2.0**64
_SEAL_NAMES = frozenset(s.value for s in SealState)
_SEAL_VALUES = ", ".join(s.value for s in SealState)


class MqttError(TrippError):
    """Root of the MQTT channel's errors."""


class MqttConfigError(MqttError):
    """A broker URL or subscriber option that cannot work."""

    title = "MQTT configuration error"
    slug = "mqtt-configuration"


class MqttPayloadError(MqttError):
    """A message that is not a position; ``field`` names the offending part.

    Messages never quote the payload: logs must not carry what devices send.
    """

    status = 422
    title = "Invalid MQTT payload"
    slug = "invalid-mqtt-payload"

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


# --- parsing (pure) ---------------------------------------------------------------


def parse_message(topic: str, payload: bytes, *, root: str = TOPIC_ROOT) -> Fix:
    """The fix in one message on ``<root>/<device_id>``.

    Raises ``MqttPayloadError`` naming the field (``topic``, ``payload``, ``device_id``,
    ``time``, ``lat``, ``lon``, ``speed_kmh``, ``course``, ``seal`` or an extra key).
    """
    return parse_payload(_device_from_topic(topic, root), payload)


def parse_payload(device_id: str, payload: bytes) -> Fix:
    """The fix in a message of ``device_id`` (from its topic); ``parse_message``'s errors
    but ``topic``."""
    body = _decode(payload)
    _check_same_device(body, device_id)
    return Fix(
        device_id=device_id,
        time=_time(body),
        lat=_required_number(body, "lat", -90.0, 90.0),
        lon=_required_number(body, "lon", -180.0, 180.0),
        speed_kmh=_optional_number(body, "speed_kmh", 0.0, MAX_SPEED_KMH),
        course=_optional_number(body, "course", 0.0, 360.0),
        seal=_seal(body),
        attributes=_attributes(body, payload),
    )


def _device_from_topic(topic: str, root: str) -> str:
    prefix = root + "/"
    if not topic.startswith(prefix):
        raise MqttPayloadError("topic", f"must be {root}/<device_id>")
    device_id = topic[len(prefix) :]
    if not _valid_device_id(device_id):
        raise MqttPayloadError(
            "topic",
            f"device id must be 1-{MAX_DEVICE_ID_CHARS} printable characters "
            "without spaces, '/', '+' or '#'",
        )
    return device_id


def _valid_device_id(device_id: str) -> bool:
    # No whitespace: the only whitespace that str.isprintable lets through is " ".
    return (
        0 < len(device_id) <= MAX_DEVICE_ID_CHARS
        and device_id.isprintable()
        and " " not in device_id
        and "/" not in device_id
        and "+" not in device_id
        and "#" not in device_id
    )


def _decode(payload: bytes) -> dict[str, Any]:
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise MqttPayloadError("payload", f"must be at most {MAX_PAYLOAD_BYTES} bytes")
    # orjson is five times faster than json. json decides whatever orjson refuses (json
    # accepts a lone surrogate escape, which orjson refuses). The one difference left:
    # integers beyond 64 bits, which orjson reads as floats; in the core fields they fail
    # the same range check either way, and ``_attributes`` reads the extras again with json.
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError:
        body = _decode_with_json(payload)
    if not isinstance(body, dict):
        raise MqttPayloadError("payload", "must be a JSON object in UTF-8")
    return body


def _decode_with_json(payload: bytes) -> Any:
    try:
        return json.loads(payload.decode("utf-8"), parse_constant=_no_constant)
    except (ValueError, RecursionError):  # bad UTF-8 or JSON, NaN, absurd nesting
        raise MqttPayloadError("payload", "must be a JSON object in UTF-8") from None


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _check_same_device(body: Mapping[str, Any], device_id: str) -> None:
    claimed = body.get("device_id")
    if claimed is not None and claimed != device_id:
        raise MqttPayloadError("device_id", "must match the device id in the topic")


def _time(body: Mapping[str, Any]) -> datetime:
    raw = body.get("time")
    if raw is None:
        raise MqttPayloadError("time", "is required")
    if not isinstance(raw, str):
        raise MqttPayloadError("time", "must be an RFC 3339 string")
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise MqttPayloadError("time", "must be RFC 3339, e.g. 2024-05-01T12:00:00Z") from None
    if parsed.utcoffset() is None:
        raise MqttPayloadError("time", "must carry a UTC offset (Z or +hh:mm)")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # e.g. year 1 with a positive offset
        raise MqttPayloadError("time", "is out of range") from None


def _required_number(body: Mapping[str, Any], name: str, low: float, high: float) -> float:
    value = _optional_number(body, name, low, high)
    if value is None:
        raise MqttPayloadError(name, "is required")
    return value


def _optional_number(body: Mapping[str, Any], name: str, low: float, high: float) -> float | None:
    raw = body.get(name)
    if type(raw) is float and low <= raw <= high:  # the usual case; NaN and inf fail the test
        return raw
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise MqttPayloadError(name, "must be a number")
    try:
        value = float(raw)
    except OverflowError:  # an integer too large for a float
        raise MqttPayloadError(name, "must be finite") from None
    if not math.isfinite(value):
        raise MqttPayloadError(name, "must be finite")
    if not low <= value <= high:
        raise MqttPayloadError(name, f"must be within {low:g}..{high:g}")
    return value


def _seal(body: Mapping[str, Any]) -> SealState | None:
    raw = body.get("seal")
    if raw is None:
        return None
    if not isinstance(raw, str) or raw not in _SEAL_NAMES:
        raise MqttPayloadError("seal", f"must be one of {_SEAL_VALUES}")
    return SealState(raw)


def _attributes(body: Mapping[str, Any], payload: bytes) -> dict[str, Any]:
    if body.keys() <= _CORE_FIELDS:  # the usual case, tested without a loop
        return {}
    extras = {k: v for k, v in body.items() if k not in _CORE_FIELDS}
    if extras and any(
        type(v) is float and not _ORJSON_INT_MIN < v < _ORJSON_INT_MAX for v in extras.values()
    ):  # perhaps an integer beyond 64 bits that orjson made a float: json keeps it an int
        body = _decode_with_json(payload)
        extras = {k: v for k, v in body.items() if k not in _CORE_FIELDS}
    for key, value in extras.items():
        if value is not None and not isinstance(value, str | int | float | bool):
            raise MqttPayloadError(
                key[:64], "extra fields must be a string, number, boolean or null"
            )
    return extras


# --- broker address ---------------------------------------------------------------


@dataclass(frozen=True)
class BrokerAddress:
    """Where the broker listens: ``mqtt://[user:pass@]host[:port]`` or ``mqtts://``."""

    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @classmethod
    def parse(cls, url: str) -> BrokerAddress:
        """Raises ``MqttConfigError`` quoting the URL without its password."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise MqttConfigError(f"MQTT URL {_redact(url)!r} is malformed") from None
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise MqttConfigError(f"MQTT URL {_redact(url)!r} must be mqtt://host[:port]")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise MqttConfigError(f"MQTT URL {_redact(url)!r} must not have a path or query")
        tls = parts.scheme == "mqtts"
        return cls(
            host=parts.hostname,
            port=port or (8883 if tls else 1883),
            tls=tls,
            username=unquote(parts.username) if parts.username is not None else None,
            password=unquote(parts.password) if parts.password is not None else None,
        )

    def __str__(self) -> str:
        user = f"{self.username}@" if self.username else ""
        return f"{'mqtts' if self.tls else 'mqtt'}://{user}{self.host}:{self.port}"


def _redact(url: str) -> str:
    """The URL with any password replaced, safe for logs and errors."""
    scheme, _, rest = url.partition("//")
    userinfo, at, hostport = rest.rpartition("@")
    if not at or ":" not in userinfo:
        return url
    return f"{scheme}//{userinfo.split(':', 1)[0]}:***@{hostport}"


# --- the subscriber ---------------------------------------------------------------


@dataclass
class MqttCounters:
    """What a subscriber has seen since it started (a snapshot when read).

    ``received``: messages the broker delivered, redeliveries included;
    ``ingested``: fixes the sink stored or found already stored (``duplicates``);
    ``rejected``: poison messages, acknowledged and dropped;
    ``sink_failures``: failed ``ingest`` calls, left unacknowledged for redelivery;
    ``reconnects``: sessions resumed after the first one (broker outages, sink failures).
    """

    received: int = 0
    ingested: int = 0
    duplicates: int = 0
    rejected: int = 0
    sink_failures: int = 0
    reconnects: int = 0


@dataclass
class _Storing:
    """A batch the sink is storing on the sink thread; ``link``: the connection it came on."""

    link: int
    packet_ids: list[int | None]  # per message; None at QoS 0
    fixes: list[Fix | None]  # per message; None when rejected
    result: Future[list[bool]]


class _State(Enum):
    NEW = "new"
    RUNNING = "running"
    STOPPED = "stopped"


class _Backoff:
    """Doubling delays between ``first_s`` and ``max_s``."""

    def __init__(self, first_s: float, max_s: float) -> None:
        self._first_s = first_s
        self._max_s = max_s
        self._next_s = first_s

    def next(self) -> float:
        delay = self._next_s
        self._next_s = min(self._next_s * 2, self._max_s)
        return delay

    def reset(self) -> None:
        self._next_s = self._first_s


class MqttSubscriber:
    """Feeds positions from a broker into ``sink``; see the module docstring for guarantees.

    One thread owns the connection (``mqtt_wire.Connection``), the batch and the
    acknowledgements, so every PUBACK goes out on the connection that delivered its
    message (a packet id means nothing on another connection).

    Batches: up to ``batch_max_messages`` messages or ``batch_max_wait_ms`` after the
    first one, whichever comes first, go to the sink in one ``ingest`` call. The sink runs on
    a thread of its own, one batch at a time (so a device's fixes reach it in arrival
    order), while this thread goes on receiving the next batch: the broker may have two in
    flight (Receive Maximum). The acknowledgements of a stored batch still go out from this
    thread, in one write, and only on the connection that delivered it.

    The receiver is ``mqtt_wire`` rather than paho-mqtt, whose per-message cost (about
    100 µs of CPU) held this subscriber at under half of what the sink can store; see that
    module's docstring for the figures. Messages are parsed on arrival on this thread, so
    the sink thread only stores.
    """

    def __init__(
        self,
        url: str,
        sink: PositionSink,
        client_id: str,
        shared_group: str | None = None,
        *,
        topic_root: str = TOPIC_ROOT,
        batch_max_messages: int = 500,
        batch_max_wait_ms: int = 50,
        session_expiry_s: int = 7 * 24 * 3600,
        keepalive_s: int = 60,
        reconnect_min_s: float = 0.5,
        reconnect_max_s: float = 30.0,
        ca_file: str | None = None,
    ) -> None:
        _check_options(client_id, shared_group, topic_root, batch_max_messages, batch_max_wait_ms)
        _check_timing(session_expiry_s, keepalive_s, reconnect_min_s, reconnect_max_s)
        self.address = BrokerAddress.parse(url)
        self._tls = _tls_context(self.address, ca_file)
        self.client_id = client_id
        self.topic_root = topic_root
        self.subscription = (
            f"$share/{shared_group}/{topic_root}/+" if shared_group else f"{topic_root}/+"
        )
        self._sink = sink
        self._batch_max = batch_max_messages
        self._batch_wait_s = batch_max_wait_ms / 1000
        self._session_expiry_s = session_expiry_s
        self._keepalive_s = keepalive_s
        self._connect_backoff = _Backoff(reconnect_min_s, reconnect_max_s)
        self._sink_backoff = _Backoff(reconnect_min_s, reconnect_max_s)

        self._state = _State.NEW
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._ready = threading.Event()
        self._counters = MqttCounters()
        self._counters_lock = threading.Lock()
        # Owned by the subscriber thread only.
        self._conn: wire.Connection | None = None  # None: no connection
        # The batch being gathered, parsed on arrival: per message its packet id and fix.
        self._pending: list[int | None] = []
        self._pending_fixes: list[Fix | None] = []
        self._devices: dict[bytes, str] = {}  # topic → the device id it names
        self._storing: _Storing | None = None
        self._link = 0  # bumped whenever a connection ends
        self._sink_thread = ThreadPoolExecutor(1, thread_name_prefix=f"mqtt-sink-{client_id}")
        self._batch_started = 0.0
        self._connack_deadline: float | None = None
        self._link_keepalive_s = keepalive_s  # the broker may set another (Server Keep Alive)
        self._ping_sent_at: float | None = None
        self._next_attempt_at = 0.0
        self._ever_subscribed = False

    # -- lifecycle --

    def start(self) -> None:
        """Connect and consume in a background thread; returns at once."""
        if self._state is not _State.NEW:
            raise MqttError(f"MQTT subscriber {self.client_id} is {self._state.value}; start once")
        self._state = _State.RUNNING
        self._thread = threading.Thread(
            target=self._run, name=f"mqtt-{self.client_id}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Store and acknowledge the batch in hand, disconnect (the session stays)."""
        if self._state is not _State.RUNNING:
            self._state = _State.STOPPED
            return
        self._stopping.set()
        assert self._thread is not None
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            _log.warning("MQTT subscriber %s did not stop within %ss", self.client_id, timeout_s)
        self._state = _State.STOPPED

    def wait_ready(self, timeout_s: float) -> bool:
        """True once connected and subscribed (within ``timeout_s`` seconds)."""
        return self._ready.wait(timeout_s)

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    @property
    def counters(self) -> MqttCounters:
        with self._counters_lock:
            return replace(self._counters)

    # -- the loop (subscriber thread) --

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                if self._conn is not None:
                    self._pump(self._conn)
                else:
                    self._connect()
            except Exception:  # a bug here must not end the worker; the broker keeps our messages
                _log.exception("MQTT subscriber %s failed; reconnecting", self.client_id)
                self._drop_link(self._connect_backoff.next())
        self._shutdown()

    def _connect(self) -> None:
        wait_s = self._next_attempt_at - time.monotonic()
        if wait_s > 0:
            self._stopping.wait(wait_s)
            return
        address = self.address
        password = None if address.password is None else address.password.encode()
        connect = wire.Connect(
            self.client_id,
            self._keepalive_s,
            clean_start=False,
            username=address.username,
            password=password,
            properties=(
                (wire.SESSION_EXPIRY_INTERVAL, self._session_expiry_s),
                # Let the broker have two batches in flight, so one fills while the other
                # is stored.
                (wire.RECEIVE_MAXIMUM, min(65535, 2 * self._batch_max)),
            ),
        )
        try:
            conn = wire.Connection(
                address.host, address.port, tls=self._tls, timeout_s=CONNACK_TIMEOUT_S
            )
        except OSError as exc:
            delay = self._connect_backoff.next()
            _log.warning("MQTT broker %s unreachable (%s); retry in %.1fs", address, exc, delay)
            self._next_attempt_at = time.monotonic() + delay
            return
        self._conn = conn
        self._connack_deadline = time.monotonic() + CONNACK_TIMEOUT_S
        self._link_keepalive_s = self._keepalive_s
        self._ping_sent_at = None
        try:
            conn.send(wire.encode(connect))
        except OSError as exc:
            self._lost(exc)

    def _pump(self, conn: wire.Connection) -> None:
        try:
            packets = conn.read(self._loop_timeout())
        except (OSError, wire.WireError) as exc:
            self._lost(exc)
            return
        if packets:
            self._receive(conn, packets)
            if self._conn is not conn:
                return  # the packets ended this connection
        now = time.monotonic()
        if self._connack_deadline is not None and now > self._connack_deadline:
            _log.warning("MQTT broker %s sent no CONNACK; reconnecting", self.address)
            self._drop_link(self._connect_backoff.next())
            return
        if not self._keep_alive(conn, now):
            return
        self._settle()
        if self._storing is None and self._batch_due():
            self._start_batch()

    def _receive(self, conn: wire.Connection, packets: list[wire.Packet]) -> None:
        """Dispatch what one read brought; PUBLISHes join the batch being gathered."""
        pending = self._pending
        fixes = self._pending_fixes
        parse = self._parse
        received = 0
        for packet in packets:
            if type(packet) is wire.Publish and packet.qos < 2:
                if not pending:
                    self._batch_started = time.monotonic()
                # Parsed here rather than on the sink thread: this thread is mostly idle,
                # and parsing overlaps with the sink's waits on the database.
                pending.append(packet.packet_id)
                fixes.append(parse(packet))
                received += 1
            elif isinstance(packet, wire.Connack):
                self._on_connack(conn, packet)
            elif isinstance(packet, wire.Suback):
                self._on_suback(packet)
            elif isinstance(packet, wire.PingResp):
                self._ping_sent_at = None
            elif isinstance(packet, wire.Disconnect):
                reason = wire.property_value(packet.properties, wire.REASON_STRING)
                self._lost(f"the broker disconnected: reason 0x{packet.reason_code:02x} {reason!r}")
            else:
                self._lost(f"unexpected {type(packet).__name__} from the broker")
            if self._conn is not conn:
                break
        if received:
            self._count(received=received)

    def _lost(self, why: object) -> None:
        delay = self._connect_backoff.next()
        _log.warning(
            "MQTT connection to %s lost (%s); reconnect in %.1fs", self.address, why, delay
        )
        self._drop_link(delay)

    def _keep_alive(self, conn: wire.Connection, now: float) -> bool:
        """PINGREQ when we have sent nothing for a while; False when the broker went quiet."""
        keepalive = self._link_keepalive_s
        if not keepalive or self._connack_deadline is not None:
            return True
        if self._ping_sent_at is not None:
            if now - self._ping_sent_at > keepalive:
                self._lost("no PINGRESP")
                return False
        elif now - conn.last_sent >= keepalive * 0.75:
            try:
                conn.send(wire.PINGREQ_BYTES)
            except OSError as exc:
                self._lost(exc)
                return False
            self._ping_sent_at = now
        return True

    def _loop_timeout(self) -> float:
        if self._storing is not None:
            return SINK_POLL_S
        if not self._pending:
            return IDLE_POLL_S
        return max(0.0, self._batch_started + self._batch_wait_s - time.monotonic())

    def _batch_due(self) -> bool:
        if not self._pending:
            return False
        full = len(self._pending) >= self._batch_max
        return full or time.monotonic() >= self._batch_started + self._batch_wait_s

    def _drop_link(self, reconnect_in_s: float) -> None:
        """Close the connection, keep the session; unacknowledged messages come back."""
        if self._pending:
            _log.info("leaving %d unacknowledged messages to the broker", len(self._pending))
        self._pending = []
        self._pending_fixes = []
        # A batch still being stored is stored, but not acknowledged: the broker resends it
        # on the next connection and the sink counts the repeats as duplicates.
        self._link += 1
        self._close()
        self._connack_deadline = None
        self._ready.clear()
        self._next_attempt_at = time.monotonic() + reconnect_in_s

    def _close(self) -> None:
        """A clean DISCONNECT (the session stays) when the socket is alive, then close it."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        with contextlib.suppress(OSError):  # a dead socket: nothing to say goodbye on
            conn.send(wire.DISCONNECT_BYTES)
        conn.close()

    def _shutdown(self) -> None:
        self._settle(wait=True)
        while self._conn is not None and self._pending:
            self._start_batch()
            self._settle(wait=True)
        self._sink_thread.shutdown(wait=True)
        self._close()
        self._ready.clear()

    # -- batches --

    def _start_batch(self) -> None:
        ids, fixes, n = self._pending, self._pending_fixes, self._batch_max
        if len(ids) > n:  # one read can bring more than a batch
            self._pending, self._pending_fixes = ids[n:], fixes[n:]
            ids, fixes = ids[:n], fixes[:n]
            self._batch_started = time.monotonic()
        else:
            self._pending, self._pending_fixes = [], []
        stored = self._sink_thread.submit(self._ingest, [fix for fix in fixes if fix is not None])
        self._storing = _Storing(self._link, ids, fixes, stored)

    def _settle(self, *, wait: bool = False) -> None:
        """Acknowledge the batch the sink has stored, if it has."""
        storing = self._storing
        if storing is None or not (wait or storing.result.done()):
            return
        self._storing = None
        oks = storing.result.result()
        if storing.link != self._link or self._conn is None:
            return  # its connection is gone: the broker resends it
        stored = iter(oks)
        acks: list[int] = []
        redeliver = False
        # PUBACKs go out in arrival order, as MQTT asks of a receiver.
        for packet_id, fix in zip(storing.packet_ids, storing.fixes, strict=True):
            if fix is None or next(stored):
                if packet_id is not None:  # QoS 0 needs none
                    acks.append(packet_id)
            else:
                redeliver = True
        if acks:
            try:
                self._conn.send(wire.encode_pubacks(acks))
            except OSError as exc:
                self._lost(exc)
                return
        if redeliver:
            self._drop_link(self._sink_backoff.next())
        elif oks:
            self._sink_backoff.reset()

    def _parse(self, message: wire.Publish) -> Fix | None:
        # A device publishes on the same topic again and again: its id is decoded and
        # checked once (a fifth of the cost of parsing a message).
        device_id = self._devices.get(message.topic)
        try:
            if device_id is None:
                device_id = _device_from_topic(_topic_of(message), self.topic_root)
                if len(self._devices) >= DEVICES_KEPT:
                    self._devices.clear()
                self._devices[message.topic] = device_id
            return parse_payload(device_id, message.payload)
        except MqttPayloadError as exc:
            self._count(rejected=1)
            _log.warning("rejected MQTT message on %.200r: %s", _topic_of(message), exc.detail)
            return None

    def _ingest(self, fixes: Sequence[Fix]) -> list[bool]:
        """Per fix: True when stored (or refused for good), False to leave for redelivery."""
        if not fixes:
            return []
        try:
            result = self._sink.ingest(fixes)
        except Exception as exc:  # any sink error: decide between poison and outage below
            return self._after_sink_error(fixes, exc)
        self._count(ingested=len(fixes), duplicates=result.duplicates)
        return [True] * len(fixes)

    def _after_sink_error(self, fixes: Sequence[Fix], exc: Exception) -> list[bool]:
        if not _is_refusal(exc):
            self._count(sink_failures=1)
            _log.error(
                "position sink failed on %d fixes; left unacknowledged for redelivery",
                len(fixes),
                exc_info=exc,
            )
            return [False] * len(fixes)
        if len(fixes) > 1:  # find the fix the sink refuses, store the others
            return [ok for fix in fixes for ok in self._ingest([fix])]
        self._count(rejected=1)
        _log.warning("sink refused the fix of %s at %s: %s", fixes[0].device_id, fixes[0].time, exc)
        return [True]

    # -- the broker's answers (subscriber thread) --

    def _on_connack(self, conn: wire.Connection, connack: wire.Connack) -> None:
        if self._connack_deadline is None:
            self._lost("a second CONNACK")
            return
        if connack.reason_code >= 0x80:
            reason = wire.property_value(connack.properties, wire.REASON_STRING)
            _log.error(
                "MQTT broker %s refused %s: reason 0x%02x %s",
                self.address,
                self.client_id,
                connack.reason_code,
                reason or "",
            )
            self._drop_link(self._connect_backoff.next())
            return
        self._connack_deadline = None
        server_keepalive = wire.property_value(connack.properties, wire.SERVER_KEEP_ALIVE)
        if isinstance(server_keepalive, int):
            self._link_keepalive_s = server_keepalive
        if self._ever_subscribed:
            self._count(reconnects=1)
            if not connack.session_present:
                _log.warning(
                    "MQTT broker %s had lost the session of %s: messages queued for it are gone",
                    self.address,
                    self.client_id,
                )
        # Always (re)subscribe: cheap, and right when the broker lost the session.
        subscribe = wire.Subscribe(
            SUBSCRIBE_PACKET_ID,
            self.subscription,
            qos=1,
            retain_handling=wire.RETAIN_SEND_IF_NEW_SUB,
        )
        try:
            conn.send(wire.encode(subscribe))
        except OSError as exc:
            self._lost(exc)

    def _on_suback(self, suback: wire.Suback) -> None:
        if suback.packet_id != SUBSCRIBE_PACKET_ID or any(c >= 0x80 for c in suback.reason_codes):
            _log.error(
                "MQTT broker %s refused %s: %s",
                self.address,
                self.subscription,
                ", ".join(f"0x{c:02x}" for c in suback.reason_codes),
            )
            self._drop_link(self._connect_backoff.next())
            return
        # Reset only here: a broker that accepts the connection but refuses the
        # subscription must not be retried in a tight loop.
        self._connect_backoff.reset()
        self._ever_subscribed = True
        self._ready.set()
        _log.info("MQTT subscriber %s subscribed to %s", self.client_id, self.subscription)

    # -- helpers --

    def _count(self, **deltas: int) -> None:
        with self._counters_lock:
            for name, delta in deltas.items():
                setattr(self._counters, name, getattr(self._counters, name) + delta)


def _topic_of(message: wire.Publish) -> str:
    try:
        return message.topic.decode()
    except UnicodeDecodeError:  # the broker should have refused it; parse rejects ""
        return ""


def _is_refusal(exc: Exception) -> bool:
    """A sink error about the fixes themselves (4xx), which redelivery cannot cure."""
    return isinstance(exc, TrippError) and 400 <= exc.status < 500


def _tls_context(address: BrokerAddress, ca_file: str | None) -> ssl.SSLContext | None:
    """The TLS context of an ``mqtts://`` broker: its certificate must verify against the
    system's authorities, or only against those in ``ca_file`` (a PEM bundle) when given,
    and name the host. Built once, so a bad ``ca_file`` fails at start, not at every
    reconnection."""
    if not address.tls:
        if ca_file:
            raise MqttConfigError(f"a CA file is set but the MQTT URL {address} is not mqtts://")
        return None
    try:
        return ssl.create_default_context(cafile=ca_file or None)
    except (OSError, ssl.SSLError) as exc:
        raise MqttConfigError(f"MQTT CA file {ca_file!r} cannot be read as PEM: {exc}") from None


def _check_options(
    client_id: str,
    shared_group: str | None,
    topic_root: str,
    batch_max_messages: int,
    batch_max_wait_ms: int,
) -> None:
    if not client_id:
        raise MqttConfigError("client_id must not be empty: the session is keyed by it")
    if shared_group is not None and (not shared_group or any(c in shared_group for c in "/+#")):
        raise MqttConfigError(f"shared_group={shared_group!r} must be a non-empty topic level")
    if not topic_root or topic_root.startswith("$") or topic_root.endswith("/"):
        raise MqttConfigError(f"topic_root={topic_root!r} must be a topic without a trailing /")
    if any(c in topic_root for c in "+#"):
        raise MqttConfigError(f"topic_root={topic_root!r} must not contain wildcards")
    if not 1 <= batch_max_messages <= 32767:
        raise MqttConfigError(f"batch_max_messages={batch_max_messages} must be within 1..32767")
    if batch_max_wait_ms < 0:
        raise MqttConfigError(f"batch_max_wait_ms={batch_max_wait_ms} must be >= 0")


def _check_timing(
    session_expiry_s: int, keepalive_s: int, reconnect_min_s: float, reconnect_max_s: float
) -> None:
    if not 1 <= session_expiry_s <= 0xFFFFFFFF:
        raise MqttConfigError(f"session_expiry_s={session_expiry_s} must be within 1..2^32-1")
    if not 1 <= keepalive_s <= 65535:
        raise MqttConfigError(f"keepalive_s={keepalive_s} must be within 1..65535")
    if not 0 < reconnect_min_s <= reconnect_max_s:
        raise MqttConfigError(
            f"reconnect_min_s={reconnect_min_s}, reconnect_max_s={reconnect_max_s}: "
            "need 0 < min <= max"
        )
