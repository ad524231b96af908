"""The dashboard's pages and assets at /dashboard (filled in by the dashboard work)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
