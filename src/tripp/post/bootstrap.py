"""The node's settings and wiring: the one place where store, upstream client, sync loop
and service are built and connected (nothing is created at import time)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from tripp.post.errors import NodeMisconfigured
from tripp.post.service import PostService
from tripp.post.store import NodeStore
from tripp.post.sync import Syncer, SyncLoop
from tripp.post.upstream import Upstream

_OFFICE = re.compile(r"^[A-Z0-9]{1,16}$")


class Secret:
    """A token that never shows in a repr, a log line or a traceback's locals."""

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__


@dataclass(frozen=True)
class PostSettings:
    """What ``tripp post`` is started with; ``check`` names the first bad value."""

    office: str
    upstream: str
    token: Secret
    db: Path
    host: str = "127.0.0.1"
    port: int = 8780
    sync_interval_s: float = 5.0
    timeout_s: float = 5.0

    def check(self) -> None:
        if not _OFFICE.match(self.office):
            raise NodeMisconfigured(f"office={self.office!r} must be an office code, e.g. AM000101")
        parts = urlsplit(self.upstream)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise NodeMisconfigured(
                f"upstream={self.upstream!r} must be an http(s) URL, e.g. http://tripp:8000"
            )
        if not self.token.reveal().strip():
            raise NodeMisconfigured("token must not be empty")
        if self.sync_interval_s <= 0:
            raise NodeMisconfigured(f"sync_interval={self.sync_interval_s} must be > 0 seconds")
        if not 0 < self.port < 65536:
            raise NodeMisconfigured(f"port={self.port} must be within 1-65535")


def default_db(office: str) -> Path:
    return Path(f"tripp-post-{office}.db")


@dataclass
class Node:
    """A wired node. ``close`` stops the loop and releases the store and the client."""

    settings: PostSettings
    store: NodeStore
    upstream: Upstream
    syncer: Syncer
    loop: SyncLoop
    service: PostService

    def close(self) -> None:
        self.loop.stop()
        self.upstream.close()
        self.store.close()


def wire(settings: PostSettings, *, transport: httpx.BaseTransport | None = None) -> Node:
    """Build the node; ``transport`` replaces the network in tests of the sync logic."""
    settings.check()
    store = NodeStore.open(settings.db, settings.office)
    upstream = Upstream(
        settings.upstream,
        settings.token.reveal(),
        timeout_s=settings.timeout_s,
        transport=transport,
    )
    syncer = Syncer(store, upstream, settings.office)
    loop = SyncLoop(syncer, settings.sync_interval_s)
    service = PostService(store, settings.office, recorded=loop.nudge)
    return Node(settings, store, upstream, syncer, loop, service)
