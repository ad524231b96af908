"""``tripp audit``, ``tripp keys`` and ``tripp dossier``: prove what was recorded.

Exit status 0 when a check passes, 1 when it finds a problem (each printed on its own line).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console

from tripp.audit import store
from tripp.audit.chain import Head, verify
from tripp.bootstrap import Wiring, utc_now, wire
from tripp.config import Settings
from tripp.db.uow import UnitOfWork
from tripp.dossier import export as dossier_export
from tripp.dossier import verify as dossier_verify
from tripp.errors import FieldError, InvalidInput, NotFound
from tripp.signing import store as key_store
from tripp.signing.documents import canonical
from tripp.signing.keys import verify as verify_signature

audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
keys_app = typer.Typer(help="The parties' Ed25519 signing keys.", no_args_is_help=True)
dossier_app = typer.Typer(help="A movement's signed record, one JSON file.", no_args_is_help=True)
out = Console()
err = Console(stderr=True)

HEAD_FORMAT = "tripp-audit-head/1"


@contextlib.contextmanager
def _wiring() -> Iterator[Wiring]:
    w = wire(Settings.from_env())
    try:
        w.upgrade()
        yield w
    finally:
        w.engine.dispose()  # a one-shot command: close the pool, leave nothing to the GC


def _load(path: Path, what: str) -> Any:
    try:
        return orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise InvalidInput([FieldError(str(path), f"cannot read the {what}: {exc}",
                                       "readable-json")]) from exc  # fmt: skip


def _write(data: Any, path: Path | None) -> None:
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if path is None:
        out.print(text, end="", markup=False, highlight=False, soft_wrap=True)
    else:
        path.write_text(text, encoding="utf-8")
        err.print(f"written: {path}", markup=False, highlight=False)


@audit_app.command("verify")
def audit_verify(
    head: Annotated[
        list[Path] | None,
        typer.Option("--head", help="a head kept earlier (tripp audit head --out); repeatable"),
    ] = None,
    keys: Annotated[
        Path | None, typer.Option(help="public keys (tripp keys export) to check head signatures")
    ] = None,
) -> None:
    """Walk the whole chain: name the first altered, removed or reordered entry.

    Also checks the stored head and every --head file: a head names an entry, and that
    entry must still be there with the same hash (so removing the newest entries shows).
    """
    with _wiring() as w:
        kept = [_head_file(p, keys) for p in head or []]
        with UnitOfWork(w.engine).read() as conn:
            stored = store.head(conn)
            verdict = verify(store.entries(conn), [stored, *kept])
        if verdict.first_bad is not None:
            bad = verdict.first_bad
            err.print(f"audit log BROKEN at entry {bad.seq} ({bad.problem}): {bad.message}",
                      markup=False, highlight=False)  # fmt: skip
            err.print(f"{verdict.checked} entries verified before it", highlight=False)
            raise typer.Exit(1)
        out.print(f"audit log intact: {verdict.checked} entries, head {verdict.head.seq} "
                  f"{verdict.head.hash}", highlight=False)  # fmt: skip


def _head_file(path: Path, keys: Path | None) -> Head:
    data = _load(path, "head")
    if not isinstance(data, dict) or data.get("format") != HEAD_FORMAT:
        raise InvalidInput([FieldError(str(path), "not a tripp audit head", "format")])
    if keys is not None and data.get("signature"):
        trusted = dossier_verify.trusted_keys(_load(keys, "keys"))
        sig = data["signature"]
        body = {k: v for k, v in data.items() if k != "signature"}
        known = trusted.get(str(sig.get("key_id")))
        if known is None or not verify_signature(known[1], canonical(body), sig.get("value", "")):
            err.print(f"{path}: the head's signature does not verify", highlight=False)
            raise typer.Exit(1)
    return Head(int(data["seq"]), str(data["hash"]))


@audit_app.command("head")
def audit_head(
    sign_as: Annotated[
        str | None, typer.Option("--sign-as", help="party whose key signs it, e.g. AM-CUSTOMS")
    ] = None,
    out_path: Annotated[Path | None, typer.Option("--out", help="file; default stdout")] = None,
) -> None:
    """Export the chain's head (last sequence number and hash), signed if asked: each party
    keeps its own copy and can later prove the log was not rewritten up to it."""
    with _wiring() as w:
        with UnitOfWork(w.engine).read() as conn:
            head = store.head(conn)
        body: dict[str, Any] = {"format": HEAD_FORMAT, "seq": head.seq, "hash": head.hash,
                                "at": utc_now().isoformat()}  # fmt: skip
        if sign_as is not None:
            pair = w.keyring.get(sign_as)
            if pair is None:
                raise NotFound(f"{sign_as} has no key in {w.settings.keys_dir} "
                               f"(tripp keys create {sign_as})")  # fmt: skip
            body["signature"] = {"party": pair.party, "key_id": pair.key_id,
                                 "value": pair.sign(canonical(body))}  # fmt: skip
        _write(body, out_path)


@keys_app.command("create")
def keys_create(party: Annotated[str, typer.Argument(metavar="PARTY")]) -> None:
    """Create PARTY's key pair: the private key in TRIPP_KEYS_DIR (mode 0600), the public
    key published in the database. Events PARTY records from then on are signed."""
    with _wiring() as w:
        pair = w.keyring.create(party)
        with UnitOfWork(w.engine).write() as conn:
            key_store.publish(conn, pair, utc_now())
        out.print(f"{party} key {pair.key_id} created", highlight=False)


@keys_app.command("export")
def keys_export(
    out_path: Annotated[Path | None, typer.Option("--out", help="file; default stdout")] = None,
) -> None:
    """Every party's public keys as JSON: all a verifier needs (tripp dossier verify)."""
    with _wiring() as w:
        with UnitOfWork(w.engine).read() as conn:
            keys = key_store.public_keys(conn)
        _write({"format": "tripp-keys/1", "keys": keys}, out_path)


@dossier_app.command("export")
def dossier_export_command(
    mrn: Annotated[str, typer.Argument(metavar="MRN")],
    sign_as: Annotated[str, typer.Option("--sign-as", help="the exporting party")] = (
        "CORRIDOR-OPERATOR"
    ),
    out_path: Annotated[Path | None, typer.Option("--out", help="file; default stdout")] = None,
) -> None:
    """Write MRN's complete record (declaration, events with their signatures, alerts,
    screenings, track summary, audit entries and head) as one JSON file, signed."""
    with _wiring() as w:
        pair = w.keyring.get(sign_as)
        if pair is None:
            raise NotFound(f"{sign_as} has no key in {w.settings.keys_dir} "
                           f"(tripp keys create {sign_as})")  # fmt: skip
        dossier = dossier_export.export(UnitOfWork(w.engine), mrn, pair, utc_now())
        _write(dossier, out_path)


@dossier_app.command("verify")
def dossier_verify_command(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="a dossier")],
    keys: Annotated[Path, typer.Option(help="trusted public keys (tripp keys export)")],
) -> None:
    """Check FILE offline with only the public keys: exit 0 when it holds, 1 with every
    problem listed when anything was altered."""
    problems = dossier_verify.verify(
        _load(file, "dossier"), dossier_verify.trusted_keys(_load(keys, "keys"))
    )
    if problems:
        for p in problems:
            err.print(f"FAIL {p}", markup=False, highlight=False)
        raise typer.Exit(1)
    out.print(f"dossier {file} verified", markup=False, highlight=False)
