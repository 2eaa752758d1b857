"""The built wheel carries what the service needs: installed into a fresh virtualenv and run
from outside the repository, it serves the staff page (``/ui/``) and a score.

How the fresh virtualenv gets its dependencies: a full resolve of MLflow, Spark, LightGBM, ...
takes minutes, so the new environment sees the project environment's third-party packages
through one ``.pth`` line, and the wheel is installed into it with ``--no-deps``. A plain path
line in a ``.pth`` file does not run the project's editable-install hook, so the code that runs
is the wheel's (the test checks where ``serving`` was imported from).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import httpx
import pytest

from serving.launch import free_port, stop, wait_ready
from serving.sandbox import SCENARIO, cached

ROOT = Path(__file__).resolve().parents[2]
SKIP = shutil.ignore_patterns(
    ".venv",
    ".tools",
    ".git",
    "data",
    "data-*",
    "mlruns",
    "reports",
    "build",
    "*.egg-info",
    "__pycache__",
    ".pytest_cache",
    "tests",
    ".ruff_cache",
    ".hypothesis",
    ".mypy_cache",
)
pytestmark = pytest.mark.slow


def _uv() -> str:
    local = ROOT / ".tools" / "bin" / "uv"
    found = str(local) if local.exists() else shutil.which("uv")
    if not found:
        pytest.fail("uv is not installed (make install puts it in .tools/bin)")
    return found


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``uv build --wheel --offline`` on a copy of the source (the work tree stays clean)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "src"
    shutil.copytree(ROOT, source, ignore=SKIP)
    done = subprocess.run(
        [_uv(), "build", "--wheel", "--offline", "--out-dir", str(work / "dist"), str(source)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    (built,) = (work / "dist").glob("supervision_leads-*.whl")
    return built


def test_the_wheel_carries_the_web_page_migrations_and_the_tool(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "serving/web/index.html",
        "serving/web/app.js",
        "serving/web/style.css",
        "serving/web/i18n.js",
        "leads/migrations/env.py",
        "leads/migrations/script.py.mako",
        "leads/migrations/versions/0001_initial.py",
        "settings/__init__.py",
        "console/exits.py",
        "supervision/cli.py",
        "models/fuel_tax/__init__.py",
    ):
        assert needed in names, needed
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "supervision = supervision.cli:main" in zipfile.ZipFile(wheel).read(entry).decode()


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv holding the wheel; returns its ``bin`` folder."""
    env = tmp_path_factory.mktemp("venv") / "fresh"
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--without-pip", str(env)], check=True)
    fresh_site = Path(
        subprocess.run(
            [
                str(env / "bin" / "python"),
                "-c",
                "import sysconfig; print(sysconfig.get_path('purelib'))",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    (fresh_site / "project_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    done = subprocess.run(
        [
            _uv(),
            "pip",
            "install",
            "--offline",
            "--no-deps",
            "--python",
            str(env / "bin" / "python"),
            str(wheel),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return env / "bin"


def test_the_installed_copy_is_the_one_that_runs(installed: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [
            str(installed / "python"),
            "-c",
            "import serving, leads.db; print(serving.__file__); print(leads.db.MIGRATIONS)",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    )
    serving_file, migrations = done.stdout.split()
    assert serving_file.startswith(str(installed.parent)), serving_file
    assert (Path(migrations) / "script.py.mako").exists()
    helped = subprocess.run(
        [str(installed / "supervision"), "--help"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert helped.returncode == 0 and "serve" in helped.stdout


def test_the_installed_service_serves_the_page_and_a_score(
    installed: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    template = tmp_path_factory.getbasetemp() / "serving-sandbox-template"
    sandbox = cached(template, tmp_path_factory.mktemp("pkg") / "sbx")
    outside = tmp_path_factory.mktemp("cwd")
    log = outside / "serve.log"
    port = free_port()
    env = {
        "PATH": f"{installed}:/usr/bin:/bin",
        "HOME": str(outside),
        **sandbox.env(refresh_seconds=1.0),
        "BENTOML_HOME": str(sandbox.root / "bentoml"),
    }
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [str(installed / "supervision"), "serve", "--port", str(port)],
            cwd=outside,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_ready(proc, base, 240.0, log)
            page = httpx.get(f"{base}/ui/", timeout=30)
            assert page.status_code == 200 and "<html" in page.text.lower()
            assert httpx.get(f"{base}/ui/app.js", timeout=30).status_code == 200
            scored = httpx.post(
                f"{base}/v1/score",
                timeout=120,
                headers={"Authorization": f"Bearer {sandbox.keys['system']}"},
                json={"scenario": SCENARIO, "all_entities": True},
            )
            assert scored.status_code == 200, scored.text
            body = scored.json()
            assert body["model"]["version"] == "1" and body["model"]["alias"] == "champion"
            ranked = sorted(body["results"], key=lambda r: r["rank"])
            assert [r["rank"] for r in ranked] == list(range(1, len(ranked) + 1))
            scores = [r["score"] for r in ranked]
            assert scores == sorted(scores, reverse=True)  # higher = more suspicious = ranked first
        finally:
            stop(proc)
