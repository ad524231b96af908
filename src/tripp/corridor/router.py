"""GET /corridor: the corridor every client draws and validates against."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from tripp.api.auth import Ctx, CurrentActor
from tripp.api.problems import responses
from tripp.corridor.loader import corridor_to_dict
from tripp.errors import Forbidden
from tripp.parties.model import Role

router = APIRouter(prefix="/api/v1", tags=["corridor"])


@router.get("/corridor", responses=responses(403))
def get_corridor(ctx: Ctx, actor: CurrentActor) -> dict[str, Any]:
    if actor.role is Role.OBSERVER:
        raise Forbidden("observers see /stats only")
    return corridor_to_dict(ctx.corridor)
