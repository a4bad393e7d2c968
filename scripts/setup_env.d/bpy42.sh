#!/usr/bin/env bash
# Blender 4.2 LTS as a Python module, in its own venv (.venv-bpy42), so the add-on's
# compatibility tests run against the legacy Action API (Action.fcurves) as well as 5.0.
# Run by scripts/setup_env.sh; idempotent and fast once installed.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV42=${VENV42:-.venv-bpy42}
WANT="bpy==4.2.0 numpy==1.26.4 python-osc==1.10.2 pytest==9.2.0"

PY311=${PYTHON:-}
if [ -z "$PY311" ]; then
  for c in python3.11 python3; do
    if command -v "$c" >/dev/null && "$c" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      PY311=$c; break
    fi
  done
fi
[ -n "$PY311" ] || { echo "setup(bpy42): Python 3.11 is required for the bpy 4.2 wheel" >&2; exit 1; }

if [ ! -x "$VENV42/bin/python" ]; then
  echo "setup(bpy42): creating $VENV42 (Blender 4.2 LTS as a module)" >&2
  "$PY311" -m venv "$VENV42"
fi
# Keep the venv out of git without touching the shared .gitignore (as newer venvs do themselves).
[ -f "$VENV42/.gitignore" ] || echo '*' > "$VENV42/.gitignore"
stamp="$VENV42/.kinemo-deps"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$WANT" ]; then
  echo "setup(bpy42): installing $WANT into $VENV42 (first time takes a few minutes)" >&2
  # shellcheck disable=SC2086
  "$VENV42/bin/python" -m pip install -q --disable-pip-version-check $WANT >&2
  "$VENV42/bin/python" -c "import bpy, numpy, pythonosc, pytest; assert bpy.app.version[:2] == (4, 2), bpy.app.version" \
    || { echo "setup(bpy42): install failed" >&2; exit 1; }
  echo "$WANT" > "$stamp"
fi
exit 0
