"""Posts queued deliveries after commit, and retries them with backoff.

One claim transaction takes a batch of due deliveries (safe with several
processes, see ``store.claim_due``), the POSTs run outside any transaction,
and one more transaction records their outcomes. A delivery is therefore
sent at least once: receivers drop repeats by ``X-Tripp-Delivery``.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import httpx

from tripp.db.uow import UnitOfWork
from tripp.errors import TrippError
from tripp.webhooks import store
from tripp.webhooks.model import Attempt, Backoff, encode_body, settle, signed_headers

log = logging.getLogger("tripp.webhooks")
Clock = Callable[[], datetime]


class WebhookDispatcher:
    """A daemon thread that delivers due webhooks every ``poll_ms``, or sooner when
    ``notify()``-ed; ``deliver_due(now)`` does one round synchronously (tests, CLI).

    ``timeout_s`` bounds each phase of a POST (connect, write, read); the claim
    lease must outlast a whole batch of them, hence ``lease_s``. Redirects are
    not followed: a subscriber gives its final URL.
    """

    def __init__(
        self,
        uow: UnitOfWork,
        *,
        clock: Clock,
        backoff: Backoff | None = None,
        rng: random.Random | None = None,
        poll_ms: int = 2000,
        batch: int = 20,
        workers: int = 4,
        timeout_s: float = 5.0,
        lease_s: float = 300.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if poll_ms <= 0 or batch <= 0 or workers <= 0 or timeout_s <= 0:
            raise ValueError(
                f"poll_ms={poll_ms}, batch={batch}, workers={workers} and "
                f"timeout_s={timeout_s} must all be > 0"
            )
        self._uow = uow
        self._clock = clock
        self._backoff = backoff or Backoff()
        self._rng = rng or random.Random()
        self._poll_s = poll_ms / 1000
        self._batch = batch
        self._lease = timedelta(seconds=lease_s)
        self._http = httpx.Client(timeout=timeout_s, follow_redirects=False, transport=transport)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tripp-webhook")
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # one round at a time in this process

    # --- lifecycle ---------------------------------------------------------------

    def start(self) -> None:
        if self._stopping.is_set():
            raise RuntimeError("the webhook dispatcher is stopped; make a new one")
        if self._thread is not None:
            raise RuntimeError("the webhook dispatcher is started already")
        self._thread = threading.Thread(target=self._run, name="tripp-webhooks", daemon=True)
        self._thread.start()

    def notify(self) -> None:
        """Deliver soon: call after committing a transaction that queued deliveries."""
        self._wake.set()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Finish the round under way, then release the thread, pool and HTTP client."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)
        self._pool.shutdown(wait=True)
        self._http.close()

    def _run(self) -> None:
        while not self._stopping.is_set():
            busy = self._round()
            if not busy:
                self._wake.wait(self._poll_s)
                self._wake.clear()

    def _round(self) -> bool:
        """One round; True when a full batch went out (more may be due at once)."""
        try:
            return self.deliver_due(self._clock()) >= self._batch
        except TrippError as exc:  # the store may be down: the next round retries
            log.warning("webhook round skipped: %s", exc.detail)
        except Exception:  # a bug must not end deliveries for good
            log.exception("webhook round failed; retrying in %.1f s", self._poll_s)
        return False

    # --- one round ---------------------------------------------------------------

    def deliver_due(self, now: datetime) -> int:
        """Attempt the deliveries due at ``now`` (one batch); returns how many."""
        with self._lock:
            with self._uow.write() as conn:
                store.fail_exhausted(conn, now, self._backoff.max_attempts)
                claimed = store.claim_due(
                    conn, now=now, lease_until=now + self._lease, limit=self._batch,
                    max_attempts=self._backoff.max_attempts,
                )  # fmt: skip
            if not claimed:
                return 0
            attempts = list(self._pool.map(self._post, claimed))
            results = [self._settled(c, a, now) for c, a in zip(claimed, attempts, strict=True)]
            with self._uow.write() as conn:
                store.record(conn, results)
            return len(claimed)

    def _settled(self, claimed: store.Claimed, attempt: Attempt, now: datetime) -> store.Recorded:
        settlement = settle(claimed.attempts, attempt, now, self._backoff, self._rng)
        return store.Recorded(claimed, attempt.status_code, attempt.summary, settlement)

    def _post(self, claimed: store.Claimed) -> Attempt:
        body = encode_body(claimed.body)
        # The clock's time of sending, not the round's ``now`` (which tests move
        # ahead): receivers compare it with their own clock to refuse replays.
        stamp = int(self._clock().timestamp())
        headers = signed_headers(claimed.secret, body, timestamp=stamp, delivery_id=claimed.id)
        try:
            # Streamed and never read: the receiver's body is neither needed nor bounded.
            with self._http.stream("POST", claimed.url, content=body, headers=headers) as reply:
                return Attempt(status_code=reply.status_code)
        except Exception as exc:  # one receiver's failure must not cost the batch
            # The class name only: messages can quote the URL, which may carry a token.
            log.info("webhook delivery %d: %s", claimed.id, type(exc).__name__)
            return Attempt(error=type(exc).__name__)
