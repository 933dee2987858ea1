# Two commands on a fresh machine: `make demo` (set up, run the solution, export and validate a servable)
# and `make test` (set up, then the whole offline test suite).

PYTHON ?= python3.11
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
# nbgrader shells out to alembic, so the virtualenv's bin must come first on PATH.
export PATH := $(BIN):$(PATH)
# Keep TensorFlow's start-up chatter out of the way; real warnings still show.
export TF_CPP_MIN_LOG_LEVEL ?= 2

ASSIGNMENT := serving_keras_resnet
SOLUTION := solutions/$(ASSIGNMENT)/$(ASSIGNMENT).ipynb
DEMO_OUT := build/demo

.PHONY: setup sandbox-tools demo test lint bench release samples clean

setup: $(VENV)/.installed sandbox-tools

# The autograder runs student code under bubblewrap (bwrap), with util-linux's prlimit, setpriv and choom, and a
# seccomp filter compiled by libseccomp; all from the system's packages.
SANDBOX_TOOLS := bwrap prlimit setpriv choom
sandbox-tools:
	@missing=""; for tool in $(SANDBOX_TOOLS); do command -v $$tool >/dev/null || missing="$$missing $$tool"; done; \
	ldconfig -p | grep -q libseccomp.so.2 || missing="$$missing libseccomp"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && apt-get install -y -qq bubblewrap util-linux libseccomp2 >/dev/null; \
		else \
			echo "WARNING: grading needs$$missing: install bubblewrap, util-linux and libseccomp2 (apt-get install ...)"; \
		fi; \
	fi

$(VENV)/.installed: requirements.txt constraints.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required, found " + sys.version.split()[0]' \
		|| { echo "Set PYTHON=/path/to/python3.11 (e.g. make setup PYTHON=python3)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -qq --upgrade pip
	$(BIN)/pip install -qq -r requirements.txt -c constraints.txt
	touch $@

demo: setup
	mkdir -p $(DEMO_OUT)
	SERVABLE_DIR=$(CURDIR)/keras_servable SAMPLES_DIR=$(CURDIR)/samples \
		$(BIN)/papermill --log-output --no-progress-bar --cwd solutions/$(ASSIGNMENT) \
		$(SOLUTION) $(DEMO_OUT)/$(ASSIGNMENT).ipynb
	@echo "Executed notebook: $(DEMO_OUT)/$(ASSIGNMENT).ipynb; servable versions: $$(ls keras_servable)"

test: setup lint
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Measure the servable, the local server, the notebook and the grader: bench/results.json, bench/results.png.
bench: setup
	$(BIN)/python -m bench

# Regenerate the student release in notebooks/ from solutions/ with nbgrader.
release: setup
	$(BIN)/nbgrader generate_assignment $(ASSIGNMENT) --force --no-db

samples: setup
	$(BIN)/python samples/make_samples.py

clean:
	rm -rf build keras_servable .pytest_cache .ruff_cache
