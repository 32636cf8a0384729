# Set up, run and test the Qinchuangyuan simulator. Needs only python3 (>= 3.11) and make.
#   make run ARGS="policy.voucher_budget=3"   (ARGS are appended to the command)

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
ARGS   ?=

# Markers: reinstall when pyproject.toml is newer than the last install.
INSTALLED     := $(VENV)/.installed
INSTALLED_DEV := $(VENV)/.installed-dev

.PHONY: venv install install-dev run test calibrate backtest bench lint clean

venv: $(PY)

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip

$(INSTALLED): pyproject.toml | $(PY)
	$(PY) -m pip install -e .
	touch $@

$(INSTALLED_DEV): pyproject.toml | $(PY)
	$(PY) -m pip install -e '.[dev]'
	touch $@ $(INSTALLED)

install: $(INSTALLED)

install-dev: $(INSTALLED_DEV)

run: $(INSTALLED)
	$(PY) -m sim $(ARGS)

test: $(INSTALLED_DEV)
	$(PY) -m pytest $(ARGS)

calibrate: $(INSTALLED)
	$(PY) -m sim.calibrate $(ARGS)

# Rolling-origin backtest against naive forecasters (writes docs/backtest.md); ARGS="size=smoke" for a check.
backtest: $(INSTALLED)
	$(PY) -m sim.backtest $(ARGS)

bench: $(INSTALLED)
	$(PY) benchmarks/bench_scale.py $(ARGS)

lint: $(INSTALLED_DEV)
	$(PY) -m ruff check . $(ARGS)

# Removes caches, build files and Hydra's default output folders; keeps .venv and results/.
clean:
	rm -rf build dist *.egg-info .pytest_cache .ruff_cache outputs multirun
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
