"""A private, throwaway PostgreSQL cluster, for tests that stop and start the server.

The shared PostgreSQL other tests use must never be stopped, so outage tests make their
own: ``initdb`` into a temporary directory, trust authentication, listening on 127.0.0.1 at
a free port, its unix socket in the same directory. As root the server runs as the
``postgres`` user (PostgreSQL refuses to run as root).

    with PgCluster.create() as pg:   # skips (fails in CI) when the binaries are missing
        pg.stop("immediate"); pg.start()
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

import pytest

from tests.conftest import IN_CI
from tests.integration.live import free_port

StopMode = Literal["smart", "fast", "immediate"]
_SEARCH = (
    os.environ.get("TRIPP_TEST_PG_BIN", ""),
    "/usr/lib/postgresql/17/bin",
    "/usr/lib/postgresql/16/bin",
    "/usr/lib/postgresql/15/bin",
    "/usr/lib/postgresql/14/bin",
)


def find_bin_dir() -> Path | None:
    """The first directory holding ``initdb`` and ``pg_ctl``: TRIPP_TEST_PG_BIN, Debian's
    versioned directories, then the PATH."""
    for d in _SEARCH:
        if d and (Path(d) / "initdb").is_file() and (Path(d) / "pg_ctl").is_file():
            return Path(d)
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl and Path(initdb).parent == Path(pg_ctl).parent:
        return Path(initdb).parent
    return None


def _unavailable(reason: str) -> None:
    message = f"no private PostgreSQL cluster for this test: {reason}"
    if IN_CI:
        pytest.fail(message + " (CI requires it)", pytrace=False)
    pytest.skip(message)


class PgCluster:
    def __init__(self, bin_dir: Path, root: Path, port: int) -> None:
        self.bin_dir = bin_dir
        self.root = root
        self.data = root / "data"
        self.log = root / "postgres.log"
        self.port = port
        self.running = False
        # PostgreSQL will not run as root: run its tools as the postgres user.
        self._as: list[str] = []
        if os.geteuid() == 0:
            self._as = ["runuser", "-u", "postgres", "--"]

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    @classmethod
    @contextmanager
    def create(cls) -> Iterator[PgCluster]:
        """initdb, start; on leaving, stop (immediate) and remove every file."""
        bin_dir = find_bin_dir()
        if bin_dir is None:
            _unavailable("initdb and pg_ctl not found (set TRIPP_TEST_PG_BIN)")
            raise AssertionError("unreachable")
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                _unavailable("running as root and there is no 'postgres' user to run it as")
        # Short, under /tmp: a unix socket path must fit in ~100 bytes.
        root = Path(tempfile.mkdtemp(prefix="tripp-pg-"))
        cluster = cls(bin_dir, root, free_port())
        try:
            cluster._init()
            cluster.start()
            yield cluster
        finally:
            try:
                if cluster.running:
                    cluster.stop("immediate")
            finally:
                shutil.rmtree(root, ignore_errors=True)

    def _run(self, *args: str, timeout_s: float = 60) -> None:
        done = subprocess.run(
            [*self._as, *args], capture_output=True, text=True, timeout=timeout_s, check=False
        )
        if done.returncode != 0:
            tail = self.log.read_text()[-2000:] if self.log.exists() else ""
            raise RuntimeError(
                f"{Path(args[0]).name} failed ({done.returncode}): {done.stdout}{done.stderr}"
                f"\n--- server log ---\n{tail}"
            )

    def _init(self) -> None:
        if self._as:
            pw = pwd.getpwnam("postgres")
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
        self._run(
            str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", "postgres",
            "--auth=trust", "--encoding=UTF8", "--no-locale", "--no-instructions",
        )  # fmt: skip
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"\nlisten_addresses = '127.0.0.1'\nport = {self.port}\n"
                f"unix_socket_directories = '{self.root}'\n"
                "max_connections = 100\nshared_buffers = 32MB\n"
                # Keep the log quiet about the crashes the tests cause on purpose.
                "log_min_messages = warning\n"
            )

    def start(self, timeout_s: float = 30) -> None:
        self._run(
            str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
            "-w", "-t", str(int(timeout_s)), "start", timeout_s=timeout_s + 10,
        )  # fmt: skip
        self.running = True

    def stop(self, mode: StopMode = "fast", timeout_s: float = 30) -> None:
        """``fast``: roll back and disconnect clients, checkpoint; ``immediate``: quit at
        once, like a crash (the next start runs recovery)."""
        self._run(
            str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", mode,
            "-w", "-t", str(int(timeout_s)), "stop", timeout_s=timeout_s + 10,
        )  # fmt: skip
        self.running = False

    def restart(self, mode: StopMode = "fast") -> None:
        self.stop(mode)
        self.start()
