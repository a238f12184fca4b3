"""The reader in a real browser: a uvicorn server on 127.0.0.1 and headless Chromium driven by Playwright.

The store holds the fixture page (a flattened news page with ad and teaser furniture, ingested through the pipeline),
40 real ECB+ reports on 10 events (dated here, over the last eight days, so they form stories with timelines) and the
real BBC reports on Israel (its true neighbours), all run through the pipeline's stages. We open the fixture's article
page, check the clean body shows and no ad text does, then follow a More like this, a Related and a Popular link, each
to another article page; from the home page's story block we open a story page (chart and timeline), and from an
article of a story its "same story" link. Screenshots go to artifacts/browser/ (git-ignored) for people to look at.

Uses the system Chromium (/usr/bin/chromium, Debian package); Playwright's own browser download is never used.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from newsloom.pipeline import default_stages, ingest_articles, ingest_paths
from newsloom.sources.files import article_from_record
from newsloom.store import SQLiteStore
from newsloom.web import create_app

from .conftest import REPO_ROOT, SHARED_DATA, find_flattened_news_page

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.shared_data]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ECBPLUS_DOCS = SHARED_DATA / "news" / "ecbplus" / "ecbplus_docs.jsonl"
BBC_ARTICLES = SHARED_DATA / "news" / "bbc-fulltext" / "bbc"
ARTIFACTS = REPO_ROOT / "artifacts" / "browser"
ECBPLUS_CLUSTERS = ["9_ecbplus", "11_ecbplus", "34_ecbplus", "12_ecbplus", "16_ecbplus", "18_ecbplus", "19_ecbplus",
                    "3_ecbplus", "8_ecbplus", "24_ecbplus"]


@dataclass(slots=True)
class Reader:
    base_url: str
    fixture_id: str
    fixture_title: str


def _skip_unless_ready() -> Path:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install the Debian package (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("the playwright Python package is not installed (pip install 'newsloom[dev]')")
    if not ECBPLUS_DOCS.is_file() or not BBC_ARTICLES.is_dir():
        pytest.skip(f"shared ECB+ and BBC articles not found under {SHARED_DATA / 'news'}")
    page = find_flattened_news_page()
    if page is None:
        pytest.skip("fixture page flattened-news-page.txt not found")
    try:
        import newsloom.extract.text  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"flattened-text extraction (extract/text.py) is not available yet: {exc}")
    return page


def _ecbplus_articles(per_cluster: int = 4):
    """The reports of each event dated a few hours apart, one event every 20 hours, the last one ending an hour
    ago (ECB+ has no dates of its own): a timeline for story pages and a fresh event for Trending."""
    records = [json.loads(line) for line in ECBPLUS_DOCS.read_text(encoding="utf-8").splitlines() if line.strip()]
    now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    start = now - timedelta(hours=20 * (len(ECBPLUS_CLUSTERS) - 1) + 3 * (per_cluster - 1) + 1)
    articles = []
    for number, cluster in enumerate(ECBPLUS_CLUSTERS):
        reports = sorted((r for r in records if r["event_cluster"] == cluster and r.get("url")),
                         key=lambda r: r["doc_name"])
        for index, r in enumerate(reports[:per_cluster]):
            when = start + timedelta(hours=20 * number + 3 * index)
            articles.append(article_from_record(
                {"url": r["url"], "title": r["title"], "text": r["text"], "published_at": when.isoformat()}, "ecbplus"))
    return articles


def _bbc_middle_east_articles():
    """Real BBC reports on Israel and its neighbours (read from ../shared at test time, never copied: research use
    only), so the fixture page has true neighbours for More like this and Related."""
    chosen = []
    for path in sorted(BBC_ARTICLES.glob("*/*.txt")):
        text = path.read_text(encoding="latin-1")
        if text.count("Israel") >= 2:
            title, _, body = text.partition("\n")
            chosen.append(article_from_record(
                {"url": f"https://news.bbc.example/{path.parent.name}/{path.stem}", "title": title, "text": body},
                "bbc"))
    return chosen


def _serve(app, sock: socket.socket) -> tuple[object, threading.Thread]:
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    return server, thread


@pytest.fixture(scope="module")
def reader(tmp_path_factory) -> Iterator[Reader]:
    fixture_page = _skip_unless_ready()
    store = SQLiteStore(tmp_path_factory.mktemp("browser") / "reader.db")
    report = ingest_paths([fixture_page], store)
    assert report.read == 1 and not report.errors, report.errors
    others = _ecbplus_articles() + _bbc_middle_east_articles()
    ingest_articles(others, store, default_stages(entities=False))  # dedup, summaries, stories (NER is not needed)
    (fixture,) = [a for a in store.latest_articles(limit=100) if a.source and a.source.endswith(fixture_page.name)]

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))  # a free port, held from the start: no race with other tests
    port = sock.getsockname()[1]
    server, thread = _serve(create_app(store), sock)
    base_url = f"http://127.0.0.1:{port}"
    try:
        # Readers have opened a few other articles, so Popular has something to show.
        with httpx.Client(base_url=base_url, timeout=30) as http:
            for article in others[:3] + others[:1]:
                assert http.get(f"/articles/{article.id}").status_code == 200
        yield Reader(base_url, fixture.id, fixture.title)
    finally:
        server.should_exit = True  # type: ignore[attr-defined]
        thread.join(timeout=15)
        sock.close()
        store.close()


@pytest.fixture(scope="module")
def browser(reader):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    # CSP violations and script errors show up here: the page must load without any.
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.problems = problems  # type: ignore[attr-defined]
    yield page
    context.close()


def _screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


def test_fixture_article_page_shows_clean_body_and_no_ads(reader, page):
    url = f"{reader.base_url}/articles/{reader.fixture_id}"
    response = page.goto(url)
    assert response is not None and response.status == 200
    assert page.locator("h1").inner_text() == reader.fixture_title
    body = page.locator(".story-body")
    assert body.is_visible()
    assert "Rafah" in body.inner_text() and "Gallant" in body.inner_text()
    visible_text = page.locator("body").inner_text()
    assert "Advertisement" not in visible_text
    assert "date unknown" in visible_text
    for heading in ("Share", "Subscribe", "More like this", "Related", "Popular"):
        assert page.get_by_role("heading", name=heading, exact=True).is_visible(), heading
    # The copy-link button is hidden until /static/reader.js turns it on: the script ran under the CSP.
    assert page.locator("button.copy-link").is_visible()
    assert _screenshot(page, "article.png").stat().st_size > 10_000
    page.emulate_media(color_scheme="dark")
    _screenshot(page, "article-dark.png")
    assert not page.problems, page.problems  # type: ignore[attr-defined]


@pytest.mark.parametrize("box", ["more-like-this", "related", "popular"])
def test_rail_links_open_another_article(reader, page, box):
    url = f"{reader.base_url}/articles/{reader.fixture_id}"
    page.goto(url)
    link = page.locator(f"section.{box} a").first
    assert link.is_visible(), f"no link in the {box} box"
    href = link.get_attribute("href")
    assert href and re.fullmatch(r"/articles/[0-9a-f]{16}", href) and reader.fixture_id not in href
    link.click()
    page.wait_for_url(f"{reader.base_url}{href}")
    assert page.url != url
    heading = page.locator("h1").inner_text()
    assert heading and heading != reader.fixture_title
    assert page.locator(".story-body").is_visible()
    assert not page.problems, page.problems  # type: ignore[attr-defined]


def test_home_and_search_pages(reader, page):
    page.goto(f"{reader.base_url}/")
    assert page.locator("article.teaser").count() >= 20
    assert page.get_by_role("heading", name="Popular", exact=True).is_visible()
    _screenshot(page, "home.png")
    page.fill("#search-q", "rafah")
    page.press("#search-q", "Enter")
    page.wait_for_url(re.compile(r".*/search\?q=rafah$"))
    assert page.locator("mark").first.inner_text().lower() == "rafah"
    _screenshot(page, "search.png")
    assert not page.problems, page.problems  # type: ignore[attr-defined]


def test_entity_link_from_the_article_page_opens_the_entity_page(reader, page):
    from newsloom.enrich.entities import entities_available

    if not entities_available():
        pytest.skip("spaCy or its English model is not installed, so the fixture has no entities (newsloom[nlp])")
    page.goto(f"{reader.base_url}/articles/{reader.fixture_id}")
    box = page.locator("section.in-this-article")
    assert box.is_visible()
    link = box.get_by_role("link", name="Benjamin Netanyahu", exact=True)
    assert link.is_visible()
    assert link.get_attribute("href") == "/entities/Benjamin%20Netanyahu"
    link.click()
    page.wait_for_url(f"{reader.base_url}/entities/Benjamin%20Netanyahu")
    assert page.locator("h1").inner_text() == "Benjamin Netanyahu"
    chart = page.locator("svg.volume-chart")
    assert chart.is_visible() and chart.get_attribute("role") == "img"
    assert chart.bounding_box()["width"] > 300 and page.locator("svg.volume-chart rect.chart-bar").count() >= 1
    teaser_links = page.locator(".teasers .teaser-title a")
    assert reader.fixture_title in teaser_links.all_inner_texts()
    cooccurring = page.locator("section.cooccurring a.entity-link")
    assert cooccurring.count() >= 3
    names = cooccurring.all_inner_texts()
    assert "Benjamin Netanyahu" not in names
    assert page.locator("section.subscribe a.feed-link").get_attribute("href").endswith(
        "/feeds/entities/Benjamin%20Netanyahu.atom")
    _screenshot(page, "entity.png")
    page.emulate_media(color_scheme="dark")
    _screenshot(page, "entity-dark.png")
    # A co-occurring name is a working link to its own entity page.
    first = cooccurring.first
    name = first.inner_text()
    first.click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == name and page.locator("svg.volume-chart").is_visible()
    assert not page.problems, page.problems  # type: ignore[attr-defined]


def test_home_story_block_opens_a_story_page_with_chart_and_timeline(reader, page):
    page.goto(f"{reader.base_url}/")
    block = page.locator("article.story-card").first
    assert block.is_visible()
    counts = block.locator(".story-card-counts").inner_text()
    assert re.fullmatch(r"\d+ ARTICLES FROM \d+ SOURCES", counts.upper()), counts
    assert block.locator(".story-card-title a").inner_text()
    assert block.locator(".story-card-others li").count() >= 1
    assert block.locator(".story-timeline time").count() >= 1
    assert page.get_by_role("heading", name="Trending", exact=True).is_visible()
    assert page.locator("section.trending a").count() >= 1  # the freshest event is gathering pace
    _screenshot(page, "home.png")
    block.locator("a.full-coverage").click()
    page.wait_for_url(re.compile(r".*/stories/[^/]+$"))
    chart = page.locator("svg.volume-chart")
    assert chart.is_visible() and chart.get_attribute("role") == "img"
    assert page.locator("svg.volume-chart rect.chart-bar").count() >= 2
    items = page.locator("ol.story-articles li.timeline-item")
    assert items.count() >= 2
    times = [items.nth(i).locator("time").get_attribute("datetime") for i in range(items.count())]
    assert times == sorted(times)  # oldest first
    assert page.locator("section.subscribe a.feed-link").get_attribute("href").endswith(".atom")
    _screenshot(page, "story.png")
    page.emulate_media(color_scheme="dark")
    _screenshot(page, "story-dark.png")
    assert not page.problems, page.problems  # type: ignore[attr-defined]


def test_same_story_link_opens_another_article_of_the_story(reader, page):
    page.goto(f"{reader.base_url}/stories")
    page.locator("article.story-card a.full-coverage").first.click()
    page.wait_for_url(re.compile(r".*/stories/[^/]+$"))
    story_url = page.url
    story_title = page.locator("h1").inner_text()
    first = page.locator("ol.story-articles .timeline-title a").first
    first_title = first.inner_text()
    first.click()
    page.wait_for_url(re.compile(r".*/articles/[0-9a-f]{16}$"))
    part = page.locator("p.part-of-story a")
    assert part.inner_text() == story_title and page.url != story_url
    same = page.locator("section.related li", has_text="same story").first
    assert same.is_visible()
    link = same.locator("a")
    title = link.inner_text()
    assert title != first_title
    link.click()
    page.wait_for_url(re.compile(r".*/articles/[0-9a-f]{16}$"))
    assert page.locator("h1").inner_text() == title
    assert page.locator("p.part-of-story a").inner_text() == story_title  # still the same story
    assert not page.problems, page.problems  # type: ignore[attr-defined]
