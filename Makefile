# cmm-book: two entry points for a fresh machine.
#   make book   -> builds the executed HTML book in _build/html (main job)
#   make test   -> pytest for cmmlib, nbval over every chapter (CMM_PROFILE=ci), warning-free book build
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# pytest workers (one file per worker: a notebook keeps its kernel, a test file its compile cache)
WORKERS ?= 2

export XLA_PYTHON_CLIENT_PREALLOCATE := false
# tests and CI never download: loaders use the data shipped with cmmlib (and say so)
test test-lib test-notebooks test-book: export CMM_OFFLINE := 1

.PHONY: venv book test test-lib test-notebooks test-book bench clean

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt -e .
	touch $@

book: venv
	$(BIN)/jupyter-book build . -W -n --keep-going
	$(BIN)/python .ci/check_html.py _build/html

test: test-lib test-notebooks test-book

test-lib: venv
	CMM_PROFILE=ci $(BIN)/python -m pytest tests -q -n $(WORKERS) --dist loadfile

test-notebooks: venv
	CMM_PROFILE=ci $(BIN)/python -m pytest --nbval-lax --nbval-current-env --nbval-cell-timeout=1500 -p no:cacheprovider \
		-n $(WORKERS) --dist loadfile book -q

# Sphinx warnings and broken references, without executing the notebooks.
test-book: venv
	mkdir -p _build
	sed 's/^\(\s*execute_notebooks:\).*/\1 "off"/' _config.yml > _build/_config_noexec.yml
	$(BIN)/jupyter-book build . -W -n --keep-going --config _build/_config_noexec.yml --path-output _build/noexec

bench: venv
	$(BIN)/python -m cmmlib.bench all

clean:
	rm -rf _build .pytest_cache
