"""The models the service serves: each scenario's ``champion`` and ``challenger`` from the registry.

A model is loaded once, checked by scoring real rows, and only then swapped in; requests never wait
for a load. A poller asks the registry every few seconds which version each alias points to, so a
promotion or a retirement (the alias moves) is picked up without a restart. A version that fails
to load or to score is remembered as failed with its error, and the last good version keeps
serving: a broken upload must never take the service down.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from pool.resources import parallel_map, threads

log = logging.getLogger("serving.champions")

ALIASES = ("champion", "challenger")
MODEL_PREFIX = "supervision-"
PARALLEL_ROWS = 20_000


class UnknownScenario(LookupError):
    """No registered model for this scenario."""


class ModelUnavailable(RuntimeError):
    """The scenario exists but no version of it could be loaded yet."""


@dataclass(frozen=True)
class ServedModel:
    """One loaded model version and what it needs to answer requests.

    ``reference`` holds the sorted scores of the population the percentiles are read against.
    """

    scenario: str
    name: str
    version: str
    alias: str
    run_id: str | None
    model: Any
    columns: tuple[str, ...]
    loaded_at: datetime
    reference: np.ndarray | None = None
    reference_basis: str = "this batch"

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Scores and calibrated probabilities of ``frame`` (columns ``score``, ``probability``).

        The project's own pyfunc is called directly: MLflow's per-call input validation costs more
        than scoring a single row, and the service has already checked the columns and made every
        value a finite-or-missing float."""
        inputs = frame.loc[:, list(self.columns)].astype("float64")
        direct = self.python_model
        if direct is None:
            out = self.model.predict(inputs)
        else:
            out = in_chunks(lambda part: score_rows(direct.estimator, self.columns, part), inputs)
        if not isinstance(out, pd.DataFrame):
            out = pd.DataFrame({"score": np.asarray(out, dtype="float64")})
        if "probability" not in out.columns:
            out = out.assign(probability=np.nan)
        return out.reset_index(drop=True)

    def score_array(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Scores and probabilities of rows given as a float64 matrix in ``columns`` order:
        what :meth:`predict` gives for the same rows as a frame (NaN probabilities when the
        model has none), without its pandas indexing: the scoring path's call."""
        direct = self.python_model
        if direct is None:
            out = self.predict(pd.DataFrame(values, columns=list(self.columns)))
            return (
                out["score"].to_numpy(dtype="float64"),
                out["probability"].to_numpy(dtype="float64"),
            )
        estimator = direct.estimator
        both = in_chunks(lambda part: score_matrix(estimator, self.columns, part), values)
        return both[:, 0], both[:, 1]

    @cached_property
    def python_model(self) -> Any:
        """The project's scoring pyfunc (inside MLflow's wrapper or bare), or None."""
        try:
            inner = self.model.unwrap_python_model()
        except (AttributeError, MlflowException):
            inner = self.model
        return inner if getattr(inner, "estimator", None) is not None else None

    @cached_property
    def estimator(self) -> Any:
        """The fitted estimator inside the pyfunc (for SHAP), or the model itself."""
        inner = self.python_model
        return inner.estimator if inner is not None else self.model


def score_rows(estimator: Any, columns: tuple[str, ...], frame: pd.DataFrame) -> pd.DataFrame:
    """Scores and probabilities as the project's pyfunc computes them (``score_frame``), or in
    one pass when the estimator offers ``score_and_probability`` (one tree walk, not two)."""
    one_pass = getattr(estimator, "score_and_probability", None)
    if callable(one_pass):
        score, probability = one_pass(frame.loc[:, list(columns)])
        return pd.DataFrame({"score": score, "probability": probability}, index=frame.index)
    from training.pyfunc import score_frame  # deferred: 71 modules off the service's cold start

    return score_frame(estimator, list(columns), frame)


def score_matrix(estimator: Any, columns: tuple[str, ...], values: np.ndarray) -> np.ndarray:
    """``score_rows`` of a float64 matrix in ``columns`` order, as one (rows, 2) array of score
    and probability (NaN when the estimator gives none). An estimator declaring
    ``takes_arrays`` gets the matrix itself; any other gets a frame with the column names it
    was fitted on, as before."""
    one_pass = getattr(estimator, "score_and_probability", None)
    if callable(one_pass) and getattr(estimator, "takes_arrays", False):
        score, probability = one_pass(values)
        return np.column_stack(
            [np.asarray(score, dtype="float64"), np.asarray(probability, dtype="float64")]
        )
    out = score_rows(estimator, columns, pd.DataFrame(values, columns=list(columns)))
    probability = (
        out["probability"].to_numpy(dtype="float64")
        if "probability" in out.columns
        else np.full(len(out), np.nan)
    )
    return np.column_stack([out["score"].to_numpy(dtype="float64"), probability])


Rows = Any  # a frame or a 2-d array: what ``in_chunks`` splits by rows


def in_chunks(fn: Callable[[Rows], Any], frame: Rows, min_rows: int = PARALLEL_ROWS) -> Any:
    """``fn`` over row chunks (of a frame or a 2-d array) in parallel threads for large
    batches (tree models release the GIL), so one request can use every core; small batches
    run as they are.

    The service's thread budget (``pool.resources.threads``: ``SUPERVISION_THREADS``, default
    every available core) is split, not multiplied: one chunk per thread, each told one
    thread's share (``parallel_map``), so a LightGBM prediction inside a chunk runs on that
    share (``predict_threads``) rather than on every core again. Before, two chunks of two
    OpenMP threads each ran four threads on two cores."""
    workers = threads()
    if len(frame) < min_rows or workers < 2:
        return fn(frame)
    bounds = np.linspace(0, len(frame), workers + 1, dtype=int)
    rows = frame.iloc if isinstance(frame, pd.DataFrame) else frame
    parts = [rows[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    results = parallel_map(fn, parts)
    return pd.concat(results) if isinstance(results[0], pd.DataFrame) else np.vstack(results)


@dataclass
class Slot:
    """What one (scenario, alias) currently serves and what the registry last said."""

    served: ServedModel | None = None
    registry_version: str | None = None
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def last_error(self) -> str | None:
        """The error of the registry's current version, when it failed to load."""
        return self.failed.get(self.registry_version or "")


ReferenceFn = Callable[[str, ServedModel], tuple[np.ndarray, str] | None]
#: The ``feature_set_hash`` of the feature table the service scores a scenario on.
FeatureHashFn = Callable[[str], str]
HASH_TAG = "feature_set_hash"


class FeatureSetMismatch(ValueError):
    """A version was trained on another feature set than the one the service scores on."""


def check_feature_set(name: str, version: Any, served_hash: str) -> None:
    """Refuse a version whose ``feature_set_hash`` tag (logged at training) is missing or differs
    from the served feature table's: its columns may carry the same names and mean other things,
    so it would score without an error and rank wrongly."""
    trained = (getattr(version, "tags", None) or {}).get(HASH_TAG)
    if not trained:
        raise FeatureSetMismatch(
            f"{name} version {version.version} carries no {HASH_TAG} tag (logged at training), "
            f"so it cannot be checked against the served feature table ({served_hash})"
        )
    if trained != served_hash:
        raise FeatureSetMismatch(
            f"{name} version {version.version} was trained on feature set {trained}; the "
            f"served feature table is {served_hash} (features, sources or their code changed "
            "since): retrain it on the current features"
        )


WarmFn = Callable[[str, ServedModel], None]


def scenario_of(model_name: str) -> str:
    """``supervision-fuel_tax`` -> ``fuel_tax``."""
    return model_name.removeprefix(MODEL_PREFIX)


def feature_columns(model: Any) -> tuple[str, ...]:
    """Input columns from the pyfunc's signature (the order the estimator was fitted on)."""
    schema = model.metadata.get_input_schema()
    if schema is None:
        raise ValueError("the model was logged without an input signature; cannot serve it")
    return tuple(schema.input_names())


class ModelHub:
    """Loads, polls and hands out the served models of every scenario."""

    def __init__(
        self,
        client: MlflowClient,
        refresh_seconds: float = 10.0,
        reference_fn: ReferenceFn | None = None,
        warm_fn: WarmFn | None = None,
        feature_hash: FeatureHashFn | None = None,
    ) -> None:
        self.client = client
        self.refresh_seconds = refresh_seconds
        self.reference_fn = reference_fn
        self.warm_fn = warm_fn
        self.feature_hash = feature_hash
        self._slots: dict[tuple[str, str], Slot] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- reading -----------------------------------------------------------------------------
    def scenarios(self) -> list[str]:
        """Scenarios with a registered model."""
        return sorted({scenario for scenario, _ in self._slots})

    def get(self, scenario: str, alias: str = "champion") -> ServedModel:
        """The model serving ``scenario`` under ``alias``; raises UnknownScenario/ModelUnavailable."""
        slot = self._slots.get((scenario, alias))
        if slot is None:
            if scenario not in self.scenarios():
                raise UnknownScenario(
                    f"scenario {scenario!r} has no registered model; "
                    f"known: {', '.join(self.scenarios()) or 'none'}"
                )
            raise ModelUnavailable(f"scenario {scenario!r} has no {alias} in the registry")
        if slot.served is None:
            raise ModelUnavailable(
                f"no {alias} version of {scenario!r} could be loaded: {slot.last_error}"
            )
        return slot.served

    def maybe(self, scenario: str, alias: str) -> ServedModel | None:
        """The model under ``alias`` or None (used for the shadow challenger)."""
        slot = self._slots.get((scenario, alias))
        return slot.served if slot else None

    def status(self) -> list[dict[str, Any]]:
        """One row per (scenario, alias): served version, registry version, last error."""
        rows = []
        for (scenario, alias), slot in sorted(self._slots.items()):
            served = slot.served
            rows.append(
                {
                    "scenario": scenario,
                    "alias": alias,
                    "name": MODEL_PREFIX + scenario,
                    "version": served.version if served else None,
                    "registry_version": slot.registry_version,
                    "loaded_at": served.loaded_at if served else None,
                    "last_error": slot.last_error,
                    "percentile_basis": served.reference_basis if served else None,
                }
            )
        return rows

    # -- refreshing --------------------------------------------------------------------------
    def refresh(self) -> list[str]:
        """Ask the registry where every alias points and load what changed; returns events."""
        with self._lock:
            events: list[str] = []
            for name in self._model_names():
                for alias in ALIASES:
                    event = self._refresh_slot(name, alias)
                    if event:
                        events.append(event)
            return events

    def _model_names(self) -> list[str]:
        found = self.client.search_registered_models(f"name LIKE '{MODEL_PREFIX}%'")
        return sorted(m.name for m in found)

    def _refresh_slot(self, name: str, alias: str) -> str | None:
        scenario = scenario_of(name)
        slot = self._slots.setdefault((scenario, alias), Slot())
        try:
            version = self.client.get_model_version_by_alias(name, alias)
        except MlflowException:
            slot.registry_version = None
            if alias == "challenger" and slot.served is not None:
                slot.served = None
                return f"{name}@{alias}: alias removed, shadow scoring stopped"
            return None
        slot.registry_version = str(version.version)
        current = slot.served.version if slot.served else None
        if slot.registry_version == current or slot.registry_version in slot.failed:
            return None
        try:
            slot.served = self._load(scenario, name, version, alias)
        except Exception as exc:  # noqa: BLE001 - any failure keeps the last good version
            slot.failed[slot.registry_version] = f"{type(exc).__name__}: {exc}"[:500]
            log.exception(
                "loading %s version %s as %s failed; still serving %s",
                name,
                version.version,
                alias,
                current,
            )
            return f"{name}@{alias}: version {version.version} failed, kept {current}"
        log.info("%s@%s now serves version %s (was %s)", name, alias, version.version, current)
        return f"{name}@{alias}: {current} -> {version.version}"

    def _load(self, scenario: str, name: str, version: Any, alias: str) -> ServedModel:
        """Check its feature set, load it, prove it scores, and build what its requests read
        (percentile base, then ``warm_fn``: evidence indexes, peer medians, explainer) before
        it may serve, so no request after a start or a promotion pays for any of it."""
        if self.feature_hash is not None:
            check_feature_set(name, version, self.feature_hash(scenario))
        model = mlflow.pyfunc.load_model(f"models:/{name}/{version.version}")
        served = ServedModel(
            scenario=scenario,
            name=name,
            version=str(version.version),
            alias=alias,
            run_id=version.run_id,
            model=model,
            columns=feature_columns(model),
            loaded_at=datetime.now(UTC),
        )
        reference = self.reference_fn(scenario, served) if self.reference_fn else None
        if reference is not None:
            scores, basis = reference
            if not np.all(np.isfinite(scores)):
                raise ValueError(f"version {served.version} gives non-finite scores on {basis}")
            served = replace(served, reference=np.sort(scores), reference_basis=basis)
        else:
            example = model.input_example
            if example is not None:
                served.predict(pd.DataFrame(example))
        if self.warm_fn is not None:
            self.warm_fn(scenario, served)
        return served

    # -- polling -----------------------------------------------------------------------------
    def start(self) -> None:
        """Load now, then poll the registry every ``refresh_seconds`` in a daemon thread."""
        self._safe_refresh()
        if self.refresh_seconds > 0 and self._thread is None:
            self._thread = threading.Thread(target=self._poll, name="model-hub", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop polling (the loaded models stay)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _poll(self) -> None:
        while not self._stop.wait(self.refresh_seconds):
            self._safe_refresh()

    def _safe_refresh(self) -> None:
        try:
            self.refresh()
        except Exception:  # noqa: BLE001 - a registry hiccup must not kill the poller
            log.exception("registry refresh failed; keeping the loaded models")
