"""GET /corridor: the corridor every client draws and validates against."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from tripp.api.auth import CurrentActor
from tripp.api.problems import responses
from tripp.corridor.loader import corridor_to_dict
from tripp.errors import Forbidden
from tripp.parties.model import Role

router = APIRouter(prefix="/api/v1", tags=["corridor"])


@router.get("/corridor", responses=responses(403))
def get_corridor(request: Request, actor: CurrentActor) -> dict[str, Any]:
    if actor.role is Role.OBSERVER:
        raise Forbidden("observers see /stats only")
    cached: dict[str, Any] | None = getattr(request.app.state, "corridor_json", None)
    if cached is None:  # the corridor never changes while the app runs: render it once
        cached = corridor_to_dict(request.app.state.ctx.corridor)
        request.app.state.corridor_json = cached
    return cached
