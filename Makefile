# Two commands a newcomer needs: `make serve` and `make test`. Both install first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: install serve test eval bench clean

install: $(STAMP)

# Reinstall when the dependencies change; torch is pinned to the CPU wheel in constraints.txt.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

serve: install
	$(BIN)/python -m qa serve --host $(HOST) --port $(PORT)

test: install
	$(BIN)/python -m pytest

eval: install
	$(BIN)/python -m qa eval ../shared/eval/dev.jsonl

bench: install
	$(BIN)/python -m qa bench

clean:
	rm -rf $(VENV) var
