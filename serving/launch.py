"""Start ``bentoml serve`` for the service on a free loopback port, wait until ready, stop it.

Used by the HTTP tests and the benchmark: the server runs in its own process group, so stopping
it by that group's id also stops BentoML's worker processes and nothing else.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

from settings import get_settings

ROOT = Path(__file__).resolve().parents[1]
SERVICE = "serving.service:SupervisionLeads"
SERVICE_NAME = "supervision_leads"  # the name given in ``@bentoml.service``


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(proc: subprocess.Popen, base: str, timeout: float, log: Path) -> None:
    """Poll ``/readyz`` until 200; fail early if the server exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"bentoml serve exited with {proc.returncode}; see {log}")
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"service not ready within {timeout:.0f} s; see {log}")


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM the server's process group, SIGKILL it if it lingers."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def workers_option(workers: int, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment that makes ``bentoml serve`` run ``workers`` worker processes of the
    service (BentoML's ``BENTOML_CONFIG_OPTIONS`` override of the decorator's ``workers=1``,
    added to any options ``base`` already holds) and tells each worker how many there are
    (``SERVING_WORKERS``: each takes its share of the per-key rates). Each worker loads the
    models and polls the registry on its own."""
    if workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
    option = f"services.{SERVICE_NAME}.workers={workers}"
    earlier = (base or {}).get("BENTOML_CONFIG_OPTIONS", "").strip()
    return {
        "BENTOML_CONFIG_OPTIONS": f"{earlier} {option}".strip(),
        "SERVING_WORKERS": str(workers),
    }


@contextmanager
def running_service(
    env: Mapping[str, str],
    log: Path,
    timeout: float = 240.0,
    target: str = SERVICE,
    workers: int | None = None,
) -> Iterator[str]:
    """Run the service with ``env`` added to the environment (and ``workers`` worker
    processes; None: the ``SERVING_WORKERS`` setting); yield its base URL. ``target`` is the
    service's import path (default: this checkout) or a built Bento's tag."""
    count = get_settings().serving_workers if workers is None else workers
    port = free_port()
    bentoml = Path(sys.executable).parent / "bentoml"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [
                str(bentoml),
                "serve",
                target,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--timeout-keep-alive",
                "5",
            ],
            cwd=ROOT,
            env={**os.environ, **env, **workers_option(count, {**os.environ, **env})},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_ready(proc, base, timeout, log)
            yield base
        finally:
            stop(proc)
