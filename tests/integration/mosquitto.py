"""Mosquitto for the tests: a QoS-1 publisher that knows what the broker acknowledged, and
a private broker on a free port that a test may stop and start (the shared one must never
be stopped)."""

from __future__ import annotations

import ipaddress
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from tests.conftest import IN_CI
from tripp.tracking.mqtt import BrokerAddress

Key = tuple[str, datetime]


def unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(reason + " (CI requires it)", pytrace=False)
    pytest.skip(reason)


def reachable(address: BrokerAddress) -> bool:
    try:
        socket.create_connection((address.host, address.port), timeout=1).close()
    except OSError:
        return False
    return True


def eventually(check: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


class Publisher:
    """A paho QoS-1 publisher that remembers which messages the broker acknowledged."""

    def __init__(self, address: BrokerAddress, client_id: str, ca_file: Path | None = None) -> None:
        self._keys: dict[int, Key] = {}
        self._acked: list[int] = []  # list.append is atomic; paho calls back from its thread
        self._connected = threading.Event()
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5
        )
        self._client.on_connect = self._on_connect
        self._client.on_publish = self._on_publish
        self._client.reconnect_delay_set(1, 1)
        if address.tls:
            self._client.tls_set(ca_certs=str(ca_file) if ca_file else None)
        if address.username is not None:
            self._client.username_pw_set(address.username, address.password)
        self._client.connect(address.host, address.port)
        self._client.loop_start()
        assert self._connected.wait(5), "publisher could not connect"

    def _on_connect(self, *args: Any) -> None:
        self._connected.set()

    def _on_publish(
        self, client: paho.Client, userdata: Any, mid: int, reason: ReasonCode, props: Properties
    ) -> None:
        if not reason.is_failure:
            self._acked.append(mid)

    def send(self, topic: str, key: Key | None, payload: bytes) -> None:
        info = self._client.publish(topic, payload, qos=1)
        if key is not None:
            self._keys[info.mid] = key

    def acked(self) -> set[Key]:
        return {self._keys[mid] for mid in list(self._acked) if mid in self._keys}

    def wait_all_acked(self, timeout_s: float = 10.0) -> None:
        assert eventually(lambda: len(self.acked()) == len(self._keys), timeout_s), (
            f"broker acknowledged {len(self.acked())} of {len(self._keys)}"
        )

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class PrivateBroker:
    """A Mosquitto of our own, with persistence, on a free port; over TLS when given a
    certificate and its key (PEM files)."""

    def __init__(self, binary: str, workdir: Path, tls: tuple[Path, Path] | None = None) -> None:
        self.port = free_port()
        self.url = f"{'mqtts' if tls else 'mqtt'}://127.0.0.1:{self.port}"
        self._binary = binary
        self._log = workdir / "mosquitto.log"
        self._config = workdir / "mosquitto.conf"
        store = workdir / "store"
        store.mkdir()
        lines = [
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous true",
            "persistence true",
            f"persistence_location {store}/",
            "max_queued_messages 100000",  # the default 1000 would drop what we test for
            "log_dest stderr",
        ]
        if tls is not None:
            lines += [f"certfile {tls[0]}", f"keyfile {tls[1]}"]
        if os.geteuid() == 0:  # else Mosquitto switches to a user that cannot write `store`
            lines.append("user root")
        self._config.write_text("\n".join(lines) + "\n")
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self._log.open("ab") as log:
            self._process = subprocess.Popen(
                [self._binary, "-c", str(self._config)], stdout=log, stderr=subprocess.STDOUT
            )
        address = BrokerAddress.parse(self.url)
        if not eventually(lambda: reachable(address), 5):
            self.stop()
            pytest.fail(f"private mosquitto did not start:\n{self._log.read_text()}")

    def stop(self) -> None:
        """SIGTERM: Mosquitto saves its store and exits."""
        if self._process is None:
            return
        self._process.send_signal(signal.SIGTERM)
        try:
            self._process.wait(10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(5)
        self._process = None


# --- certificates for a TLS broker ----------------------------------------------------


class Authority:
    """A certificate authority of the tests' own, which issues server certificates.

    The certificates carry what strict verification asks for (key usages, key
    identifiers), so that they pass Python's default context on newer releases too.
    """

    def __init__(self, workdir: Path, name: str) -> None:
        self._key = ec.generate_private_key(ec.SECP256R1())
        self._name = _common_name(name)
        usage = x509.KeyUsage(
            digital_signature=True, key_cert_sign=True, crl_sign=True,
            content_commitment=False, key_encipherment=False, data_encipherment=False,
            key_agreement=False, encipher_only=False, decipher_only=False,
        )  # fmt: skip
        certificate = self._sign(
            self._name,
            self._key.public_key(),
            [
                (x509.BasicConstraints(ca=True, path_length=None), True),
                (usage, True),
                (x509.SubjectKeyIdentifier.from_public_key(self._key.public_key()), False),
            ],
        )
        self.pem = workdir / f"{name}-ca.pem"
        self.pem.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        self._workdir = workdir

    def issue(self, stem: str, names: list[str]) -> tuple[Path, Path]:
        """A server certificate for ``names`` (DNS names or IP addresses) and its key."""
        key = ec.generate_private_key(ec.SECP256R1())
        alt = [_general_name(n) for n in names]
        certificate = self._sign(
            _common_name(names[0]),
            key.public_key(),
            [
                (x509.SubjectAlternativeName(alt), False),
                (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False),
                (x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()), False),
            ],
        )
        cert_file, key_file = self._workdir / f"{stem}.pem", self._workdir / f"{stem}.key"
        cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
        )
        return cert_file, key_file

    def _sign(
        self,
        subject: x509.Name,
        public_key: ec.EllipticCurvePublicKey,
        extensions: list[tuple[x509.ExtensionType, bool]],
    ) -> x509.Certificate:
        """A certificate this authority signs, valid from a little before now for a day."""
        now = datetime.now(UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self._name)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
        )
        for extension, critical in extensions:
            builder = builder.add_extension(extension, critical=critical)
        return builder.sign(self._key, hashes.SHA256())


def _common_name(name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])


def _general_name(name: str) -> x509.GeneralName:
    """An IP address entry for an address, a DNS name entry otherwise."""
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)
