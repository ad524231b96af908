"""The dashboard's API under /api/v1/dashboard (filled in by the dashboard work)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/dashboard", tags=["dashboard"])
