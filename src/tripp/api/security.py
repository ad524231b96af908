"""Cross-cutting HTTP protections installed on the app (filled in by the security work)."""

from __future__ import annotations

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Install the app-wide protections on ``app``."""
