"""Execute every chapter and build the HTML book from the executed copies.

``python .ci/build_book.py --out _build/ci --jobs 2`` (run with ``CMM_PROFILE=ci`` in CI):

1. executes each chapter of ``_toc.yml`` with nbclient in the chapter's own folder (as Jupyter
   Book would), each in its own process, ``--jobs`` at a time; a cell that raises fails the chapter
   and the script prints which one (this is the regression test of every chapter's checks). The
   chapters record their verdicts in ``OUT/results`` (``$CMM_RESULTS``, see ``cmmlib.results``);
   a notebook whose metadata sets ``cmm.after_chapters`` (the reproduction report, which reads
   those verdicts) runs once all the others have;
2. copies the book's sources into ``OUT/src`` with the executed notebooks in place of the
   sources, with each notebook's run time, status and time of execution in
   ``OUT/src/_exec_stats.json`` (shown by ``{nb-exec-table}`` through ``book/_ext/book_html.py``),
   and builds it with ``jupyter-book build -W -n --keep-going`` and execution off, so a
   Sphinx warning or a broken reference fails too. The HTML lands in ``OUT/html``.

Each chapter therefore runs once, and ``tests/test_browser.py`` reads the same HTML.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
COPY = ["_config.yml", "_toc.yml", "book", "vendor"]


def chapters() -> list[Path]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [c["file"] for c in toc.get("chapters", [])]
    return [ROOT / (f + ".ipynb") for f in files if (ROOT / (f + ".ipynb")).exists()]


def execute_one(notebook: Path, out_dir: Path, timeout: int) -> None:
    """Run one notebook top to bottom and write it, outputs included, into ``out_dir``."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(notebook, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(notebook.parent)}}).execute()
    out_dir.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out_dir / notebook.name)


#: minutes each chapter took in a measured `make book` (cpu profile, 2 at a time on 2 cores), for a
#: fresh clone; a build records its own in OUT/chapter_minutes.json, which the next build of the
#: same profile into OUT reads instead. Only the order in which the chapters start (longest
#: first) depends on them; a chapter not listed starts first.
HINT = ROOT / ".ci" / "chapter_minutes.json"


def minutes_hint(out: Path, profile: str) -> dict[str, float]:
    """Minutes per chapter: this OUT's last build of ``profile`` if any, else the shipped hint."""
    recorded = out / "chapter_minutes.json"
    if recorded.is_file():
        last = json.loads(recorded.read_text())
        if last.get("profile") == profile:
            return last["minutes"]
    return json.loads(HINT.read_text())


def chapter_key(notebook: Path) -> str:
    return notebook.relative_to(ROOT).with_suffix("").as_posix()


def after_chapters(notebook: Path) -> bool:
    """Whether ``notebook`` reads what the chapters record (metadata ``cmm.after_chapters``)."""
    return bool(json.loads(notebook.read_text()).get("metadata", {}).get("cmm", {}).get("after_chapters"))


def execute(notebook: Path, out_dir: Path, timeout: int, env: dict[str, str]) -> tuple[Path, float, str | None]:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, __file__, "--execute-one", str(notebook), str(out_dir),
         "--timeout", str(timeout)], cwd=notebook.parent, capture_output=True, text=True, env=env)
    error = None if proc.returncode == 0 else (proc.stderr[-6000:] or f"exit {proc.returncode}")
    return notebook, time.perf_counter() - start, error


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "ci")
    parser.add_argument("--jobs", type=int, default=2, help="chapters executed at the same time")
    parser.add_argument("--timeout", type=int, default=1500, help="seconds per cell")
    parser.add_argument("--html-only", action="store_true",
                        help="rebuild the HTML from the notebooks executed last time")
    parser.add_argument("--execute-one", nargs=2, type=Path, metavar=("NOTEBOOK", "OUT_DIR"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.execute_one:
        execute_one(*args.execute_one, args.timeout)
        return 0
    out = args.out.resolve()
    src = out / "src"
    print(f"profile {os.environ.get('CMM_PROFILE', '(default)')}: executing the chapters into {src}")

    if src.exists() and not args.html_only:
        shutil.rmtree(src)
    src.mkdir(parents=True, exist_ok=True)
    for name in COPY:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, dirs_exist_ok=True, ignore=shutil.ignore_patterns(
                ".ipynb_checkpoints", "__pycache__", "*.ipynb"))
        elif path.exists():
            shutil.copy2(path, src / name)
    config = (src / "_config.yml").read_text()
    config = re.sub(r"(?m)^(\s*execute_notebooks:).*$", r'\1 "off"', config)
    (src / "_config.yml").write_text(config)

    notebooks = [] if args.html_only else chapters()
    profile = os.environ.get("CMM_PROFILE", "")
    minutes = minutes_hint(out, profile)
    notebooks.sort(key=lambda nb: minutes.get(chapter_key(nb), float("inf")), reverse=True)  # longest first
    results = out / "results"
    if not args.html_only:
        shutil.rmtree(results, ignore_errors=True)  # the report reads this build's verdicts only
    env = {**os.environ, "CMM_RESULTS": str(results)}
    t0 = time.perf_counter()
    failed, stats = [], {}
    for phase in ([nb for nb in notebooks if not after_chapters(nb)], [nb for nb in notebooks if after_chapters(nb)]):
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            jobs = [pool.submit(execute, nb, src / nb.parent.relative_to(ROOT), args.timeout, env)
                    for nb in phase]
            for job in jobs:
                notebook, seconds, error = job.result()
                name = notebook.relative_to(ROOT)
                print(f"  {name}: {'FAILED' if error else 'ok'} in {seconds / 60:.1f} min", flush=True)
                stats[name.with_suffix("").as_posix()] = {
                    "mtime": time.time(), "runtime": seconds, "succeeded": error is None,
                    "method": f"nbclient, {args.jobs} at a time (.ci/build_book.py)",
                    "error": None if error is None else error.strip().splitlines()[-1][:200], "traceback": None}
                if error:
                    failed.append(name)
                    print(error, file=sys.stderr)
        if failed:
            break
    print(f"chapters executed in {(time.perf_counter() - t0) / 60:.1f} min")
    if failed:
        print("ERROR: failing chapters: " + ", ".join(map(str, failed)), file=sys.stderr)
        return 1
    if stats:
        (src / "_exec_stats.json").write_text(json.dumps(stats, indent=1))
        (out / "chapter_minutes.json").write_text(json.dumps(
            {"profile": profile, "minutes": {k: round(v["runtime"] / 60, 2) for k, v in stats.items()}}, indent=1))

    html = out / "html"
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("jupyter-book")), "build", str(src), "-W", "-n",
         "--keep-going", "--path-output", str(out / "jb")])
    if proc.returncode:
        return proc.returncode
    if html.exists():
        shutil.rmtree(html)
    shutil.move(out / "jb" / "_build" / "html", html)
    print(f"HTML book: {html / 'index.html'}")
    return subprocess.run([sys.executable, str(ROOT / ".ci" / "check_html.py"), str(html)],
                          cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main())
