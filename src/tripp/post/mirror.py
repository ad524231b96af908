"""The mirror of the upstream in the node's store: the office's expected list and its
country's ruleset, as last pulled, plus the node's identity (office, country)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from tripp.post.tables import expected, meta, rulesets


def dumps(value: object) -> str:
    """Canonical JSON: the same value always gives the same text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class Mirrored:
    """One mirrored pre-arrival item."""

    item: dict[str, Any]
    listed: bool
    pulled_at: str


class MirrorQueries:
    """The mirror's queries within one transaction (``store.Tx`` adds the outbox's)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # --- identity ----------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        return self.conn.execute(select(meta.c.value).where(meta.c.key == key)).scalar()

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute(delete(meta).where(meta.c.key == key))
        self.conn.execute(insert(meta).values(key=key, value=value))

    # --- the mirror --------------------------------------------------------------------

    def item(self, mrn: str) -> Mirrored | None:
        row = self.conn.execute(select(expected).where(expected.c.mrn == mrn)).first()
        return None if row is None else Mirrored(json.loads(row.item), row.listed, row.pulled_at)

    def known_items(self) -> dict[str, dict[str, Any]]:
        rows = self.conn.execute(select(expected.c.mrn, expected.c.item))
        return {r.mrn: json.loads(r.item) for r in rows}

    def listed(self) -> list[Mirrored]:
        rows = self.conn.execute(
            select(expected).where(expected.c.listed.is_(True)).order_by(expected.c.position)
        )
        return [Mirrored(json.loads(r.item), True, r.pulled_at) for r in rows]

    def replace_expected(self, items: Sequence[Mapping[str, Any]], at: str) -> None:
        """The pulled list becomes the listed one; earlier items stay, unlisted."""
        self.conn.execute(update(expected).values(listed=False))
        for position, item in enumerate(items):
            self.conn.execute(delete(expected).where(expected.c.mrn == item["mrn"]))
            self.conn.execute(
                insert(expected).values(
                    mrn=item["mrn"], item=dumps(item), listed=True, position=position, pulled_at=at
                )
            )

    def forget_unlisted(self, before: str) -> None:
        """Unlisted items last pulled before ``before`` are of no more use at the post."""
        self.conn.execute(
            delete(expected).where(expected.c.listed.is_(False), expected.c.pulled_at < before)
        )

    def ruleset(self, country: str) -> dict[str, Any] | None:
        body = self.conn.execute(
            select(rulesets.c.body).where(rulesets.c.country == country)
        ).scalar()
        return None if body is None else dict(json.loads(body))

    def ruleset_versions(self) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            select(rulesets.c.country, rulesets.c.version, rulesets.c.pulled_at)
        )
        return [
            {"country": r.country, "version": r.version, "pulled_at": r.pulled_at} for r in rows
        ]

    def put_ruleset(self, body: Mapping[str, Any], at: str) -> None:
        self.conn.execute(delete(rulesets).where(rulesets.c.country == body["country"]))
        self.conn.execute(
            insert(rulesets).values(
                country=body["country"], version=body["version"], body=dumps(body), pulled_at=at
            )
        )
