"""The upstream tripp server, as the node's sync sees it.

Every call ends in one of two ways. An ``Answer``: the upstream decided (2xx, or a 4xx or
500 problem+json), and the sync acts on it. Or ``UpstreamUnreachable``: no connection,
a timeout, a reset, or a gateway saying the server behind it is away (502, 503, 504) or
busy (429, 408). Then nothing is known about the request, so the sync stops the round and
sends the same request again later; the ids make that safe.

Timeouts are short on purpose: a post on a bad link must find out quickly that it is
offline and keep working from its own store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from tripp.post.errors import UpstreamUnreachable

# Statuses that speak for a proxy or an overloaded server, not for the request.
_NOT_AN_ANSWER = frozenset({408, 429, 502, 503, 504})
API_PREFIX = "/api/v1"


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any  # the JSON body, or {"detail": text} when the body is not JSON

    @property
    def detail(self) -> str:
        """The problem's detail (or title) for the officer, else the status alone."""
        if isinstance(self.body, Mapping):
            text = self.body.get("detail") or self.body.get("title")
            if text:
                return f"{self.status}: {text}"
        return f"HTTP {self.status}"


def api_base(url: str) -> str:
    """``http://host:8000`` and ``http://host:8000/api/v1`` both name the same API."""
    base = url.rstrip("/")
    return base if base.endswith(API_PREFIX) else base + API_PREFIX


class Upstream:
    """An HTTP client of the upstream API speaking with the node's bearer token."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout_s: float = 5.0,
        connect_timeout_s: float = 2.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = api_base(url)
        self._http = httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
            transport=transport,
        )

    def post_event(self, mrn: str, body: Mapping[str, Any]) -> Answer:
        return self._call("POST", f"/movements/{mrn}/events", json=body)

    def post_screening(self, office: str, body: Mapping[str, Any]) -> Answer:
        return self._call("POST", f"/offices/{office}/screenings", json=body)

    def expected_page(self, office: str, cursor: str | None, limit: int = 500) -> Answer:
        params: dict[str, str | int] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        return self._call("GET", f"/offices/{office}/expected", params=params)

    def ruleset(self, country: str) -> Answer:
        return self._call("GET", f"/risk/rulesets/{country}")

    def corridor(self) -> Answer:
        return self._call("GET", "/corridor")

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, **kw: Any) -> Answer:
        try:
            response = self._http.request(method, path, **kw)
        except httpx.TransportError as exc:  # connect, read, write, pool, protocol errors
            raise UpstreamUnreachable(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        if response.status_code in _NOT_AN_ANSWER:
            raise UpstreamUnreachable(f"{method} {path}: HTTP {response.status_code}")
        return Answer(response.status_code, _body(response))


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return {"detail": response.text[:500]}
