# Two commands on a fresh machine:  `make run` (set up + the headline job)  and  `make test` (set up + tests).
PY := .venv/bin/python
export PYTHONHASHSEED := 0
export MUJOCO_GL ?= egl

.PHONY: setup run test test-all lint format

setup:
	bash scripts/setup.sh

run: setup
	$(PY) -m agents.train env=n2n-resnet34

test: setup
	$(PY) -m pytest -m "not slow and not gpu" -q --durations=15

test-all: setup
	$(PY) -m pytest -q --durations=25

lint:
	$(PY) -m ruff check . && $(PY) -m ruff format --check .

format:
	$(PY) -m ruff check --fix . && $(PY) -m ruff format .
