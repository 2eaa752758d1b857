# Every target creates or reuses the environment by itself: .tools/ holds a pinned uv,
# .venv/ is synced from the committed uv.lock. Run `make help` for the list.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
UV_VERSION := 0.13.8
UV := .tools/bin/uv
PY := .venv/bin/python
SCALE ?= 1
SEED ?= 42
comma := ,
export UV_PYTHON_DOWNLOADS := never
export PYTHONHASHSEED := 0
# OpenMP threads (LightGBM, scikit-learn) sleep instead of spinning while they wait: on a shared
# machine a spinning thread burnt ~10x the CPU of the fit itself (README, "Cost"); same results
export OMP_WAIT_POLICY ?= PASSIVE

.DEFAULT_GOAL := help
.PHONY: help install data import features train ledger approve verify loop serve bento batch adbench lint test bench clean

help: ## List the targets and what they do
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-10s %s\n", $$1, $$2}'
	@echo "  Variables: SCALE=$(SCALE) (1 = Beijing-sized pool), SEED=$(SEED)"

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

.venv/.installed: uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen --python $(PYTHON)
	touch $@

install: .venv/.installed ## Create or update .venv from the lock file

data: install ## Build the simulated data pool under data/ (SCALE, SEED)
	$(PY) -m pool.build --scale $(SCALE) --seed $(SEED)

import: install ## Import the office models' declared files and database tables (MODELS=a,b; default all)
	$(PY) -m pool.importer $(if $(MODELS),--models $(subst $(comma), ,$(MODELS)))

features: install ## Build one scenario's feature table (SCENARIO=fuel_tax, AS_OF=YYYY-MM-DD, ENGINE=duckdb|spark)
	$(PY) -m features.build --scenario $(or $(SCENARIO),fuel_tax) $(if $(AS_OF),--as-of $(AS_OF)) --engine $(or $(ENGINE),duckdb)

train: install ## The main job: pool (if absent), import, features, fit, backtest, MLflow, gate, certify, leads out (MODELS=a,b: a subset)
	$(PY) -m training.train --scale $(SCALE) --seed $(SEED) $(if $(MODELS),--models $(subst $(comma), ,$(MODELS)))

ledger: install ## The model ledger: every scenario and version (also writes reports/ledger.json)
	$(PY) -m training.ledger --json reports/ledger.json

approve: install ## Record a certification: SCENARIO= VERSION= LINE=business|data APPROVER= [NOTE=]
	$(PY) -m training.approve --scenario $(SCENARIO) --version $(VERSION) --line $(LINE) --approver "$(APPROVER)" --note "$(NOTE)"

verify: install ## Simulated verifying staff act on dispatched leads (DAYS=60)
	$(PY) -m leads.simulate --days $(or $(DAYS),60) --seed $(SEED)

loop: install ## The closed loop on fuel_tax with drift from 2024-06, and without (data-drift/, data-nodrift/, reports/loop/)
	$(PY) -m pool.build --scale 1 --seed $(SEED) --drift-month 17 --data data-drift --scenarios fuel_tax
	$(PY) -m pool.build --scale 1 --seed $(SEED) --data data-nodrift --scenarios fuel_tax
	rm -rf reports/loop
	$(PY) -m training.loop --scenario fuel_tax --data data-drift --control data-nodrift --start 2024-05-31 --months 13

serve: install ## The BentoML service and staff web page on 127.0.0.1:PORT (default 3000)
	.venv/bin/bentoml serve serving.service:SupervisionLeads --host 127.0.0.1 --port $${PORT:-3000} --timeout-keep-alive 5

batch: install ## Score a whole feature table with the champion (SCENARIO=fuel_tax ENGINE=local|spark OUT=scores.parquet [FEATURES=table.parquet])
	$(PY) -m serving.batch --scenario $(or $(SCENARIO),fuel_tax) --engine $(or $(ENGINE),local) --out $(or $(OUT),reports/scores-$(or $(SCENARIO),fuel_tax).parquet) $(if $(FEATURES),--features $(FEATURES))

bento: install ## Build the Bento (bentofile.yaml; packages re-exported from uv.lock); `bentoml containerize <tag>` makes the image
	$(UV) export --frozen --no-dev --no-hashes --no-emit-project --no-header --no-annotate --format requirements-txt -o requirements/bento.txt >/dev/null
	PATH=$(CURDIR)/.tools/bin:$$PATH BENTOML_DO_NOT_TRACK=True .venv/bin/bentoml build

lint: install ## Ruff over the whole tree
	$(PY) -m ruff check .

test: install lint ## Lint, then the whole test suite
	$(PY) -m pytest

adbench: install ## ADBench + ODDS side by side with the papers' numbers, and the card-fraud daily protocol (writes reports/)
	$(PY) -m evaluation.adbench --seeds 3 && $(PY) -m evaluation.odds --seeds 3 && $(PY) -m evaluation.card_fraud

bench: install ## Benchmarks: prints a table, writes reports/bench.json
	$(PY) -m evaluation.bench

clean: ## Remove generated data, reports and the MLflow store (keeps .venv)
	rm -rf data data-drift data-nodrift reports spark-warehouse metastore_db derby.log
	find mlruns -mindepth 1 ! -name .gitkeep -exec rm -rf {} +
