"""Point the book at a repository (a fork): ``python scripts/set_repository.py https://github.com/me/cmm-book``.

The repository URL is one setting, ``repository.url`` in ``_config.yml`` (the launch, repository
and issue buttons read it). The first code cell of every chapter installs ``cmmlib`` from the same
URL when it is missing (in Colab), and a notebook opened in Colab cannot read ``_config.yml``, so
this script writes the URL into both (and into the links of the book's Markdown pages);
``tests/test_repository_url.py`` fails when the set-up cells and ``_config.yml`` disagree.
"""
from __future__ import annotations

import argparse
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "_config.yml"
#: the install line of the chapters' set-up cell
INSTALL = re.compile(r'"git\+(https://[^"\\]+)"')
URL_LINE = re.compile(r"(?m)^(repository:\s*\n(?:[ \t]+.*\n)*?[ \t]+url:[ \t]*)(\S+)")


def configured_url() -> str:
    """``repository.url`` of ``_config.yml``."""
    match = URL_LINE.search(CONFIG.read_text())
    if not match:
        raise SystemExit(f"no repository.url in {CONFIG}")
    return match.group(2)


def setup_urls() -> dict[Path, list[str]]:
    """The URLs that each chapter's set-up cell installs from."""
    import nbformat

    out = {}
    for notebook in sorted((ROOT / "book").glob("*.ipynb")):
        cells = nbformat.read(notebook, as_version=4).cells
        urls = [u for c in cells if c.cell_type == "code" for u in INSTALL.findall(c.source)]
        if urls:
            out[notebook] = urls
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="https URL of the repository, e.g. https://github.com/me/cmm-book")
    url = parser.parse_args().url.rstrip("/")
    if not re.fullmatch(r"https://[\w.-]+/[\w.-]+/[\w.-]+", url):
        raise SystemExit(f"expected https://host/owner/name, got {url!r}")
    old = configured_url()
    CONFIG.write_text(URL_LINE.sub(lambda m: m.group(1) + url, CONFIG.read_text(), count=1))
    for page in (ROOT / "book").glob("*.md"):  # links to the repository in the text (its README)
        page.write_text(page.read_text().replace(old, url))
    import nbformat

    for path in setup_urls():
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                cell.source = INSTALL.sub(f'"git+{url}"', cell.source)
        nbformat.write(notebook, path)
    print(f"repository.url and {len(setup_urls())} set-up cells now point to {url}")


if __name__ == "__main__":
    main()
