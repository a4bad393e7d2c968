"""Build the installable Blender extension zip from blender_addon/.

``protocol.py`` in the add-on is a link to the service's ``kinemo/protocol.py``;
the zip gets the file's real content, so the add-on and the service always
speak the one definition. Usage: python scripts/build_addon.py [--out DIR]
"""

from __future__ import annotations

import argparse
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ADDON = ROOT / "blender_addon"
SKIP_DIRS = {"__pycache__"}
LEGAL = ("LICENSE", "NOTICE")


def build(out_dir: Path = ROOT / "dist") -> Path:
    manifest = tomllib.loads((ADDON / "blender_manifest.toml").read_text())
    for wheel in manifest.get("wheels", []):
        if not (ADDON / wheel).is_file():
            raise SystemExit(f"build_addon: wheel listed in the manifest is missing: {wheel}")
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{manifest['id']}-{manifest['version']}.zip"
    tmp = out.with_suffix(".zip.part")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(ADDON.rglob("*")):
            rel = path.relative_to(ADDON)
            if path.is_dir() or SKIP_DIRS.intersection(rel.parts) or path.suffix == ".pyc":
                continue
            zf.writestr(str(rel), path.resolve().read_bytes())  # resolve(): links become content
        for notice in LEGAL:  # the licence and third-party credits travel with the add-on
            zf.write(ROOT / notice, notice)
    tmp.replace(out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="output folder (default: dist/)")
    args = parser.parse_args(argv)
    print(build(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
