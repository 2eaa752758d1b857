"""Several worker processes (``SERVING_WORKERS``): the per-key budgets are totals for the whole
service, split between the workers; the admission slots and queues are per worker."""

from __future__ import annotations

from pathlib import Path

import pytest

from serving.admission import AdmissionSettings, Rationing
from serving.app import ExplainBudget
from serving.launch import SERVICE_NAME, workers_option
from serving.settings import ServingSettings
from settings import SettingsError


def test_each_worker_grants_its_share_of_a_keys_rate() -> None:
    one = Rationing().of(AdmissionSettings(rate_per_minute=600, rate_burst=20))
    two = Rationing().of(AdmissionSettings(rate_per_minute=600, rate_burst=20, workers=2))
    assert (one.rates.rate, one.rates.burst) == (10.0, 20.0)
    assert (two.rates.rate, two.rates.burst) == (5.0, 10.0)
    assert {k: g.concurrency for k, g in two.gates.items()} == {
        k: g.concurrency for k, g in one.gates.items()
    }  # slots ration one process's CPU: per worker


def test_explained_rows_per_minute_are_split_and_reported_whole() -> None:
    settings = ServingSettings(data_root=Path("data"), explain_rows_per_minute=9000, workers=3)
    budget = ExplainBudget.of(settings)
    assert budget.per_key.rate * 60 == pytest.approx(3000) and budget.per_minute == 9000


def test_workers_setting_reaches_bentoml_and_the_workers(monkeypatch) -> None:
    monkeypatch.setenv("SERVING_WORKERS", "2")
    assert ServingSettings.from_env().workers == 2
    assert ServingSettings.from_env().admission.workers == 2
    env = workers_option(2, {"BENTOML_CONFIG_OPTIONS": "api_server.metrics.enabled=true"})
    assert env == {
        "BENTOML_CONFIG_OPTIONS": f"api_server.metrics.enabled=true services.{SERVICE_NAME}.workers=2",
        "SERVING_WORKERS": "2",
    }
    monkeypatch.setenv("SERVING_WORKERS", "0")
    with pytest.raises(SettingsError, match="SERVING_WORKERS"):
        ServingSettings.from_env()
    with pytest.raises(ValueError, match="at least 1"):
        workers_option(0)
