"""``tripp serve`` in a subprocess for the benchmarks, device listeners off."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(
    url: str, port: int, workers: int, log: Path, *, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start the server and wait for /healthz. It gets its own process group, so that
    ``stop`` also ends the worker processes uvicorn forks."""
    environment = {
        **os.environ,
        "TRIPP_DATABASE_URL": url,
        "TRIPP_LOG_LEVEL": "warning",
        "TRIPP_OSMAND_PORT": "0",
        "TRIPP_TELTONIKA_PORT": "0",
        "TRIPP_MQTT_URL": "",
        **(env or {}),
    }
    command = [sys.executable, "-m", "tripp", "serve", "--port", str(port)]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*command, "--workers", str(workers)],
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    stop(proc, kill=True)
    raise RuntimeError(f"server did not start: {log.read_text()[-1000:]}")


def stop(proc: subprocess.Popen[bytes], *, kill: bool = False) -> None:
    os.killpg(proc.pid, signal.SIGKILL if kill else signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)
