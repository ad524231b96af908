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

import json
import logging
import math
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import Enum
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from tripp.errors import TrippError
from tripp.tracking.model import Fix, PositionSink, SealState

TOPIC_ROOT = "tripp/positions"
MAX_PAYLOAD_BYTES = 16 * 1024  # a fix is ~150 bytes; the cap bounds what a bad client costs
MAX_DEVICE_ID_CHARS = 64  # the width of positions.device_id
MAX_SPEED_KMH = 1000.0  # faster than any road or rail vehicle: a broken receiver
IDLE_POLL_S = 0.1  # how often an idle loop looks at the stop flag
SINK_POLL_S = 0.002  # how often the loop looks whether the sink has stored a batch
CONNACK_TIMEOUT_S = 10.0

_log = logging.getLogger(__name__)
_CORE_FIELDS = frozenset({"device_id", "time", "lat", "lon", "speed_kmh", "course", "seal"})
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
    device_id = _device_from_topic(topic, root)
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
        attributes=_attributes(body),
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
    return (
        0 < len(device_id) <= MAX_DEVICE_ID_CHARS
        and device_id.isprintable()
        and not any(c.isspace() or c in "/+#" for c in device_id)
    )


def _decode(payload: bytes) -> dict[str, Any]:
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise MqttPayloadError("payload", f"must be at most {MAX_PAYLOAD_BYTES} bytes")
    try:
        body = json.loads(payload.decode("utf-8"), parse_constant=_no_constant)
    except (ValueError, RecursionError):  # bad UTF-8 or JSON, NaN, absurd nesting
        raise MqttPayloadError("payload", "must be a JSON object in UTF-8") from None
    if not isinstance(body, dict):
        raise MqttPayloadError("payload", "must be a JSON object in UTF-8")
    return body


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


def _attributes(body: Mapping[str, Any]) -> dict[str, Any]:
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
    batch: list[paho.MQTTMessage]
    result: Future[tuple[list[Fix | None], list[bool]]]


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

    One thread owns the paho client, the batch and the acknowledgements, so every
    PUBACK goes out on the connection that delivered its message (paho discards
    queued packets on reconnect; a stale one could acknowledge someone else's mid).

    Batches: up to ``batch_max_messages`` messages or ``batch_max_wait_ms`` after the
    first one, whichever comes first, go to the sink in one ``ingest`` call. The sink runs on
    a thread of its own, one batch at a time (so a device's fixes reach it in arrival
    order), while this thread goes on receiving the next batch: the broker may have two in
    flight (Receive Maximum). The acknowledgements of a stored batch still go out from this
    thread, and only on the connection that delivered it.
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
    ) -> None:
        _check_options(client_id, shared_group, topic_root, batch_max_messages, batch_max_wait_ms)
        _check_timing(session_expiry_s, keepalive_s, reconnect_min_s, reconnect_max_s)
        self.address = BrokerAddress.parse(url)
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
        self._client = self._new_client()

        self._state = _State.NEW
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._ready = threading.Event()
        self._counters = MqttCounters()
        self._counters_lock = threading.Lock()
        # Owned by the subscriber thread only.
        self._pending: list[paho.MQTTMessage] = []
        self._storing: _Storing | None = None
        self._link = 0  # bumped whenever a connection ends
        self._sink_thread = ThreadPoolExecutor(1, thread_name_prefix=f"mqtt-sink-{client_id}")
        self._batch_started = 0.0
        self._link_up = False
        self._connack_deadline: float | None = None
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
                if self._link_up:
                    self._pump()
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
        try:
            self._client.connect(
                self.address.host,
                self.address.port,
                keepalive=self._keepalive_s,
                clean_start=False,
                properties=self._connect_properties(),
            )
        except OSError as exc:
            delay = self._connect_backoff.next()
            _log.warning(
                "MQTT broker %s unreachable (%s); retry in %.1fs", self.address, exc, delay
            )
            self._next_attempt_at = time.monotonic() + delay
            return
        self._link_up = True
        self._connack_deadline = time.monotonic() + CONNACK_TIMEOUT_S

    def _pump(self) -> None:
        rc = self._client.loop(timeout=self._loop_timeout())
        if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            delay = self._connect_backoff.next()
            _log.warning(
                "MQTT connection to %s lost (%s); reconnect in %.1fs",
                self.address,
                paho.error_string(rc),
                delay,
            )
            self._drop_link(delay)
        elif self._connack_deadline is not None and time.monotonic() > self._connack_deadline:
            _log.warning("MQTT broker %s sent no CONNACK; reconnecting", self.address)
            self._drop_link(self._connect_backoff.next())
        else:
            self._settle()
            if self._storing is None and self._batch_due():
                self._start_batch()

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
        # A batch still being stored is stored, but not acknowledged: the broker resends it
        # on the next connection and the sink counts the repeats as duplicates.
        self._link += 1
        if self._link_up:
            # A clean DISCONNECT when the socket is alive; a no-op on a dead one.
            self._client.disconnect()
        self._link_up = False
        self._connack_deadline = None
        self._ready.clear()
        self._next_attempt_at = time.monotonic() + reconnect_in_s

    def _shutdown(self) -> None:
        self._settle(wait=True)
        if self._link_up and self._pending:
            self._start_batch()
            self._settle(wait=True)
        self._sink_thread.shutdown(wait=True)
        if self._link_up:
            self._client.disconnect()
        self._link_up = False
        self._ready.clear()

    # -- batches --

    def _start_batch(self) -> None:
        batch, self._pending = self._pending, []
        self._storing = _Storing(self._link, batch, self._sink_thread.submit(self._store, batch))

    def _store(self, batch: list[paho.MQTTMessage]) -> tuple[list[Fix | None], list[bool]]:
        """On the sink thread: parse the batch and store it; per message its fix (None when
        rejected) and, per fix, whether it is stored (see ``_ingest``)."""
        parsed = [self._parse(message) for message in batch]
        return parsed, self._ingest([fix for fix in parsed if fix is not None])

    def _settle(self, *, wait: bool = False) -> None:
        """Acknowledge the batch the sink has stored, if it has."""
        storing = self._storing
        if storing is None or not (wait or storing.result.done()):
            return
        self._storing = None
        parsed, oks = storing.result.result()
        if storing.link != self._link:
            return  # its connection is gone: the broker resends it
        stored = iter(oks)
        redeliver = False
        # PUBACKs go out in arrival order, as MQTT asks of a receiver.
        for message, fix in zip(storing.batch, parsed, strict=True):
            if fix is None or next(stored):
                self._client.ack(message.mid, message.qos)
            else:
                redeliver = True
        if redeliver:
            self._drop_link(self._sink_backoff.next())
        elif any(fix is not None for fix in parsed):
            self._sink_backoff.reset()

    def _parse(self, message: paho.MQTTMessage) -> Fix | None:
        topic = _topic_of(message)
        try:
            return parse_message(topic, bytes(message.payload), root=self.topic_root)
        except MqttPayloadError as exc:
            self._count(rejected=1)
            _log.warning("rejected MQTT message on %.200r: %s", topic, exc.detail)
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

    # -- paho callbacks (subscriber thread, inside loop()) --

    def _on_connect(
        self,
        client: paho.Client,
        userdata: Any,
        flags: paho.ConnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason.is_failure:
            # paho's loop() returns an error next; _pump backs off and retries.
            _log.error("MQTT broker %s refused %s: %s", self.address, self.client_id, reason)
            return
        self._connack_deadline = None
        if self._ever_subscribed:
            self._count(reconnects=1)
            if not flags.session_present:
                _log.warning(
                    "MQTT broker %s had lost the session of %s: messages queued for it are gone",
                    self.address,
                    self.client_id,
                )
        # Always (re)subscribe: cheap, and right when the broker lost the session.
        options = SubscribeOptions(qos=1, retainHandling=SubscribeOptions.RETAIN_SEND_IF_NEW_SUB)
        client.subscribe(self.subscription, options=options)

    def _on_subscribe(
        self,
        client: paho.Client,
        userdata: Any,
        mid: int,
        reasons: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        if any(r.is_failure for r in reasons):
            _log.error("MQTT broker %s refused %s: %s", self.address, self.subscription, reasons)
            self._drop_link(self._connect_backoff.next())
            return
        # Reset only here: a broker that accepts the connection but refuses the
        # subscription must not be retried in a tight loop.
        self._connect_backoff.reset()
        self._ever_subscribed = True
        self._ready.set()
        _log.info("MQTT subscriber %s subscribed to %s", self.client_id, self.subscription)

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        if not self._pending:
            self._batch_started = time.monotonic()
        self._pending.append(message)
        self._count(received=1)

    # -- helpers --

    def _new_client(self) -> paho.Client:
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=MQTTProtocolVersion.MQTTv5,
            reconnect_on_failure=False,  # our loop reconnects, with its own back-off
            manual_ack=True,
        )
        if self.address.username is not None:
            client.username_pw_set(self.address.username, self.address.password)
        if self.address.tls:
            client.tls_set()
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        return client

    def _connect_properties(self) -> Properties:
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]  # paho 2.2
        props.SessionExpiryInterval = self._session_expiry_s
        # Let the broker have two batches in flight, so one fills while the other is stored.
        props.ReceiveMaximum = min(65535, 2 * self._batch_max)
        return props

    def _count(self, **deltas: int) -> None:
        with self._counters_lock:
            for name, delta in deltas.items():
                setattr(self._counters, name, getattr(self._counters, name) + delta)


def _topic_of(message: paho.MQTTMessage) -> str:
    try:
        return message.topic
    except UnicodeDecodeError:  # the broker should have refused it; parse rejects ""
        return ""


def _is_refusal(exc: Exception) -> bool:
    """A sink error about the fixes themselves (4xx), which redelivery cannot cure."""
    return isinstance(exc, TrippError) and 400 <= exc.status < 500


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
