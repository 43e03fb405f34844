"""Check a built book: every chapter page exists and shows its figures.

``python .ci/check_html.py _build/html`` exits non-zero when a chapter of ``_toc.yml`` has no
page or an executed chapter page has no figure (e.g. matplotlib running a non-inline backend).
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml


def chapters(toc: Path) -> list[str]:
    return [c["file"] for c in yaml.safe_load(toc.read_text())["chapters"]]


def main(html: Path) -> int:
    problems = []
    for chapter in chapters(Path("_toc.yml")):
        source, page = Path(chapter + ".ipynb"), html / (chapter + ".html")
        if not page.exists():
            problems.append(f"{page}: missing")
            continue
        figures = len(re.findall(r'<img[^>]+src="[^"]*_images/', page.read_text()))
        if source.exists() and figures == 0:
            problems.append(f"{page}: no figure")
        print(f"{page}: {figures} figure(s)")
    for p in problems:
        print("ERROR:", p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "_build/html")))
