# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
# torch is installed first from its exact pin (the CPU build on these machines' disk); an unpinned
# torch would pull a multi-GB CUDA build.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
TORCH  := torch==2.13.0
DATA   ?= ../shared/data
STAMP  := $(VENV)/.installed

# The report test drives a headless Chromium: Debian's chromium package, installed here when missing
# (CI runs as root; elsewhere install it yourself or set INRZIP_CHROMIUM). Without it that test skips,
# except under CI=true, where it fails.
CHROMIUM_PKG := chromium

.PHONY: install demo test test-all bench fuzz clean lint browser

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q $(TORCH)
	$(PIP) install -q -e '.[all]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) -m inrzip.demo --data $(DATA)

browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  { command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(CHROMIUM_PKG) >/dev/null; } || \
	  echo "make: chromium is missing and could not be installed (apt-get install $(CHROMIUM_PKG)); the browser test needs it"

test: $(STAMP) browser
	$(PY) -m pytest -q

test-all: $(STAMP) browser
	$(PY) -m pytest -q -m ""

lint: $(STAMP)
	$(PY) -m ruff check src tests benchmarks

# The quick benchmark set (minutes on 2 cores); each script's docstring has its full-size command.
bench: $(STAMP)
	$(PY) benchmarks/fit_throughput.py --archs 28x9 --epochs 1 --repeats 1 --threads 1 --k 2

# The decoder against 100,000 hostile files (about an hour on 2 cores; docs/benchmarks.md). `make test` runs 3,000.
fuzz: $(STAMP)
	$(PY) benchmarks/fuzz.py --cases 100000 --seed 0 --workers 2 --timeout 20 --out results/fuzz.json

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache out
