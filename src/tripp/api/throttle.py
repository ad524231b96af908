"""Brute-force protection: failed authentications per client, as a leaky bucket.

Each client (by address) may fail ``burst`` times; the allowance refills at one failure
per ``refill_s`` seconds. An empty bucket refuses that client's unknown tokens with 429
and Retry-After before they are looked up, so guessing costs the guesser time, not the
store a query. Tokens already known good (in the authenticator's cache) still pass: a
colleague behind the same NAT as an attacker keeps working.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable


class FailureThrottle:
    def __init__(
        self,
        burst: int = 20,
        refill_s: float = 3.0,
        *,
        max_clients: int = 100_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.burst = burst
        self.refill_s = refill_s
        self._max = max_clients
        self._monotonic = monotonic
        # client -> (failures still counted, when that count was last updated)
        self._debt: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def _current(self, client: str, now: float) -> float:
        found = self._debt.get(client)
        if found is None:
            return 0.0
        debt, since = found
        return max(0.0, debt - (now - since) / self.refill_s)

    def retry_after(self, client: str) -> int | None:
        """Seconds until ``client`` may try an unknown token again; None when it may now."""
        if self.burst <= 0:
            return None
        with self._lock:
            debt = self._current(client, self._monotonic())
        # One more failure must still fit: a debt over burst - 1 waits until it drains to it.
        excess = debt - (self.burst - 1)
        if excess <= 0:
            return None
        return max(1, math.ceil(excess * self.refill_s))

    def failed(self, client: str) -> None:
        now = self._monotonic()
        with self._lock:
            self._debt[client] = (self._current(client, now) + 1.0, now)
            self._debt.move_to_end(client)
            while len(self._debt) > self._max:  # forget the quietest clients first
                self._debt.popitem(last=False)
