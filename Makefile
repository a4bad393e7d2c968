# The two commands: `make demo` (main job on the bundled default) and `make test` (whole suite).
# Both create or reuse .venv and the system packages they need (scripts/setup_env.sh).
VENV ?= .venv
PY := $(VENV)/bin/python
SHARED_MODELS := $(abspath ../shared/models)
export KINEMO_MODEL_DIR ?= $(if $(wildcard $(SHARED_MODELS)/face_landmarker.task),$(SHARED_MODELS),)

.PHONY: setup demo test lint addon clean

setup:
	@bash scripts/setup_env.sh

demo: setup
	$(PY) scripts/demo.py

test: setup
	$(PY) -m pytest -q

lint: setup
	$(VENV)/bin/ruff check inference blender_addon scripts tests rigs

addon: setup
	$(PY) scripts/build_addon.py

clean:
	rm -rf build dist out
