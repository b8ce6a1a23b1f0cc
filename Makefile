# prepdeck: `make build` and `make test` do all set-up on a fresh machine.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
OUT    := build
PIP    := $(BIN)/python -m pip --disable-pip-version-check -q

# Exact pins for the venv's Python. Python 3.10 gets its own: the newest releases of
# numpy, pandas, fontTools and others need 3.11.
PY_VERSION  := $(shell $(if $(wildcard $(BIN)/python),$(BIN)/python,$(PYTHON)) -c \
                 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
CONSTRAINTS := $(if $(filter 3.10,$(PY_VERSION)),constraints-py3.10.txt,constraints.txt)

# Stamps record which dependency set is installed; they are redone when the pins change.
RUNTIME_STAMP := $(VENV)/.installed-runtime
DEV_STAMP     := $(VENV)/.installed-dev

.PHONY: all build diagrams current-diagrams test lint check bench screenshots clean distclean lock

all: build

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(RUNTIME_STAMP): pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(PIP) install -c $(CONSTRAINTS) -e .
	touch $@

$(DEV_STAMP): pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(PIP) install -c $(CONSTRAINTS) -e '.[test,examples]'
	touch $@ $(RUNTIME_STAMP)

# The shipped bank's diagrams are content drawn from code: scripts/diagrams.py (matplotlib)
# draws content/media/*.svg, byte for byte the same each time; the SVGs are committed.
# scripts/diagrams.sha256 records the script that drew them: `make build` redraws them when
# the script's content differs (file times say nothing in a fresh clone), `make diagrams` always.
DIAGRAM_STAMP := $(VENV)/.installed-diagrams

$(DIAGRAM_STAMP): pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(PIP) install -c $(CONSTRAINTS) -e '.[diagrams]'
	touch $@

diagrams: $(DIAGRAM_STAMP)
	$(BIN)/python scripts/diagrams.py --out content/media
	sha256sum scripts/diagrams.py > scripts/diagrams.sha256

current-diagrams:
	@sha256sum --status -c scripts/diagrams.sha256 2>/dev/null || $(MAKE) --no-print-directory diagrams

# A repeated `make build` with nothing changed does no work: the outputs are
# remade only when a source changed or one of the files the last build wrote is gone.
SOURCES := $(shell find content templates generator -type f ! -path '*/__pycache__/*' 2>/dev/null) \
           pyproject.toml $(CONSTRAINTS)
BUILD_STAMP := $(OUT)/.build-stamp
# The list of source files, rewritten only when a file is added or removed: a deleted
# question makes no remaining file newer, so the list itself is a prerequisite.
SOURCE_LIST := $(OUT)/.sources

build: $(RUNTIME_STAMP) current-diagrams
	@if [ -f $(BUILD_STAMP) ] && ! (cd $(OUT) && xargs -r ls -- < .build-stamp) >/dev/null 2>&1; \
	  then rm -f $(BUILD_STAMP); fi
	@mkdir -p $(OUT) && printf '%s\n' $(SOURCES) > $(SOURCE_LIST).new && \
	  if cmp -s $(SOURCE_LIST).new $(SOURCE_LIST); then rm $(SOURCE_LIST).new; \
	  else mv $(SOURCE_LIST).new $(SOURCE_LIST); fi
	@$(MAKE) --no-print-directory $(BUILD_STAMP)

# An editable install leaves the package's bytecode to Python, which compiles every module
# again at each start where it may not write it (PYTHONDONTWRITEBYTECODE): compile it once, as
# pip does for an installed package (only what changed; __pycache__ is not committed).
COMPILE := $(BIN)/python -m compileall -q generator

$(BUILD_STAMP): $(SOURCES) $(SOURCE_LIST) | $(RUNTIME_STAMP)
	$(COMPILE)
	$(BIN)/prepdeck build --content content --out $(OUT)
	cd $(OUT) && ls *.apkg *.pdf > .build-stamp

bench: $(DEV_STAMP)
	$(COMPILE)
	$(BIN)/python scripts/bench.py --out $(OUT)/bench

# PNG previews of the real outputs for the README.
screenshots: build $(DEV_STAMP)
	$(BIN)/python scripts/screenshots.py --build $(OUT) --out docs

# The card browser tests need Debian's chromium; CI (CI=true) installs it when it is missing,
# and a developer machine without it reports those tests as skipped.
CHROMIUM ?= $(or $(PREPDECK_CHROMIUM),/usr/bin/chromium)

test: $(DEV_STAMP)
	@if [ "$$CI" = true ] && [ ! -x $(CHROMIUM) ]; then \
	  echo "installing chromium for the card browser tests"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; fi
	$(BIN)/prepdeck check --strict --content content
	$(BIN)/prepdeck release --dry-run --content content
	$(BIN)/python -m pytest

lint: $(DEV_STAMP)
	$(BIN)/ruff check generator tests content/examples scripts
	$(BIN)/ruff format --check generator tests content/examples scripts

check: lint test

clean:
	rm -rf $(OUT) .pytest_cache .ruff_cache .hypothesis

distclean: clean
	rm -rf $(VENV) *.egg-info
	find generator scripts tests -name __pycache__ -type d -prune -exec rm -rf {} +

# Re-pin every dependency after editing pyproject.toml (for the venv's Python: run it
# once with a Python 3.11+ venv and once with a 3.10 one).
lock: | $(BIN)/python
	$(PIP) install -e '.[test,examples]'
	{ sed -n '1,2p' $(CONSTRAINTS); $(BIN)/python -m pip freeze --exclude-editable \
	  | sed 's/+cpu$$//'; } > constraints.tmp && mv constraints.tmp $(CONSTRAINTS)
