"""ASGI factory for multi-process serving: each worker wires itself from TRIPP_*."""

from __future__ import annotations

from fastapi import FastAPI

from tripp import logs
from tripp.api.app import create_app
from tripp.bootstrap import wire


def build() -> FastAPI:
    w = wire()
    logs.configure(w.settings.log_level)
    return create_app(w)
