# cmm-book: two entry points for a fresh machine.
#   make book   -> builds the executed HTML book in _build/html (main job)
#   make test   -> pytest for cmmlib; every chapter executed (CMM_PROFILE=ci) into a warning-free HTML
#                  book (_build/ci/html); that book opened page by page in headless Chromium
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# pytest workers (one file per worker: a notebook keeps its kernel, a test file its compile cache)
WORKERS ?= 2

export XLA_PYTHON_CLIENT_PREALLOCATE := false
# tests and CI never download: loaders use the data shipped with cmmlib (and say so)
test test-lib test-notebooks test-book: export CMM_OFFLINE := 1

.PHONY: venv book test test-lib test-notebooks test-book browser bench clean

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt -e .
	touch $@

# The chapters executed $(WORKERS) at a time in the active profile (cpu without a GPU), then the HTML
# built from the executed copies with -W -n and checked: _build/html. While editing one chapter,
# `$(BIN)/jupyter-book build .` rebuilds with Jupyter Book's cache (only what changed runs again).
book: venv
	$(BIN)/python .ci/build_book.py --out _build --jobs $(WORKERS)

test: test-lib test-notebooks test-book

test-lib: venv
	CMM_PROFILE=ci $(BIN)/python -m pytest tests -q -n $(WORKERS) --dist loadfile -m "not browser"

# Every chapter executed ($(WORKERS) at a time; a cell that raises fails), then the HTML book built
# from the executed copies with -W -n (a Sphinx warning or a broken reference fails): _build/ci/html.
test-notebooks: venv
	CMM_PROFILE=ci $(BIN)/python .ci/build_book.py --out _build/ci --jobs $(WORKERS)

# That book as a reader sees it: every page in headless Chromium (tests/test_browser.py);
# screenshots in _build/screenshots/.
test-book: test-notebooks browser
	CMM_BOOK_HTML=_build/ci/html $(BIN)/python -m pytest tests/test_browser.py -m browser -q -p no:cacheprovider

# Debian's chromium and its driver (the browser test never downloads a browser).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
		{ $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium chromium-driver; }

bench: venv
	$(BIN)/python -m cmmlib.bench all --json _build/bench/bench.json

clean:
	rm -rf _build .pytest_cache
