"""Bearer-token authentication: every API call resolves to an Actor."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from tripp.errors import Unauthenticated
from tripp.movements.service import Context
from tripp.parties.model import Actor
from tripp.parties.service import authenticate

_bearer = HTTPBearer(auto_error=False, description="A token from 'tripp token create'")


def context(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


def actor(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("an 'Authorization: Bearer <token>' header is required")
    return authenticate(context(request).uow, credentials.credentials)


CurrentActor = Annotated[Actor, Depends(actor)]
Ctx = Annotated[Context, Depends(context)]
