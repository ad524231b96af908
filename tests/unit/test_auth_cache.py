from __future__ import annotations

from pathlib import Path

import pytest

from tripp.api.auth import Authenticator
from tripp.bootstrap import utc_now, wire
from tripp.config import Settings
from tripp.errors import Unauthenticated
from tripp.parties import service as parties
from tripp.parties.model import Role


def test_cache_expires_and_never_caches_failures(tmp_path: Path) -> None:
    w = wire(Settings(database_url=f"sqlite:///{tmp_path / 't.db'}"))
    w.upgrade()
    uow = w.context.uow
    secret, record = parties.create_token(
        uow, party_id="AZ-CUSTOMS", role=Role.CUSTOMS, label="", now=utc_now()
    )
    clock = [0.0]
    auth = Authenticator(uow, ttl_s=5, monotonic=lambda: clock[0])
    assert auth.actor(secret).party == "AZ-CUSTOMS"
    parties.revoke_token(uow, record.id, utc_now())
    clock[0] = 4.9
    assert auth.actor(secret).party == "AZ-CUSTOMS"  # still cached: documented behaviour
    clock[0] = 5.1
    with pytest.raises(Unauthenticated):
        auth.actor(secret)  # the cache expired; the revocation shows
    with pytest.raises(Unauthenticated):
        auth.actor("tripp_x_y")
    fresh, _ = parties.create_token(
        uow, party_id="AZ-CUSTOMS", role=Role.CUSTOMS, label="", now=utc_now()
    )
    assert auth.actor(fresh).role is Role.CUSTOMS
    w.engine.dispose()
