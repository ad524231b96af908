"""The FastAPI app factory. No engine or state exists before it is called."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from tripp import __version__
from tripp.api import problems, security
from tripp.api.auth import Authenticator
from tripp.api.batching import LodgeBatcher
from tripp.api.throttle import FailureThrottle
from tripp.bootstrap import Wiring
from tripp.border.router import router as border_router
from tripp.corridor.router import router as corridor_router
from tripp.dashboard.api import router as dashboard_api_router
from tripp.dashboard.pages import router as dashboard_pages_router
from tripp.errors import TrippError
from tripp.fees.desk import FeeDesk
from tripp.fees.router import router as fees_router
from tripp.guarantees.router import router as guarantees_router
from tripp.movements import service
from tripp.movements.router import router as movements_router
from tripp.movements.views import movement_view
from tripp.stats.router import router as stats_router
from tripp.terminal.router import router as terminal_router
from tripp.tracking.listeners import Listeners
from tripp.tracking.router import router as tracking_router
from tripp.tracking.service import Tracking
from tripp.travellers.passage import Passage
from tripp.travellers.router import router as travellers_router
from tripp.webhooks.dispatcher import WebhookDispatcher
from tripp.webhooks.router import router as webhooks_router
from tripp.webhooks.service import alert_listener

log = logging.getLogger("tripp.jobs")


async def _periodic_jobs(
    ctx: service.Context,
    tracking: Tracking,
    interval_s: float,
    retention_days: int,
    purge: Callable[[], int],
) -> None:
    """Every ``interval_s`` seconds: put movements past their time limit under enquiry,
    and run the time-driven tracking rules (overdue, tracker_silent)."""
    while True:
        try:
            opened = await run_in_threadpool(service.overdue_enquiries, ctx)
            if opened:
                log.info("time limit expired: %d movements put under enquiry", len(opened))
            await run_in_threadpool(tracking.check_time)
            await run_in_threadpool(tracking.housekeeping, retention_days)
            purged = await run_in_threadpool(purge)
            if purged:
                log.info("identity data of %d travellers purged", purged)
        except TrippError as exc:  # the store may be down; the next round retries
            log.warning("periodic job skipped a round: %s", exc.detail)
        except Exception:  # a bug must not stop the job for good: log it, try again later
            log.exception("periodic job failed; retrying in %.0f s", interval_s)
        await asyncio.sleep(interval_s)


def create_app(wiring: Wiring, *, run_jobs: bool = True, listeners: bool = False) -> FastAPI:
    """The API app. ``run_jobs``: periodic jobs; ``listeners``: the device listeners
    (OsmAnd, Teltonika, MQTT) in this process, as ``tripp serve`` with one worker does."""
    ctx = wiring.context

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        job = None
        # Everything built at start-up (the projected corridor, the models, the schema)
        # lives as long as the process: freezing it keeps the collector's full passes from
        # walking it again and again under load, which showed as 100-300 ms stalls.
        gc.collect()
        gc.freeze()
        devices = Listeners(wiring.settings, wiring.tracking) if listeners else None
        if devices is not None:
            await devices.start()
        if run_jobs:
            dispatcher.start()
            job = asyncio.create_task(
                _periodic_jobs(
                    ctx,
                    wiring.tracking,
                    wiring.settings.overdue_interval_s,
                    wiring.settings.position_retention_days,
                    lambda: passage.purge(wiring.clock(), wiring.settings.traveller_retention_days),
                )
            )
        yield
        if devices is not None:
            await devices.stop()
        batcher.stop()
        if job is not None:
            await run_in_threadpool(dispatcher.stop)
            job.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await job

    app = FastAPI(
        title="tripp",
        version=__version__,
        description="Transit-corridor API: declarations, guarantees and the movement lifecycle.",
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    app.state.settings = wiring.settings
    app.state.tracking = wiring.tracking
    app.state.border = wiring.border
    app.state.fee_desk = FeeDesk(ctx.uow, wiring.corridor, wiring.clock)
    passage = Passage(ctx.uow, wiring.corridor, wiring.clock, wiring.settings.fees_enforced)
    app.state.passage = passage
    if alert_listener not in wiring.tracking.monitor.listeners:
        wiring.tracking.monitor.listeners.append(alert_listener)
    dispatcher = WebhookDispatcher(ctx.uow, clock=wiring.clock)
    app.state.webhook_dispatcher = dispatcher
    app.state.authenticator = Authenticator(
        ctx.uow,
        wiring.settings.auth_cache_s,
        throttle=FailureThrottle(
            wiring.settings.auth_failures_burst, wiring.settings.auth_failures_refill_s
        ),
    )
    # Only carriers and admins lodge, and both see commercial data.
    batcher = LodgeBatcher(ctx, lambda m: movement_view(m, commercial=True))
    app.state.lodge_batcher = batcher
    problems.install(app)
    security.install(app)
    for router in (
        corridor_router,
        guarantees_router,
        movements_router,
        tracking_router,
        webhooks_router,
        stats_router,
        border_router,
        terminal_router,
        fees_router,
        travellers_router,
        dashboard_api_router,
        dashboard_pages_router,
    ):
        app.include_router(router)

    default_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = problems.problem_openapi(default_openapi())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
