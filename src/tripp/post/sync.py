"""Synchronisation with the upstream: one round pushes, then pulls.

A round:

1. pushes the pending events in recording order, each as its stored body with its own
   id. 201 or 200 (the id was already there) → synced; 404, 409, 422 and other 4xx →
   conflict, kept with the upstream's problem for the officer, never deleted; 500 → tried
   again next round, and the movement's later events wait behind it so their order holds;
   401 or 403 → the round stops (the token is the problem, not the events); no answer →
   the round stops and the row stays pending.
2. pushes the pending screenings the same way; a screening the upstream decides in
   another lane is stored there, and flagged a conflict here for the officer.
3. pulls the office's expected list (every page) and its country's ruleset, replacing the
   mirror in one transaction.

A row is marked only after the upstream answered it, in its own transaction. A crash
between the upstream's commit and that mark leaves the row pending: the next round sends
the same body with the same id and the upstream answers 200 without storing it twice.

Events go before screenings: the crossing happened at the desk, and it must reach the
upstream even if the upstream, screening later with newer inputs (an alert raised while the
post was offline), decides a stricter lane than the node did. That difference is then a
lane conflict for the officer, not a refused crossing that leaves the movement's state
wrong upstream.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tripp.errors import InvalidInput
from tripp.post.errors import PullFailed, UpstreamRefused, UpstreamUnreachable
from tripp.post.model import Kind, Outcome, Status, classify, iso, utc_now
from tripp.post.store import NodeStore, OutboxRow, RoundLog
from tripp.post.upstream import Answer, Upstream
from tripp.risk.ruleset import from_dict

log = logging.getLogger("tripp.post")
MAX_PAGES = 1000  # 500 000 expected movements: far beyond a post, short of a loop for ever
KEEP_UNLISTED = timedelta(days=7)


@dataclass
class RoundReport:
    started_at: datetime
    pushed: int = 0
    conflicts: int = 0
    pulled: int = 0
    reachable: bool = True
    error: str | None = None


class Syncer:
    """Runs rounds for one office; rounds never overlap."""

    def __init__(
        self,
        store: NodeStore,
        upstream: Upstream,
        office: str,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._store = store
        self._upstream = upstream
        self._office = office
        self._clock = clock
        self._lock = threading.Lock()
        self.reachable: bool | None = None  # None until the first round ends

    def round(self) -> RoundReport:
        with self._lock:
            report = RoundReport(self._clock())
            try:
                self._push_events(report)
                self._push_screenings(report)
                self._pull(report)
            except UpstreamUnreachable as exc:
                report.reachable, report.error = False, exc.detail
            except (UpstreamRefused, PullFailed) as exc:
                report.error = exc.detail
            self.reachable = report.reachable
            self._log(report)
            return report

    # --- push --------------------------------------------------------------------------

    def _push_events(self, report: RoundReport) -> None:
        waiting: set[str] = set()  # movements with an event to retry: later ones wait
        for row in self._pending(Kind.EVENT):
            if row.mrn in waiting:
                continue
            answer = self._send(row, lambda r: self._upstream.post_event(r.mrn, r.body))
            if not self._settle(row, answer, report):
                waiting.add(row.mrn)

    def _push_screenings(self, report: RoundReport) -> None:
        for row in self._pending(Kind.SCREENING):
            answer = self._send(row, lambda r: self._upstream.post_screening(self._office, r.body))
            self._settle(row, answer, report)

    def _pending(self, kind: Kind) -> list[OutboxRow]:
        with self._store.read() as tx:
            return tx.pending(kind)

    def _send(self, row: OutboxRow, call: Callable[[OutboxRow], Answer]) -> Answer:
        try:
            return call(row)
        except UpstreamUnreachable as exc:
            with self._store.write() as tx:
                tx.attempt_failed(row.seq, exc.detail)
            raise

    def _settle(self, row: OutboxRow, answer: Answer, report: RoundReport) -> bool:
        """Store the upstream's answer to ``row``; False when it is to be tried again."""
        outcome = classify(answer.status)
        if outcome is Outcome.REFUSED:
            raise UpstreamRefused(f"the upstream refused the node's token: {answer.detail}")
        with self._store.write() as tx:
            if outcome is Outcome.RETRY:
                tx.attempt_failed(row.seq, answer.detail)
                return False
            conflict = _conflict(row, answer, outcome)
            status = Status.SYNCED if conflict is None else Status.CONFLICT
            now = iso(self._clock())
            tx.settle(
                row.seq,
                status,
                upstream_status=answer.status,
                answer=answer.body,
                at=now,
                conflict=conflict,
            )
        if conflict is None:
            report.pushed += 1
        else:
            report.conflicts += 1
            log.warning(
                "post %s: conflict on %s %s: %s", self._office, row.kind, row.ref_id, conflict
            )
        return True

    # --- pull ----------------------------------------------------------------------------

    def _pull(self, report: RoundReport) -> None:
        country = self._country()
        items = self._expected_items()
        ruleset = self._ruleset(country)
        now = self._clock()
        with self._store.write() as tx:
            tx.put_ruleset(ruleset, iso(now))
            tx.replace_expected(items, iso(now))
            tx.forget_unlisted(iso(now - KEEP_UNLISTED))
        report.pulled = len(items)

    def _country(self) -> str:
        """The office's country, asked once of the upstream's corridor and kept."""
        with self._store.read() as tx:
            known = tx.get_meta("country")
        if known is not None:
            return known
        answer = self._upstream.corridor()
        _require_ok(answer, "the corridor")
        offices = answer.body.get("offices", []) if isinstance(answer.body, Mapping) else []
        office = next((o for o in offices if o.get("code") == self._office), None)
        if office is None:
            raise PullFailed(f"office {self._office} is not on the upstream's corridor")
        with self._store.write() as tx:
            tx.set_meta("country", str(office["country"]))
            tx.set_meta("office_name", str(office.get("name", "")))
        return str(office["country"])

    def _expected_items(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            answer = self._upstream.expected_page(self._office, cursor)
            _require_ok(answer, f"the expected list of {self._office}")
            items += answer.body.get("items", [])
            cursor = answer.body.get("next_cursor")
            if not cursor:
                return items
        raise PullFailed(f"the expected list of {self._office} has more than {MAX_PAGES} pages")

    def _ruleset(self, country: str) -> dict[str, Any]:
        answer = self._upstream.ruleset(country)
        _require_ok(answer, f"the {country} ruleset")
        try:
            return from_dict(answer.body).to_dict()
        except InvalidInput as exc:  # a newer format than this node knows: keep the old one
            raise PullFailed(f"the {country} ruleset cannot be read: {exc.detail}") from exc

    def _log(self, report: RoundReport) -> None:
        entry = RoundLog(
            started_at=iso(report.started_at),
            finished_at=iso(self._clock()),
            reachable=report.reachable,
            pushed=report.pushed,
            conflicts=report.conflicts,
            pulled=report.pulled,
            error=report.error,
        )
        with self._store.write() as tx:
            tx.log_round(entry)
        if report.pushed or report.conflicts or report.error:
            log.info(
                "post %s: round pushed %d, conflicts %d, pulled %d%s",
                self._office,
                report.pushed,
                report.conflicts,
                report.pulled,
                f"; {report.error}" if report.error else "",
            )


def _require_ok(answer: Answer, what: str) -> None:
    if answer.status != 200 or not isinstance(answer.body, Mapping):
        raise PullFailed(f"pulling {what}: {answer.detail}")


def _conflict(row: OutboxRow, answer: Answer, outcome: Outcome) -> str | None:
    """Why the row is a conflict, in words for the officer; None when it is not one."""
    what = "screening" if row.kind is Kind.SCREENING else f"{row.event_type} event"
    if outcome is Outcome.CONFLICT:
        return f"the upstream refused the {what} {row.ref_id} of {row.mrn}: {answer.detail}"
    if row.kind is not Kind.SCREENING or not isinstance(answer.body, Mapping):
        return None
    local, upstream = row.answer.get("lane"), answer.body.get("lane")
    if upstream == local:
        return None
    rules = ", ".join(str(r.get("rule")) for r in answer.body.get("reasons", []) if r.get("lane"))
    return f"the upstream screened {row.mrn} {upstream} where this node screened it {local}" + (
        f" (rules forcing a lane: {rules})" if rules else ""
    )


class SyncLoop:
    """Runs a round at start, then every ``interval_s`` seconds, and at once when nudged
    (the officer recorded something). One daemon thread; a failing round is logged and the
    loop goes on, since a post must never stop syncing because of one bad answer."""

    def __init__(self, syncer: Syncer, interval_s: float) -> None:
        if interval_s <= 0:
            raise ValueError(f"interval_s={interval_s} must be > 0")
        self._syncer = syncer
        self._interval_s = interval_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="tripp-post-sync", daemon=True)
        self._thread.start()

    def nudge(self) -> None:
        self._wake.set()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()  # a nudge during the round runs the next one at once
            try:
                self._syncer.round()
            except Exception:
                log.exception("post sync round failed")
            self._wake.wait(self._interval_s)
