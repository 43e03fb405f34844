"""Vendor MathJax 3 into ``vendor/mathjax/`` so the book typesets math without a CDN.

``python scripts/vendor_mathjax.py`` runs ``npm pack mathjax@VERSION`` (the npm registry is the
only network access it needs), and keeps the one combined component the book loads
(``es5/tex-chtml-full.js``: TeX input with every extension, HTML-CSS output, so nothing is fetched
on demand), its web fonts and the licence. The result is committed; the book's ``_config.yml``
points ``mathjax_path`` at it and copies ``vendor/`` into the build's ``_static/``.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VERSION = "3.2.2"
KEEP = ["LICENSE", "es5/tex-chtml-full.js", "es5/output/chtml/fonts/woff-v2"]


def main(dest: Path = Path(__file__).resolve().parents[1] / "vendor" / "mathjax") -> int:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["npm", "pack", f"mathjax@{VERSION}", "--silent"], cwd=tmp, check=True,
                       stdout=subprocess.DEVNULL)
        (tarball,) = Path(tmp).glob("mathjax-*.tgz")
        with tarfile.open(tarball) as tar:
            tar.extractall(tmp, filter="data")
        package = Path(tmp) / "package"
        if dest.exists():
            shutil.rmtree(dest)
        for item in KEEP:
            src, out = package / item, dest / item.removeprefix("es5/")
            out.parent.mkdir(parents=True, exist_ok=True)
            (shutil.copytree if src.is_dir() else shutil.copy2)(src, out)
    (dest / "VERSION").write_text(f"mathjax {VERSION} (npm), files: {', '.join(KEEP)}\n")
    print(f"MathJax {VERSION} -> {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
