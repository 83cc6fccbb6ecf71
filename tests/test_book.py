"""The course website: ``make book`` builds it, and every page opens in headless Chromium with its
figures loaded and no internal link broken (``make test-book``, part of ``make test``)."""

import functools
import http.server
import shutil
import threading
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import pytest

from mri_helpers.course.book import WIDGET_NOTE, build, prepare

pytestmark = pytest.mark.book
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    html = build(tmp_path_factory.mktemp("book"))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield html, f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


def test_the_sources_are_the_readme_the_notebooks_in_order_and_the_guide(tmp_path):
    src = prepare(tmp_path / "src")
    toc = (src / "_toc.yml").read_text().splitlines()
    notebooks = sorted(p.stem for p in (REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert toc[:3] == ["format: jb-book", "root: intro", "chapters:"]
    assert toc[3:-1] == [f"  - file: notebooks/{n}" for n in notebooks] and toc[-1] == "  - file: instructor"
    assert (src / "intro.md").read_text().startswith("# Brain-tumour MRI classification")
    assert WIDGET_NOTE in (src / "notebooks" / "06_dropout.ipynb").read_text()
    assert "](results/" not in (src / "intro.md").read_text()  # repository files are linked on GitHub


def test_every_page_renders_with_its_figures_and_no_broken_internal_link(site, browser):
    html, base = site
    page = browser.new_page()
    page.goto(base + "index.html")
    page.wait_for_url("**/intro.html")  # the home page opens the README's
    pages = ["intro.html", "instructor.html",
             *(f"notebooks/{p.stem}.html" for p in sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb")))]
    broken, seen_images = [], 0
    for name in pages:
        response = page.goto(base + name)
        assert response and response.ok, name
        assert page.locator("article h1").count() >= 1, f"{name} has no heading"
        images = page.eval_on_selector_all("article img", "els => els.map(e => [e.src, e.complete && e.naturalWidth > 0])")
        images = [(src, ok) for src, ok in images if src.startswith(base)]  # the badges' are on the web, unreachable here
        assert all(ok for _, ok in images), [src for src, ok in images if not ok]
        seen_images += len(images)
        for href in page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)"):
            url = urlparse(urljoin(base + name, href))
            if url.netloc == urlparse(base).netloc and not (html / unquote(url.path).lstrip("/")).exists():
                broken.append(f"{name} -> {href}")
    assert not broken, broken
    assert seen_images >= 30  # the notebooks' figures and the README's


def test_search_finds_a_notebook(site, browser):
    _, base = site
    page = browser.new_page()
    page.goto(base + "search.html?q=convolution")
    page.wait_for_selector("#search-results li", timeout=20_000)
    assert "02" in page.inner_text("#search-results")
