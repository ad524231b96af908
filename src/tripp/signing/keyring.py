"""Private keys on disk, one PEM file per party in TRIPP_KEYS_DIR (mode 0600).

The server signs on behalf of the authority whose officer recorded an event: in a
deployment each authority's key sits on its own signing host or HSM; here the directory is
that host. The public halves are published through the store (``tripp keys export``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from tripp.errors import Conflict, FieldError, InvalidInput
from tripp.signing.keys import KeyPair, from_pem, generate

_PARTY = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,63}$")


class Keyring:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._loaded: dict[str, KeyPair | None] = {}

    def _path(self, party: str) -> Path:
        if not _PARTY.match(party):
            raise InvalidInput([FieldError("party", f"{party!r} is not a party id", "party-id")])
        return self.directory / f"{party}.ed25519.pem"

    def get(self, party: str) -> KeyPair | None:
        """The party's key pair, or None when it has none here (its events go unsigned)."""
        if party not in self._loaded:
            path = self._path(party)
            self._loaded[party] = from_pem(party, path.read_bytes()) if path.is_file() else None
        return self._loaded[party]

    def create(self, party: str) -> KeyPair:
        path = self._path(party)
        if path.exists():
            raise Conflict(f"{party} has a key already ({path}); retire it before a new one")
        pair = generate(party)
        self.directory.mkdir(parents=True, exist_ok=True)
        # Created 0600 from the start: never a moment where others may read it.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pair.to_pem())
        self._loaded[party] = pair
        return pair
