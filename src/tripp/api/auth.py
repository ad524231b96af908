"""Bearer-token authentication: every API call resolves to an Actor.

Resolved tokens are cached in the process for ``TRIPP_AUTH_CACHE_S`` seconds
(default 5) so a busy client does not cost a database read per call; a
revoked token therefore stops working within that many seconds. Unknown
tokens are never cached, so a token minted a moment ago works at once.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from tripp.api.throttle import FailureThrottle
from tripp.db.uow import UnitOfWork
from tripp.errors import TooManyRequests, Unauthenticated
from tripp.movements.service import Context
from tripp.parties.model import Actor
from tripp.parties.service import authenticate, digest

_bearer = HTTPBearer(auto_error=False, description="A token from 'tripp token create'")


class Authenticator:
    def __init__(
        self,
        uow: UnitOfWork,
        ttl_s: float,
        *,
        max_entries: int = 10_000,
        monotonic: Callable[[], float] = time.monotonic,
        throttle: FailureThrottle | None = None,
    ) -> None:
        self.throttle = throttle or FailureThrottle(monotonic=monotonic)
        self._uow = uow
        self._ttl_s = ttl_s
        self._max = max_entries
        self._monotonic = monotonic
        self._cache: OrderedDict[str, tuple[float, Actor]] = OrderedDict()
        self._lock = threading.Lock()

    def cached(self, token: str) -> Actor | None:
        """The actor of a token resolved recently, without asking the store."""
        if self._ttl_s <= 0:
            return None
        now = self._monotonic()
        with self._lock:
            hit = self._cache.get(digest(token))  # the cache never holds a token itself
        return hit[1] if hit is not None and hit[0] > now else None

    def actor(self, token: str, client: str = "") -> Actor:
        hit = self.cached(token)
        if hit is not None:
            return hit
        wait = self.throttle.retry_after(client)
        if wait is not None:
            raise TooManyRequests(
                f"too many failed authentications from this client; retry in {wait} s", wait
            )
        try:
            resolved = authenticate(self._uow, token)
        except Unauthenticated:
            self.throttle.failed(client)
            raise
        if self._ttl_s <= 0:
            return resolved
        key = digest(token)
        now = self._monotonic()
        with self._lock:
            self._cache[key] = (now + self._ttl_s, resolved)
            self._cache.move_to_end(key)
            while len(self._cache) > self._max:
                self._cache.popitem(last=False)
        return resolved


def context(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


def actor(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    if credentials is None or credentials.scheme.lower() != "bearer":
        # No token at all is a client bug, not a guess: not counted against the client.
        raise Unauthenticated("an 'Authorization: Bearer <token>' header is required")
    authenticator: Authenticator = request.app.state.authenticator
    client = request.client.host if request.client is not None else ""
    return authenticator.actor(credentials.credentials, client)


CurrentActor = Annotated[Actor, Depends(actor)]
Ctx = Annotated[Context, Depends(context)]
