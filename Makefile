# On a fresh machine: `make demo` (set up, run the solution, export and validate a servable), `make test` (set up,
# lint, and every offline test but the class-scale ones) and `make test-class` (those: a class's batch graded, a Dask
# cluster, the benchmarks' and the second assignment's gradings). CI runs both test targets; together they are the whole suite.

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

.PHONY: setup sandbox-tools browser student-jupyter instructor demo test test-class lint bench release check samples clean

setup: $(VENV)/.installed sandbox-tools browser student-jupyter

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

# The browser tests drive Debian's chromium with Playwright (Playwright's own browser download is never used).
browser:
	@command -v chromium >/dev/null || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
		else \
			echo "WARNING: the browser tests need chromium: apt-get install chromium"; \
		fi; }

# What a student's JupyterLab runs (autograder/jupyter/): a kernel whose TensorFlow C++ start-up lines go to the
# terminal rather than into the notebook and that stops without Python's last garbage collection, Validate, and none
# of nbgrader's instructor or exchange tools.
# A conda environment gets the same with: make student-jupyter JUPYTER_PREFIX=$$CONDA_PREFIX
JUPYTER_PREFIX ?= $(VENV)
student-jupyter: $(VENV)/.installed
	install -D -m 0644 autograder/jupyter/kernel.json $(JUPYTER_PREFIX)/share/jupyter/kernels/python3/kernel.json
	install -D -m 0644 autograder/jupyter/unfilled_blanks.py \
		$(JUPYTER_PREFIX)/share/jupyter/kernels/python3/unfilled_blanks.py
	install -D -m 0644 autograder/jupyter/parts.py $(JUPYTER_PREFIX)/share/jupyter/kernels/python3/parts.py
	install -D -m 0644 autograder/jupyter/ipython_kernel_config.py \
		$(JUPYTER_PREFIX)/share/jupyter/kernels/python3/ipython_kernel_config.py
	install -D -m 0644 autograder/jupyter/student/labconfig/page_config.json \
		$(JUPYTER_PREFIX)/etc/jupyter/labconfig/page_config.json
	install -D -m 0644 autograder/jupyter/student/jupyter_server_config.d/nbgrader_student.json \
		$(JUPYTER_PREFIX)/etc/jupyter/jupyter_server_config.d/nbgrader_student.json

# JupyterLab with nbgrader's instructor tools: Formgrader, Create Assignment, the course list. Its configuration
# (autograder/jupyter/instructor) is read before the virtualenv's student one, so it wins; settings stay in ~/.jupyter.
# Run as root (in a grading container, say), Jupyter needs --allow-root, given here; set JUPYTER_ARGS for others.
instructor: setup
	JUPYTER_CONFIG_DIR=$(CURDIR)/autograder/jupyter/instructor JUPYTER_PREFER_ENV_PATH=0 \
		JUPYTERLAB_SETTINGS_DIR=$(HOME)/.jupyter/lab/user-settings \
		JUPYTERLAB_WORKSPACES_DIR=$(HOME)/.jupyter/lab/workspaces \
		$(BIN)/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) $(JUPYTER_ARGS)

$(VENV)/.installed: requirements.txt constraints.txt pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required, found " + sys.version.split()[0]' \
		|| { echo "Set PYTHON=/path/to/python3.11 (e.g. make setup PYTHON=python3)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -qq --upgrade pip
	$(BIN)/pip install -qq -r requirements.txt -c constraints.txt
	$(BIN)/pip install -qq --no-deps --no-build-isolation --editable .
	touch $@

demo: setup
	mkdir -p $(DEMO_OUT)
	SERVABLE_DIR=$(CURDIR)/keras_servable SAMPLES_DIR=$(CURDIR)/samples \
		$(BIN)/papermill --log-output --no-progress-bar --cwd solutions/$(ASSIGNMENT) \
		$(SOLUTION) $(DEMO_OUT)/$(ASSIGNMENT).ipynb
	@echo "Executed notebook: $(DEMO_OUT)/$(ASSIGNMENT).ipynb; servable versions: $$(ls keras_servable)"

test: setup lint
	$(BIN)/python -m pytest -m "not class_scale"

test-class: setup
	$(BIN)/python -m pytest -m class_scale

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Measure the servable, the local server, the notebook and the grader: bench/results.json, bench/results.png.
bench: setup
	$(BIN)/python -m bench

# Regenerate the student release in notebooks/ from solutions/ with nbgrader: every assignment, each a folder of
# solutions/ with an assignment.toml; a broken one is reported and skipped, the others are released.
release: setup
	$(BIN)/python -m autograder release

# Grade each assignment's solution and untouched release: an assignment whose solution misses points is refused.
check: setup
	$(BIN)/python -m autograder check

samples: setup
	$(BIN)/python samples/make_samples.py

clean:
	rm -rf build keras_servable .pytest_cache .ruff_cache
