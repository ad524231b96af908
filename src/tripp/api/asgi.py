"""ASGI factory for multi-process serving: each worker wires itself from TRIPP_*."""

from __future__ import annotations

from fastapi import FastAPI

from tripp.api.app import create_app
from tripp.bootstrap import wire


def build() -> FastAPI:
    return create_app(wire())
