"""A throw-away PostgreSQL server on loopback, for tests and benchmarks.

Uses Debian's binaries (``/usr/lib/postgresql/<major>/bin``). The server refuses to run as
root, so when we are root the data folder is handed to the ``postgres`` user and every command
runs through ``runuser``. It listens on 127.0.0.1 on a free port with its socket inside its
own temporary folder, trusts loopback connections, and is stopped by its PID.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

SERVICE_USER = "postgres"


class PostgresUnavailable(RuntimeError):
    """PostgreSQL binaries are not installed (``apt-get install postgresql``)."""


def find_bindir() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl`` (newest Debian major first), or None."""
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_major, reverse=True)
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    found = shutil.which("initdb")
    return Path(found).parent if found and shutil.which("pg_ctl") else None


def _major(path: Path) -> int:
    name = path.parent.name
    return int(name) if name.isdigit() else 0


def free_port() -> int:
    """A TCP port nobody listens on right now on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_service_user(args: list[str]) -> list[str]:
    """Prefix a command so it runs as ``postgres`` when we are root."""
    if os.geteuid() != 0:
        return args
    return ["runuser", "-u", SERVICE_USER, "--", *args]


def _run(args: list[str], what: str) -> None:
    done = subprocess.run(_as_service_user(args), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")


@dataclass
class PgServer:
    """A running temporary server; ``url()`` gives SQLAlchemy URLs to its databases."""

    root: Path
    port: int
    pid: int

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create an empty database and return its URL."""
        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self, timeout: float = 30.0) -> None:
        """Fast shutdown by PID (SIGINT), wait for it, then remove the folder."""
        try:
            os.kill(self.pid, signal.SIGINT)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + timeout
        while _alive(self.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _alive(self.pid):
            os.kill(self.pid, signal.SIGKILL)
        shutil.rmtree(self.root, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _prepare_root(parent: str | None) -> Path:
    """A temporary folder the server user owns."""
    root = Path(tempfile.mkdtemp(prefix="leads-pg-", dir=parent))
    if os.geteuid() == 0:
        shutil.chown(root, user=SERVICE_USER, group=SERVICE_USER)
    return root


def _initdb(bindir: Path, root: Path) -> None:
    _run(
        [
            str(bindir / "initdb"),
            "-D",
            str(root / "data"),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        ],
        "initdb",
    )


def _pg_ctl_start(bindir: Path, root: Path, port: int) -> None:
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c max_connections=60"
    _run(
        [
            str(bindir / "pg_ctl"),
            "-D",
            str(root / "data"),
            "-o",
            options,
            "-l",
            str(root / "server.log"),
            "-w",
            "-t",
            "60",
            "start",
        ],
        "pg_ctl start",
    )


def _postmaster_pid(root: Path) -> int:
    return int((root / "data" / "postmaster.pid").read_text().splitlines()[0])


def start_server(parent: str | None = None, attempts: int = 3) -> PgServer:
    """initdb into a new temporary folder and start a server on a free loopback port."""
    bindir = find_bindir()
    if bindir is None:
        raise PostgresUnavailable(
            "PostgreSQL binaries not found (looked in /usr/lib/postgresql/*/bin and PATH); "
            "install them with: apt-get install -y postgresql"
        )
    root = _prepare_root(parent)
    _initdb(bindir, root)
    for attempt in range(attempts):
        port = free_port()
        try:
            _pg_ctl_start(bindir, root, port)
            return PgServer(root=root, port=port, pid=_postmaster_pid(root))
        except RuntimeError:
            if attempt == attempts - 1:
                shutil.rmtree(root, ignore_errors=True)
                raise
    raise AssertionError("unreachable")
