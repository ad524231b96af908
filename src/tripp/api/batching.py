"""Group commit for POST /movements.

Declarations that arrive while a batch is being written wait for the next
one, which takes them all (up to ``max_batch``): one transaction and one
commit for many declarations. Nothing waits on purpose, so a lone request is
written at once; under load the batches grow by themselves and the commit
cost is shared. Each request still gets its own answer, or its own error.
"""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future

from tripp.errors import TrippError
from tripp.movements.lodging import Lodged, LodgeRequest, Outcome, Render, lodge_batch
from tripp.movements.service import Context

log = logging.getLogger("tripp.api.batching")
_STOP = None


class LodgeBatcher:
    def __init__(self, ctx: Context, render: Render, *, max_batch: int = 64) -> None:
        self._ctx = ctx
        self._render = render
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[tuple[LodgeRequest, Future[Lodged]] | None] = (
            queue.SimpleQueue()
        )
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, request: LodgeRequest) -> Lodged:
        """Lodge ``request`` with whatever else is waiting; raises its TrippError."""
        self._ensure_started()
        future: Future[Lodged] = Future()
        self._queue.put((request, future))
        return future.result()

    def _ensure_started(self) -> None:
        # Started on first use rather than at app start-up, so an app driven
        # without its lifespan (some test transports) still answers.
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="tripp-lodge-batcher", daemon=True
                )
                self._thread.start()

    def stop(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(_STOP)
            thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch = [first]
            stop = False
            while len(batch) < self._max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                    break
                batch.append(item)
            self._write([b for b in batch if b is not None])
            if stop:
                return

    def _write(self, batch: list[tuple[LodgeRequest, Future[Lodged]]]) -> None:
        try:
            outcomes: list[Outcome] = lodge_batch(
                self._ctx, [r for r, _ in batch], render=self._render
            )
        except Exception as exc:  # the store failed: every waiting request learns it
            if not isinstance(exc, TrippError):
                log.exception("lodging batch failed")
            for _, future in batch:
                future.set_exception(exc)
            return
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, TrippError):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
