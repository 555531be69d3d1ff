# Two entry points, both self-installing on a fresh machine:
#   make run ARGS='formalize "Show that 2 + 2 = 4."'
#   make test
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-browser lint install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch is pinned to the CPU wheel present on these machines; a looser pin pulls GBs of CUDA packages.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/autoformal $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check autoformal tests benchmarks examples
	$(BIN)/mypy autoformal

.PHONY: kimina-server
# The real Kimina Lean Server's venv (Python >= 3.12 needed) in ~/.cache/autoformal-kimina-server, for
# tests/test_kimina_real_server.py and benchmarks/kimina_throughput.py (about 1.5-4 min once, then cached).
kimina-server: $(STAMP)
	$(BIN)/python -m autoformal.testing.kimina_server --build

test: $(STAMP)
	$(BIN)/ruff check autoformal tests benchmarks examples
	$(BIN)/mypy autoformal
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The review page's browser tests need Debian's Chromium and its driver (no browser download).
test-browser: $(STAMP)
	command -v chromedriver >/dev/null || (apt-get update -q && apt-get install -y -q chromium chromium-driver)
	$(BIN)/python -m pytest tests/test_review.py $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

.PHONY: known-variables
# Regenerate autoformal/_known_variables.py after adding or renaming a setting (tests/test_envvars.py checks it).
known-variables: $(STAMP)
	$(BIN)/python -c "from autoformal.config import FormalizerConfig; from autoformal.envvars import write_known_variables; write_known_variables(FormalizerConfig)"
