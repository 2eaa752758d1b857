# Every target creates or reuses the environment by itself: .tools/ holds a pinned uv,
# .venv/ is synced from the committed uv.lock. Run `make help` for the list.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
UV_VERSION := 0.13.8
UV := .tools/bin/uv
PY := .venv/bin/python
CLI := .venv/bin/supervision
SCALE ?= 1
SEED ?= 42
comma := ,
# What `ruff format --check` holds to the formatter: the whole tree
FORMATTED ?= .
export UV_PYTHON_DOWNLOADS := never
export PYTHONHASHSEED := 0
# OpenMP threads (LightGBM, scikit-learn) sleep instead of spinning while they wait: on a shared
# machine a spinning thread burnt ~10x the CPU of the fit itself (README, "Cost"); same results
export OMP_WAIT_POLICY ?= PASSIVE

.DEFAULT_GOAL := help
.PHONY: help install data import features train ledger approve verify loop serve batch bento adbench lint typecheck format-check test test-fast bench clean

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
	$(CLI) pool --scale $(SCALE) --seed $(SEED)

import: install ## Import the office models' declared files and database tables (MODELS=a,b; default all)
	$(CLI) import $(if $(MODELS),--models $(subst $(comma), ,$(MODELS)))

features: install ## Build one scenario's feature table (SCENARIO=fuel_tax, AS_OF=YYYY-MM-DD, ENGINE=duckdb|spark)
	$(CLI) features --scenario $(or $(SCENARIO),fuel_tax) $(if $(AS_OF),--as-of $(AS_OF)) --engine $(or $(ENGINE),duckdb)

train: install ## The main job: pool (if absent), import, features, fit, backtest, MLflow, gate, certify, leads out (MODELS=a,b: a subset)
	$(CLI) train --scale $(SCALE) --seed $(SEED) $(if $(MODELS),--models $(subst $(comma), ,$(MODELS)))

ledger: install ## The model ledger: every scenario and version (also writes reports/ledger.json)
	$(CLI) ledger --json reports/ledger.json

approve: install ## Record a certification: SCENARIO= VERSION= LINE=business|data APPROVER= [NOTE=]
	$(CLI) approve --scenario $(SCENARIO) --version $(VERSION) --line $(LINE) --approver "$(APPROVER)" --note "$(NOTE)"

verify: install ## Simulated verifying staff act on dispatched leads (DAYS=60)
	$(CLI) verify --days $(or $(DAYS),60) --seed $(SEED)

loop: install ## The closed loop on fuel_tax with drift from 2024-06, and without (data-drift/, data-nodrift/, reports/loop/)
	$(CLI) pool --scale 1 --seed $(SEED) --drift-month 17 --data data-drift --scenarios fuel_tax
	$(CLI) pool --scale 1 --seed $(SEED) --data data-nodrift --scenarios fuel_tax
	rm -rf reports/loop
	$(CLI) loop --scenario fuel_tax --data data-drift --control data-nodrift --start 2024-05-31 --months 18

serve: install ## The BentoML service and staff web page on 127.0.0.1:PORT (default 3000)
	$(CLI) serve --host 127.0.0.1 --port $${PORT:-3000} --keep-alive 5

batch: install ## Score a whole feature table with the champion (SCENARIO=fuel_tax ENGINE=local|spark OUT=scores.parquet [FEATURES=table.parquet])
	$(CLI) batch --scenario $(or $(SCENARIO),fuel_tax) --engine $(or $(ENGINE),local) --out $(or $(OUT),reports/scores-$(or $(SCENARIO),fuel_tax).parquet) $(if $(FEATURES),--features $(FEATURES))

bento: install ## Build the Bento (bentofile.yaml; packages re-exported from uv.lock); `bentoml containerize <tag>` makes the image
	$(UV) export --frozen --no-dev --no-hashes --no-emit-project --no-header --no-annotate --format requirements-txt -o requirements/bento.txt >/dev/null
	PATH=$(CURDIR)/.tools/bin:$$PATH BENTOML_DO_NOT_TRACK=True .venv/bin/bentoml build

lint: install format-check typecheck ## Ruff lint, ruff format --check (FORMATTED), mypy, layer contracts
	$(PY) -m ruff check .
	.venv/bin/lint-imports

format-check: install ## ruff format --check over FORMATTED (default: the whole tree)
	$(PY) -m ruff format --check $(FORMATTED)

typecheck: install ## mypy over every package (settings in pyproject.toml [tool.mypy])
	$(PY) -m mypy

test: install lint ## Lint, format check and type check, then the whole test suite
	$(PY) -m pytest

test-fast: install ## The tests not marked slow (no full training run, no served HTTP), no lint
	$(PY) -m pytest -m "not slow"

adbench: install ## ADBench + ODDS side by side with the papers' numbers, and the card-fraud daily protocol (writes reports/)
	$(CLI) adbench --seeds 3 && $(CLI) odds --seeds 3 && $(CLI) card-fraud

bench: install ## Benchmarks: prints a table, writes reports/bench.json
	$(CLI) bench

clean: ## Remove generated data, reports and the MLflow store (keeps .venv)
	rm -rf data data-drift data-nodrift reports spark-warehouse metastore_db derby.log
	find mlruns -mindepth 1 ! -name .gitkeep -exec rm -rf {} +
