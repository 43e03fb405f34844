"""The book as a reader sees it: every page opened in headless Chromium.

Reads the executed HTML book that ``.ci/build_book.py`` writes (``make test`` builds it in the
``ci`` profile before this test runs); when it is missing, the fixture builds it first, in the
``ci`` profile. The pages are served on 127.0.0.1 and opened in Debian's ``chromium`` through
its ``chromedriver`` (Selenium, nothing downloaded; every other host is unreachable, as for an
offline reader). Each page fails on:

* a JavaScript console error (level SEVERE, e.g. a script declared twice or a resource that
  could not load),
* an image that did not load (``naturalWidth`` 0),
* math MathJax did not typeset: ``$``, ``\\(`` or ``\\[`` left in visible text outside code
  (printed outputs included), or a TeX error box,
* a broken internal link or ``#anchor``,
* a figure wider than the text column, or one drawn so much wider than the column that the
  browser shrinks it below 2/3 of its size (its labels become unreadable),
* a page that scrolls sideways,
* printed output a reader should not see: ``np.float64(...)`` reprs, a ``TqdmWarning`` or a
  local path (``/.venv/``, ``site-packages/``).

One screenshot per page is kept in ``_build/screenshots/``.
Select with ``-m browser``; ``make test`` runs it as ``make test-book``.
"""
from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
HTML = Path(os.environ.get("CMM_BOOK_HTML", ROOT / "_build" / "ci" / "html"))
SHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = os.environ.get("CMM_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CMM_CHROMEDRIVER", "/usr/bin/chromedriver")
WIDTH, HEIGHT = 1280, 1000  # a laptop window: the text column is then about 750 px wide
SHRINK = 1.5  # a figure drawn wider than 1.5 columns is shown at less than 2/3 of its size


def _pages() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [c["file"] for c in toc.get("chapters", [])]
    return [f + ".html" for f in files] + ["index.html", "genindex.html", "search.html"]


PAGES = _pages()


@pytest.fixture(scope="module")
def site():
    if not (HTML / "index.html").exists():
        if not os.environ.get("CMM_BOOK_HTML"):
            env = {**os.environ, "CMM_PROFILE": "ci"}
            subprocess.run([sys.executable, str(ROOT / ".ci" / "build_book.py"),
                            "--out", str(HTML.parent)], check=True, env=env, cwd=ROOT)
        assert (HTML / "index.html").exists(), f"no built book at {HTML}"

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    class Server(http.server.ThreadingHTTPServer):
        def handle_error(self, request, client_address):
            if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
                super().handle_error(request, client_address)  # a download the browser cancelled is not

    server = Server(("127.0.0.1", 0), functools.partial(Quiet, directory=str(HTML)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    for exe in (CHROMIUM, CHROMEDRIVER):
        if not shutil.which(exe):
            pytest.fail(f"{exe} missing: install Debian's chromium and chromium-driver "
                        "(make test does it when it can)")
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager: never download anything
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                 "--hide-scrollbars", f"--window-size={WIDTH},{HEIGHT}",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
                 # an offline reader: every host but the local server is unreachable
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(120)  # above the bounded waits of INSPECT (20 s images, 30 s loading, 30 s typesetting)
    yield driver
    driver.quit()


# Waits for the images and for MathJax, then returns what the checks need.
INSPECT = r"""
const done = arguments[arguments.length - 1];
(async () => {
 try {
  // the document as loaded: seen once in CI, on a loaded machine, the script ran before the
  // page had a body (never on rerun); wait for it, bounded, and say where the script ran if not
  for (let i = 0; i < 100 && !(document.body && document.readyState === "complete"); i++) {
    await new Promise(resolve => setTimeout(resolve, 100));
  }
  if (!document.body) throw new Error("no document body after 10 s at " + location.href
                                      + " (document " + document.readyState + ")");
  const images = Array.from(document.images);
  images.forEach(img => { img.loading = "eager"; });
  // bounded waits: a stalled decode or typesetting is reported by the checks, not a script timeout
  const within = (promise, ms) => Promise.race([promise, new Promise(resolve => setTimeout(resolve, ms))]);
  await within(Promise.all(images.map(img => img.decode().catch(() => null))), 20000);
  let mathjax = "absent";
  const hasMath = !!document.querySelector(".math, .tex2jax_process, .mathjax_process");
  for (let i = 0; i < 300 && hasMath && !(window.MathJax && MathJax.startup && MathJax.startup.promise); i++) {
    await new Promise(resolve => setTimeout(resolve, 100));  // MathJax loads with the page (defer)
  }
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    mathjax = "still typesetting after 30 s";
    try { await within(MathJax.startup.promise.then(() => { mathjax = "typeset"; }), 30000); }
    catch (e) { mathjax = "failed: " + e; }
  } else if (window.MathJax) {
    // say what happened to the script: never requested, still loading, or fetched but not run
    const script = Array.from(document.scripts).find(s => /mathjax/i.test(s.src || ""));
    const entry = script && performance.getEntriesByName(script.src)[0];
    mathjax = "not loaded after 30 s (" + (!script ? "no MathJax script on the page"
      : !entry ? "script " + script.getAttribute("src") + " never fetched"
      : "script fetched in " + Math.round(entry.duration) + " ms, " + entry.decodedBodySize
        + " bytes, not run") + ", document " + document.readyState + ")";
  }
  const column = document.querySelector("article.bd-article") || document.querySelector("main");
  const colRect = column ? column.getBoundingClientRect() : {left: 0, right: innerWidth, width: innerWidth};
  const skip = "script, style, noscript, textarea, mjx-container, .cell_input, code.literal";
  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!el || !node.nodeValue.trim() || el.closest(skip)) continue;
    if (el.closest(".highlight") && !el.closest(".cell_output")) continue;  // code blocks
    if (!el.getClientRects().length) continue;  // not visible
    texts.push(node.nodeValue);
  }
  done({
    mathjax,
    texErrors: Array.from(document.querySelectorAll("mjx-merror")).map(e => e.textContent.slice(0, 80)),
    text: texts.join("\n"),
    column: colRect.width,
    overflowX: document.documentElement.scrollWidth - document.documentElement.clientWidth,
    images: images.map(img => ({
      src: img.getAttribute("src"),
      natural: img.naturalWidth,
      declared: parseFloat(img.getAttribute("width")) || img.naturalWidth,
      shown: img.getBoundingClientRect().width,
      right: img.getBoundingClientRect().right - colRect.right,
      inArticle: !!(column && column.contains(img)),
    })),
    links: Array.from(document.querySelectorAll("a[href]")).map(a => a.href),
  });
 } catch (e) { done({scriptError: String(e)}); }  // reported by the test, not a silent timeout
})();
"""

RAW_TEX = re.compile(r"\$|\\\(|\\\)|\\\[|\\\]")
# numpy scalar reprs, and warnings that print the reader's local paths
LEAKS = re.compile(r"np\.(float|int)(16|32|64)\(|TqdmWarning|/\.venv/|site-packages/")


@functools.lru_cache(maxsize=None)
def _fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            body = response.read().decode("utf-8", "replace") if url.endswith(".html") else ""
            return response.status, body
    except urllib.error.HTTPError as error:
        return error.code, ""


def _broken_links(links: list[str], base: str) -> list[str]:
    broken = []
    for link in sorted(set(links)):
        if not link.startswith(base):
            continue  # external: not followed (the reader may be offline)
        target, _, fragment = link.partition("#")
        status, body = _fetch(target)
        if status != 200:
            broken.append(f"{link} (HTTP {status})")
        elif fragment and body and not re.search(
                r'\b(id|name)="%s"' % re.escape(urllib.parse.unquote(fragment)), body):
            broken.append(f"{link} (no anchor #{fragment})")
    return broken


def _inspect(browser, url: str, attempts: int = 2) -> dict:
    """Load ``url`` and run :data:`INSPECT`. The page script bounds its own waits; a WebDriver
    script timeout beyond them, MathJax not loaded within them, or an exception in the script
    (a page with no body: each seen in CI on a loaded machine, on a different page each time,
    never when rerun) gets one fresh load before it counts as a failure; the failure then says
    what happened (to the MathJax script, or the exception with the address the script ran at)."""
    from selenium.common.exceptions import TimeoutException

    for attempt in range(attempts):
        browser.get(url)
        try:
            info = browser.execute_async_script(INSPECT)
        except TimeoutException:
            if attempt == attempts - 1:
                raise
            continue
        if "scriptError" in info:
            if attempt < attempts - 1:
                continue
            pytest.fail(f"{url}: the page inspection raised {info['scriptError']}")
        if info["mathjax"].startswith("not loaded") and attempt < attempts - 1:
            continue  # seen once in CI, on the first page with math, never on rerun
        return info
    raise AssertionError("unreachable")


@pytest.mark.parametrize("page", PAGES)
def test_page_as_a_reader_sees_it(page, site, browser):
    if not (HTML / page).exists():
        pytest.fail(f"{page}: not built")
    browser.get_log("browser")  # drop what earlier pages left
    info = _inspect(browser, site + page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SHOTS / (page.replace("/", "_").removesuffix(".html") + ".png")))
    problems = []

    for entry in browser.get_log("browser"):
        if entry["level"] == "SEVERE":
            problems.append(f"console error: {entry['message'][:300]}")

    if info["mathjax"] not in ("typeset", "absent"):
        problems.append(f"MathJax {info['mathjax']}")
    for error in info["texErrors"]:
        problems.append(f"TeX error: {error}")
    for line in info["text"].splitlines():
        for m in RAW_TEX.finditer(line):
            start = max(0, m.start() - 40)
            problems.append(f"raw TeX in the text: ...{line[start:m.end() + 40].strip()}...")
            break

    leaks = list(LEAKS.finditer(info["text"]))
    for m in leaks[:3]:
        problems.append(f"printed output a reader should not see: {info['text'][m.start():m.end() + 40]!r}")
    if len(leaks) > 3:
        problems.append(f"... and {len(leaks) - 3} more such outputs")

    for img in info["images"]:
        if img["natural"] == 0:
            problems.append(f"image did not load: {img['src']}")
        elif img["inArticle"]:
            if img["right"] > 1 or img["shown"] > info["column"] + 1:
                problems.append(f"image wider than the column ({img['shown']:.0f} > "
                                f"{info['column']:.0f} px): {img['src']}")
            if img["declared"] > SHRINK * info["column"]:
                problems.append(
                    f"figure drawn {img['declared']:.0f} px wide for a {info['column']:.0f} px "
                    f"column: shown at {img['shown'] / img['declared']:.0%} of its size, "
                    f"labels unreadable: {img['src']}")
    if info["overflowX"] > 1:
        problems.append(f"the page scrolls sideways by {info['overflowX']} px")

    problems += [f"broken link: {b}" for b in _broken_links(info["links"], site)]

    assert not problems, f"{page}: {len(problems)} problem(s):\n  " + "\n  ".join(problems)
