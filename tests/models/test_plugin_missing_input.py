"""A plug-in model whose declared export is missing stops training as refused input (exit 2),
naming the file, with nothing registered and no traceback."""

from __future__ import annotations

import runpy
import shutil
from pathlib import Path

import pytest

from pool import discovery
from training import model_registry as reg
from training.mlflow_setup import open_client, resolve

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "social_insurance"
NAME = "social_insurance"


def test_a_missing_declared_export_is_refused_and_registers_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    office = tmp_path / "office"
    make = runpy.run_path(str(EXAMPLE / "make_exports.py"))
    make["write"](office, make["exports"](120, 3))
    shutil.copy(EXAMPLE / "model.py", office / "model.py")
    missing = office / "个税申报.csv"
    assert missing.exists()
    missing.unlink()
    monkeypatch.setenv(discovery.ENV_MODELS, str(office / "model.py"))
    monkeypatch.delenv("SUPERVISION_DATA", raising=False)
    monkeypatch.delenv("LEADS_DB_URL", raising=False)
    discovery.reset()
    from training.train import main

    try:
        code = main(
            ["--scenarios", NAME, "--data", str(tmp_path / "data"), "--root", str(tmp_path)]
        )
    finally:
        discovery.reset()
    err = capsys.readouterr().err
    assert code == 2, err
    assert "nothing registered" in err and "个税申报.csv" in err
    assert "Traceback" not in err
    if (tmp_path / "mlruns" / "mlflow.db").exists():
        assert reg.list_scenarios(open_client(resolve(root=tmp_path))) == []
