#!/usr/bin/env bash
# Create or reuse the project's environment: system packages, .venv with Python 3.11, and
# the pinned dependencies (including bpy, real Blender as a module, and Dask for batch baking on
# a cluster: the dev and farm extras of pyproject.toml). Safe to run repeatedly.
#
#   scripts/setup_env.sh [--extras all|none|NAME[,NAME...]]
#
# --extras (or $KINEMO_SETUP_EXTRAS) picks the extra environments of scripts/setup_env.d to
# set up, by file name without .sh: "all" (the default), "none", or e.g. "voice". `make test`
# sets up all of them; `make demo` only what the demo needs (voice: ffmpeg), not the 1.6 GB
# Blender 4.2 environment (bpy42) that only the compatibility tests use.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}

EXTRAS=${KINEMO_SETUP_EXTRAS:-all}
usage="usage: scripts/setup_env.sh [--extras all|none|NAME[,NAME...]]"
while [ $# -gt 0 ]; do
  case "$1" in
    --extras) [ $# -ge 2 ] || { echo "setup: error: --extras needs a value ($usage)" >&2; exit 2; }
              EXTRAS=$2; shift 2 ;;
    --extras=*) EXTRAS=${1#--extras=}; shift ;;
    -h|--help) echo "$usage"; exit 0 ;;
    *) echo "setup: error: unknown argument '$1' ($usage)" >&2; exit 2 ;;
  esac
done
EXTRAS=$(printf '%s' "$EXTRAS" | tr ' ' ',')
have=$(for f in scripts/setup_env.d/*.sh; do [ ! -f "$f" ] || basename "$f" .sh; done | paste -sd, - | sed 's/,/, /g')
case "$EXTRAS" in
  all|none) ;;
  *) IFS=, read -ra names <<< "$EXTRAS"
     for name in "${names[@]}"; do
       [ -z "$name" ] || [ -f "scripts/setup_env.d/$name.sh" ] \
         || { echo "setup: error: --extras: no scripts/setup_env.d/$name.sh (there are: all, none, $have)" >&2; exit 2; }
     done ;;
esac

# System packages, as "command:debian-package" (the command shows it is installed):
#   oscsend/oscdump — liblo, the independent OSC implementation the interop tests talk to
APT_NEEDS=(
  "oscsend:liblo-tools"
  "oscdump:liblo-tools"
)
missing=()
for need in "${APT_NEEDS[@]}"; do
  command -v "${need%%:*}" >/dev/null || missing+=("${need#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  pkgs=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
  if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else SUDO=none; fi
  if [ "$SUDO" = none ]; then
    echo "setup: please install: apt-get install $pkgs" >&2
  else
    echo "setup: installing $pkgs" >&2
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $pkgs >/dev/null
  fi
fi

PY311=${PYTHON:-}
if [ -z "$PY311" ]; then
  for c in python3.11 python3; do
    if command -v "$c" >/dev/null && "$c" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      PY311=$c; break
    fi
  done
fi
if [ -z "$PY311" ]; then
  echo "setup: Python 3.11 is required (Blender 4.2-5.0 embed 3.11 and bpy wheels are cp311); set PYTHON=/path/to/python3.11" >&2
  exit 1
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV with $PY311" >&2
  "$PY311" -m venv "$VENV"
fi
stamp="$VENV/.kinemo-deps"
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing dependencies into $VENV (first time takes a few minutes)" >&2
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e ".[dev,farm]" 2>&1 | grep -v "^WARNING: Location" >&2 || true
  "$VENV/bin/python" -c "import kinemo, bpy, mediapipe, pythonosc, distributed" || { echo "setup: dependency install failed" >&2; exit 1; }
  echo "$want" > "$stamp"
fi

# Extra environments (e.g. a Blender 4.2 LTS bpy for compatibility tests) hook in here,
# those --extras picked:
for extra in scripts/setup_env.d/*.sh; do
  [ -f "$extra" ] || continue
  case ",$EXTRAS," in
    ,all,|*",$(basename "$extra" .sh),"*) bash "$extra" ;;
  esac
done
exit 0
