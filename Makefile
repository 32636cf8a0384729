# Set up, run and test the Qinchuangyuan simulator. Needs only python3 (>= 3.11) and make
# (and, for the explorer's browser test, Debian's chromium, which `make test` installs when missing).
#   make run ARGS="policy.voucher_budget=3"   (ARGS are appended to the command)
#   make app ARGS="--port 8800"               (the lever explorer on http://127.0.0.1:8765 by default)
#   make experiments                          (every lever study at full size, published to experiments/)
#   make experiments SMOKE=1                  (the same at smoke size: a check, not a result)

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
ARGS   ?=

# Markers: reinstall when pyproject.toml is newer than the last install.
INSTALLED     := $(VENV)/.installed
INSTALLED_APP := $(VENV)/.installed-app
INSTALLED_DEV := $(VENV)/.installed-dev
INSTALLED_STUDIES := $(VENV)/.installed-studies
# the browser the explorer's test drives (Debian package `chromium`)
CHROMIUM ?= /usr/bin/chromium

.PHONY: venv install install-dev run app test browser calibrate backtest experiments bench mutate mutate-sample lint clean

venv: $(PY)

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip

$(INSTALLED): pyproject.toml | $(PY)
	$(PY) -m pip install -e .
	touch $@

$(INSTALLED_APP): pyproject.toml | $(PY)
	$(PY) -m pip install -e '.[app]'
	touch $@ $(INSTALLED)

$(INSTALLED_STUDIES): pyproject.toml | $(PY)
	$(PY) -m pip install -e '.[studies]'
	touch $@ $(INSTALLED)

$(INSTALLED_DEV): pyproject.toml | $(PY)
	$(PY) -m pip install -e '.[dev]'
	touch $@ $(INSTALLED) $(INSTALLED_APP) $(INSTALLED_STUDIES)

install: $(INSTALLED)

install-dev: $(INSTALLED_DEV)

run: $(INSTALLED)
	$(PY) -m sim $(ARGS)

app: $(INSTALLED_APP)
	$(PY) -m sim.app $(ARGS)

test: $(INSTALLED_DEV) browser
	$(PY) -m pytest $(ARGS)

# Chromium for tests/test_explorer_browser.py, installed from Debian when missing (needs root and apt-get).
# When it cannot be installed the browser test is skipped with the reason, or fails under CI=true.
browser:
	@if [ -x "$(CHROMIUM)" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Chromium for the explorer's browser test: apt-get install chromium"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
			|| echo "warning: apt-get install chromium failed: the browser test will be skipped (fails under CI=true)"; \
	else \
		echo "warning: no Chromium at $(CHROMIUM) and no root apt-get to install it: the browser test will be" \
			"skipped (fails under CI=true); install it with: sudo apt-get install chromium"; \
	fi

calibrate: $(INSTALLED)
	$(PY) -m sim.calibrate $(ARGS)

# Rolling-origin backtest against naive forecasters (writes docs/backtest.md); ARGS="size=smoke" for a check.
backtest: $(INSTALLED)
	$(PY) -m sim.backtest $(ARGS)

# The lever studies (python -m sim.study NAME; configs/study/). Full size: 8-40 min each on 2 free cores
# (each config file states its time), findings published to experiments/ (README.md per study and the
# index). SMOKE=1: smoke size, nothing published; the index goes beside the study folders. Folders: $(STUDY_ROOT)/<date>/<time>_NAME.
# The studies' names come from the code (sim.pipeline.study.STUDIES), asked when the recipe runs.
STUDIES     = $(shell $(PY) -m sim.study --list)
SMOKE      ?=
STUDY_ROOT ?= results/studies
STUDY_SIZE := $(if $(SMOKE),smoke,full)
STUDY_STAMP := $(shell date +%Y-%m-%d/%H-%M-%S)
experiments: $(INSTALLED_STUDIES)
	@set -e; for s in $(STUDIES); do \
		echo "== study $$s ($(STUDY_SIZE))"; \
		reuse=; d=$(STUDY_ROOT)/$(STUDY_STAMP)_discovery; \
		if [ $$s = monitoring ] && [ -f $$d/study.json ]; then reuse="reuse_runs=[$$d]"; fi; \
		$(PY) -m sim.study $$s size=$(STUDY_SIZE) $(if $(SMOKE),,publish=true) \
			hydra.run.dir=$(STUDY_ROOT)/$(STUDY_STAMP)_$$s $$reuse $(ARGS); \
	done
	$(PY) -m sim.study index --out $(STUDY_ROOT)/$(STUDY_STAMP)_index.md \
		$(foreach s,$(STUDIES),$(STUDY_ROOT)/$(STUDY_STAMP)_$(s))

bench: $(INSTALLED)
	$(PY) benchmarks/bench_scale.py $(ARGS)

# Mutation testing of the rules, the market, the instruments and the pipeline's statistics (mutmut,
# [tool.mutmut] in pyproject.toml; not in CI). All of them take most of a day on 2 cores; the paired differences
# and the backtest's scoring minutes:
#   make mutate ARGS='--max-children 2 "sim.pipeline.paired*" "sim.calibration.backtest.scoring*"'
# The score is mutmut's killed / total; `.venv/bin/mutmut results` lists the survivors.
mutate: $(INSTALLED_DEV)
	$(PY) -m pip install -q 'mutmut>=3.8'
	$(VENV)/bin/mutmut run $(ARGS)
	$(VENV)/bin/mutmut results

# A group's score from a random sample of its mutants, with its 95 % interval and every survivor's diff: the
# instruments by default (~25 min on 2 cores for 300), the rules and the market with
# MUTATE_SAMPLE='"sim.model.agents.certification.*" "sim.model.market.*"'; tests/mutate_sample.py --help for the
# options (ARGS='--n 100', '--recheck' after adding tests).
MUTATE_SAMPLE ?= "sim.model.policy.*" --exclude "sim.model.policy.catalogue.*"
mutate-sample: $(INSTALLED_DEV)
	$(PY) -m pip install -q 'mutmut>=3.8'
	$(PY) tests/mutate_sample.py $(MUTATE_SAMPLE) --out results/mutation/sample.md $(ARGS)

lint: $(INSTALLED_DEV)
	$(PY) -m ruff check . $(ARGS)

# Removes caches, build files and Hydra's default output folders; keeps .venv and results/.
clean:
	rm -rf build dist *.egg-info .pytest_cache .ruff_cache outputs multirun
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
