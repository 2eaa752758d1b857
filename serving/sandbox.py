"""A small, self-contained deployment of the service: registry, lead store, feature table, keys.

The tests, the benchmark and a quick demo need a service with real parts (an MLflow sqlite
registry with registered pyfunc versions behind aliases, a migrated lead store with leads and
hashed keys, a feature table) without building the whole pool and training every scenario.
Entities follow a known rule (two features drive the chance of a case), so a working model ranks
them and its SHAP reasons name those features.

    python -m serving.sandbox --root /tmp/sbx --entities 2000
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import lightgbm
import numpy as np
import pandas as pd

from console import exits
from pool.keys import USCC_ALPHABET, id_check_char, uscc_check_char
from pool.resources import predict_threads
from pool.spec import DISTRICTS

SCENARIO = "fuel_tax"
FEATURES = (
    "declared_share",
    "waybill_gap",
    "traffic_ratio",
    "nozzles",
    "months_active",
    "invoice_gap",
)
#: The sandbox's feature set, as ``features.build`` would stamp it: on every row of its feature
#: table and on every version registered for it (the service refuses a version that differs).
FEATURE_SET_HASH = hashlib.sha256(("sandbox:" + ",".join(FEATURES)).encode()).hexdigest()[:16]


class LGBMScorer(lightgbm.LGBMClassifier):
    """LightGBM classifier answering ``decision_function`` with the raw score (log-odds):
    higher = more suspicious, as every scorer in the project does. It scores a float64 matrix
    in its fitted column order as it scores a frame (``takes_arrays``), so the service hands it
    the matrix without building a frame per request."""

    takes_arrays = True

    def decision_function(
        self,
        X: Any,
        *,
        start_iteration: int = 0,
        num_iteration: int | None = None,
        validate_features: bool = False,
        **kwargs: Any,
    ) -> np.ndarray:
        """Raw margin of the positive class, from the booster as the project's scorer reads
        it (``training.scorers``: ``booster_.predict`` with ``predict_threads``). The keyword
        arguments are LightGBM's own (``LGBMClassifier.decision_function``), passed on."""
        X = np.asarray(X, dtype="float64")
        return np.asarray(
            self.booster_.predict(
                X,
                start_iteration=start_iteration,
                num_iteration=num_iteration,
                raw_score=True,
                validate_features=validate_features,
                num_threads=predict_threads(len(X)),
                **kwargs,
            ),
            dtype="float64",
        )

    def score_and_probability(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """Score and probability from one walk of the trees (the probability is the logistic
        of the margin, exactly what ``predict_proba`` computes with a second walk)."""
        raw = self.decision_function(X)
        return raw, 1.0 / (1.0 + np.exp(-raw))


def credit_code(rng: np.random.Generator) -> str:
    """A valid 18-character unified social credit code."""
    body = "9111" + "".join(rng.choice(list(USCC_ALPHABET), size=13))
    return body + uscc_check_char(body)


def person_id(rng: np.random.Generator) -> str:
    """A valid resident ID number of someone born 1960-1999 in Beijing."""
    body = (
        f"1101{rng.integers(1, 20):02d}{rng.integers(1960, 2000)}"
        f"{rng.integers(1, 13):02d}{rng.integers(1, 29):02d}{rng.integers(0, 1000):03d}"
    )
    return body + id_check_char(body)


def feature_table(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Entities with features and a label drawn from a known rule (for fitting only)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "entity_id": [credit_code(rng) for _ in range(n)],
            "district": rng.choice(DISTRICTS, size=n),
            "declared_share": rng.beta(8, 2, n),
            "waybill_gap": rng.gamma(1.5, 0.05, n),
            "traffic_ratio": rng.lognormal(0, 0.3, n),
            "nozzles": rng.integers(2, 12, n).astype("float64"),
            "months_active": rng.integers(1, 60, n).astype("float64"),
            "invoice_gap": rng.normal(0, 1, n),
            "feature_set_hash": FEATURE_SET_HASH,
        }
    )
    frame.loc[rng.random(n) < 0.03, "traffic_ratio"] = np.nan
    logit = -3 + 6 * (0.8 - frame["declared_share"]) + 12 * frame["waybill_gap"]
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return frame.drop_duplicates("entity_id").reset_index(drop=True), y[: len(frame)]


def fit_scorer(frame: pd.DataFrame, y: np.ndarray, seed: int, n_estimators: int = 60) -> LGBMScorer:
    """A small LightGBM scorer on the sandbox features."""
    model = LGBMScorer(
        n_estimators=n_estimators,
        num_leaves=15,
        learning_rate=0.1,
        random_state=seed,
        verbose=-1,
        n_jobs=1,
    )
    return model.fit(frame.loc[:, list(FEATURES)], y)


@dataclass
class Sandbox:
    """Where the sandbox lives and the keys it issued (secrets by label)."""

    root: Path
    tracking_uri: str
    leads_url: str
    features_dir: Path
    keys: dict[str, str] = field(default_factory=dict)
    lead_ids: list[int] = field(default_factory=list)

    def env(self, refresh_seconds: float = 1.0) -> dict[str, str]:
        """Environment variables pointing a service at this sandbox."""
        return {
            "SUPERVISION_DATA": str(self.root / "data"),
            "SUPERVISION_MLFLOW_URI": self.tracking_uri,
            "SUPERVISION_MLFLOW_ARTIFACTS": str(self.root / "mlruns" / "artifacts"),
            "LEADS_DB_URL": self.leads_url,
            "SERVING_FEATURES_DIR": str(self.features_dir),
            "SERVING_REFRESH_SECONDS": str(refresh_seconds),
        }


def register(
    sandbox: Sandbox,
    estimator: Any,
    example: pd.DataFrame,
    alias: str | None,
    tags: dict[str, str] | None = None,
) -> str:
    """Log ``estimator`` as the project's scoring pyfunc, register it, point ``alias`` at it."""
    # deferred (as the lead store below): importing the sandbox for its constants stays light
    import mlflow

    from training.mlflow_setup import experiment_id, open_client, resolve
    from training.pyfunc import log_scoring_model

    settings = resolve(
        root=sandbox.root,
        tracking_uri=sandbox.tracking_uri,
        artifact_root=sandbox.root / "mlruns" / "artifacts",
    )
    client = open_client(settings)
    exp = experiment_id(client, f"supervision-{SCENARIO}", settings)
    with mlflow.start_run(experiment_id=exp):
        ref = log_scoring_model(estimator, list(FEATURES), example)
    name = f"supervision-{SCENARIO}"
    if not client.search_registered_models(f"name = '{name}'"):
        client.create_registered_model(name)
    version = client.create_model_version(
        name,
        ref.model_uri,
        run_id=ref.run_id,
        tags={
            "lifecycle": alias or "candidate",
            "feature_set_hash": FEATURE_SET_HASH,
            **(tags or {}),
        },
    )
    if alias:
        client.set_registered_model_alias(name, alias, version.version)
    return str(version.version)


def stakes(row: Any) -> dict[str, Any]:
    """A sandbox lead's probability with a 90% Beta interval (as if calibrated on 40 labelled
    rows) and its amount at stake: the tax on the share of sales not declared, a stand-in for
    the declared estimate (``features.amount``) at 0.4 million yuan of sales per nozzle-month."""
    from scipy.stats import beta

    p = float(1.0 / (1.0 + np.exp(-row.score)))
    a, b = 1.0 + 40 * p, 1.0 + 40 * (1.0 - p)
    low, high = (float(v) for v in beta.ppf([0.05, 0.95], a, b))
    undeclared = max(0.0, 1.0 - float(row.declared_share))
    amount = round(undeclared * row.nozzles * row.months_active * 4e5 * 0.13, -2)
    return {
        "probability": p,
        "probability_low": min(low, p),
        "probability_high": max(high, p),
        "amount": amount,
        "amount_unit": "yuan",
    }


def store_leads(
    sandbox: Sandbox,
    frame: pd.DataFrame,
    estimator: Any,
    version: str,
    per_district: int,
    seed: int,
) -> list[int]:
    """The top entities per district as leads, with reasons (one naming a holder's ID)."""
    # deferred: the lead store loads sqlalchemy, only for building a sandbox
    from leads.runs import LeadInput, LeadRun
    from leads.store import LeadStore

    rng = np.random.default_rng(seed)
    scores = estimator.decision_function(frame.loc[:, list(FEATURES)])
    ranked = frame.assign(score=scores).sort_values("score", ascending=False)
    top = ranked.groupby("district", sort=False).head(per_district)
    shap = estimator.booster_.predict(
        top.loc[:, list(FEATURES)].to_numpy(dtype="float64"), pred_contrib=True
    )
    inputs = []
    for i, row in enumerate(top.itertuples(index=False)):
        order = np.argsort(-shap[i])[:3]
        reasons = [
            {
                "feature": FEATURES[j],
                "value": float(getattr(row, FEATURES[j])),
                "shap": float(shap[i, j]),
                "text": f"{FEATURES[j].replace('_', ' ')} is "
                f"{float(getattr(row, FEATURES[j])):.3g}",
            }
            for j in order
        ]
        reasons.append(
            {
                "feature": "manager",
                "value": None,
                "shap": 0.0,
                "text": f"station manager {person_id(rng)} also runs another station",
            }
        )
        inputs.append(
            LeadInput(
                entity_id=row.entity_id,
                district=row.district,
                score=float(row.score),
                rank=i + 1,
                reasons=reasons,
                **stakes(row),
            )
        )
    store = LeadStore.open(sandbox.leads_url)
    try:
        run = LeadRun(
            run_id=f"sandbox-{version}",
            scenario=SCENARIO,
            model_name=f"supervision-{SCENARIO}",
            model_version=version,
            as_of=date(2025, 6, 30),
            leads=inputs,
        )
        return list(store.upsert_leads(run, actor="sandbox").lead_ids)
    finally:
        store.close()


def served_peer_features(frame: pd.DataFrame) -> dict[str, pd.Series]:
    """The two fuel_tax features its evidence view compares with peers, as the sandbox pool
    (``serving.sandbox_pool``) implies them: declared/delivered is the declared share, and
    declared litres per vehicle is 40 over the traffic ratio."""
    return {
        "declared_to_delivered": frame["declared_share"],
        "declared_per_vehicle": 40.0 / frame["traffic_ratio"],
    }


def write_pool_of_leads(sandbox: Sandbox, frame: pd.DataFrame, seed: int) -> None:
    """Agency rows behind the stations with a lead (``serving.sandbox_pool``)."""
    # deferred: the pool writer loads the model declarations (2.5 s), only for building a sandbox
    from leads.store import LeadStore
    from serving.sandbox_pool import write_sandbox_pool

    store = LeadStore.open(sandbox.leads_url)
    try:
        entities = {store.get(i).entity_id for i in sandbox.lead_ids}
    finally:
        store.close()
    write_sandbox_pool(sandbox.root / "data", frame[frame["entity_id"].isin(entities)], seed)


def issue_keys(sandbox: Sandbox, districts: tuple[str, ...]) -> dict[str, str]:
    """One key per role, and one staff key per district in ``districts``."""
    # deferred: the lead store loads sqlalchemy, only for building a sandbox
    from leads.auth import create_api_key
    from leads.store import LeadStore

    store = LeadStore.open(sandbox.leads_url)
    try:
        keys = {}
        for role in ("system", "data_scientist", "admin"):
            keys[role] = create_api_key(store, name=f"{role} key", role=role, actor="sandbox")[1]
        for district in districts:
            keys[f"staff:{district}"] = create_api_key(
                store, name=f"staff {district}", role="staff", district=district, actor="sandbox"
            )[1]
        return keys
    finally:
        store.close()


def build(
    root: Path,
    entities: int = 2000,
    seed: int = 7,
    leads_per_district: int = 5,
    staff_districts: tuple[str, ...] = ("Haidian", "Chaoyang"),
) -> Sandbox:
    """Create the whole sandbox under ``root`` and return where everything is."""
    root = Path(root).resolve()
    sandbox = Sandbox(
        root=root,
        tracking_uri=f"sqlite:///{root / 'mlruns' / 'mlflow.db'}",
        leads_url=f"sqlite:///{root / 'data' / 'leads.db'}",
        features_dir=root / "features",
    )
    sandbox.features_dir.mkdir(parents=True, exist_ok=True)
    frame, y = feature_table(entities, seed)
    frame.assign(**served_peer_features(frame)).to_parquet(
        sandbox.features_dir / f"{SCENARIO}.parquet", index=False
    )
    estimator = fit_scorer(frame, y, seed)
    version = register(sandbox, estimator, frame, "champion")
    sandbox.lead_ids = store_leads(sandbox, frame, estimator, version, leads_per_district, seed)
    write_pool_of_leads(sandbox, frame, seed)
    sandbox.keys = issue_keys(sandbox, staff_districts)
    save(sandbox)
    return sandbox


def save(sandbox: Sandbox) -> None:
    """Write the sandbox's keys and lead ids next to it (``sandbox.json``)."""
    data = {"keys": sandbox.keys, "lead_ids": sandbox.lead_ids}
    (sandbox.root / "sandbox.json").write_text(json.dumps(data, indent=2))


def at(root: Path) -> Sandbox:
    """The sandbox built under ``root`` earlier (paths, keys and lead ids)."""
    root = Path(root).resolve()
    data = json.loads((root / "sandbox.json").read_text())
    return Sandbox(
        root=root,
        tracking_uri=f"sqlite:///{root / 'mlruns' / 'mlflow.db'}",
        leads_url=f"sqlite:///{root / 'data' / 'leads.db'}",
        features_dir=root / "features",
        keys=data["keys"],
        lead_ids=data["lead_ids"],
    )


def cached(template: Path, dest: Path, **build_args: Any) -> Sandbox:
    """A fresh copy of a sandbox built once under ``template``.

    Why: creating an MLflow sqlite database runs its whole migration history (tens of seconds
    on a busy machine); copying a built one takes milliseconds. Copies share the template's
    artifact folder, which is only ever added to.
    """
    if not (Path(template) / "sandbox.json").exists():
        save(build(template, **build_args))
    shutil.copytree(template, dest, ignore=shutil.ignore_patterns("artifacts"))
    return at(dest)


def main(argv: list[str] | None = None) -> int:
    """Build a sandbox and print its environment and keys (for a manual demo)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--entities", type=int, default=2000)
    args = parser.parse_args(argv)
    from serving import sandbox as module  # pickle the scorer class under its import name

    sandbox = module.build(args.root, args.entities)
    print(json.dumps({"env": sandbox.env(), "keys": sandbox.keys}, indent=2))
    print(
        "start:",
        " ".join(f"{k}={v}" for k, v in sandbox.env().items()),
        "bentoml serve serving.service:SupervisionLeads --port 3000",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(exits.run(main))
