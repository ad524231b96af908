"""``tripp post``: run a border-post node.

Registered in the main CLI (``tripp.cli``) as ``app.command("post")(post)``; also runs
alone as ``python -m tripp.post``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from tripp.errors import TrippError
from tripp.post.bootstrap import Node, PostSettings, Secret, default_db, wire

err = Console(stderr=True)


def post(
    office: Annotated[
        str,
        typer.Option(
            envvar="TRIPP_POST_OFFICE",
            help="The office this node serves, e.g. AM000101; its expected list is mirrored.",
        ),
    ],
    upstream: Annotated[
        str,
        typer.Option(
            envvar="TRIPP_POST_UPSTREAM",
            help="The upstream tripp server, e.g. http://tripp.example:8000.",
        ),
    ],
    token: Annotated[
        str,
        typer.Option(
            envvar="TRIPP_POST_TOKEN",
            show_default=False,
            help="A customs token of the office's country (tripp token create --party "
            "AM-CUSTOMS --role customs). The node uses it upstream and accepts only it from "
            "the officer terminal. Prefer the environment variable: options show in 'ps'.",
        ),
    ],
    db: Annotated[
        Path | None,
        typer.Option(
            envvar="TRIPP_POST_DB",
            help="The node's SQLite store; default ./tripp-post-<OFFICE>.db. Keep it: it "
            "holds what was recorded and not yet synchronised.",
        ),
    ] = None,
    host: Annotated[
        str, typer.Option(envvar="TRIPP_POST_HOST", help="Address the node listens on.")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(envvar="TRIPP_POST_PORT", min=1, max=65535, help="Port of the node.")
    ] = 8780,
    sync_interval: Annotated[
        float,
        typer.Option(
            envvar="TRIPP_POST_SYNC_INTERVAL",
            min=0.1,
            help="Seconds between sync rounds; a round also starts at once after each record.",
        ),
    ] = 5.0,
    log_level: Annotated[
        str, typer.Option(envvar="TRIPP_POST_LOG_LEVEL", help="debug, info, warning or error.")
    ] = "info",
) -> None:
    """Run an offline border-post node: mirror the office's expected list and ruleset,
    screen and record locally while the upstream is away, push when it answers."""
    settings = PostSettings(
        office=office.upper(),
        upstream=upstream,
        token=Secret(token),
        db=db or default_db(office.upper()),
        host=host,
        port=port,
        sync_interval_s=sync_interval,
    )
    try:
        node = wire(settings)
    except TrippError as exc:
        err.print(f"error: {exc.detail}", markup=False, highlight=False)
        raise typer.Exit(1) from exc
    try:
        _serve(node, log_level.lower())
    finally:
        node.close()


def _serve(node: Node, log_level: str) -> None:
    import uvicorn

    from tripp.post.app import create_app

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    # One line per upstream request every few seconds would bury the rounds' own lines.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    app = create_app(node)
    s = node.settings
    url = f"http://{s.host}:{s.port}"
    err.print(f"[bold]tripp post[/bold] node of office [bold]{s.office}[/bold]")
    err.print(f"  listening   {url}  (API {url}/api/v1, status {url}/api/v1/post/status)")
    if app.state.terminal:
        err.print(f"  terminal    {url}/terminal")
    err.print(f"  upstream    {node.upstream.url}  (sync every {s.sync_interval_s:g} s)")
    err.print(f"  store       {s.db.resolve()}")
    uvicorn.run(app, host=s.host, port=s.port, log_level=log_level, access_log=False)
