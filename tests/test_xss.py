"""XSS: a corpus of hostile payloads (tests/fixtures/xss/payloads.txt) planted in every field a reader page shows,
ingested through the real pipeline, and every page that shows them opened in headless Chromium.

Planted in: titles, authors, bodies (as text and as raw markup), URLs (javascript:, data:, vbscript:), image URLs,
teasers (titles and links), entity names, site names, language tags, search queries, and the fields of an RSS feed
parsed by sources/feeds.py. Ingested as HTML pages (ingest_paths), JSONL records (ingest_paths) and feed entries
(ingest_articles).

Visited: the home pages, every article page, a search page per payload (the query itself is the payload), every site
page, every entity page, the entity list, error pages that echo the payload, and the Atom feeds. On each:
- ``alert``/``confirm``/``prompt`` are hooked (and dialogs listened to): none may be called;
- every request the page makes is recorded: none may leave 127.0.0.1 (the payloads aim at canary.invalid);
- the console may hold no CSP violation (one would mean markup got through and only the CSP stopped it);
- the DOM holds no event-handler attribute, no javascript:/data:/vbscript: link, no injected script, iframe,
  object, embed, base or meta refresh, and every JSON-LD block parses;
- the Content-Security-Policy header forbids inline script.

Uses the system Chromium (/usr/bin/chromium, Debian package); Playwright's own browser download is never used.
"""

from __future__ import annotations

import html
import json
import socket
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx
import pytest

from newsloom.model import EntityMention, Teaser
from newsloom.pipeline import ingest_articles, ingest_paths
from newsloom.sources.feeds import parse_feed
from newsloom.sources.files import article_from_record
from newsloom.stages import Batch, StoriesStage
from newsloom.store import SQLiteStore, Store
from newsloom.web import create_app
from newsloom.web.security import AccessSettings

from .conftest import FIXTURES_DIR

pytestmark = [pytest.mark.reliability, pytest.mark.browser, pytest.mark.server, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
CANARY_HOST = "canary.invalid"
STORY_PAGES = 30
ARTICLE_PAGES = 120  # of the ~160 canonical planted articles, in turn from each of the three routes
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
PAYLOADS = [line for line in (FIXTURES_DIR / "xss" / "payloads.txt").read_text(encoding="utf-8").splitlines() if line]
URL_PAYLOADS = [p for p in PAYLOADS if p.strip().lower().startswith(("javascript:", "data:", "vbscript:", "java&"))]
ATOM = "{http://www.w3.org/2005/Atom}"

# Installed before any page script: records calls instead of showing dialogs.
HOOKS = """
window.__xss = [];
for (const name of ["alert", "confirm", "prompt", "print"]) {
  window[name] = function (...args) { window.__xss.push(name + "(" + args.join(",") + ")"); return null; };
}
"""
# Run in the page after it loaded: what markup (not text) a payload could have created.
DOM_CHECK = """
() => {
  const bad = [];
  const urlAttributes = ["href", "src", "action", "formaction", "xlink:href", "data", "poster", "srcdoc"];
  for (const el of document.querySelectorAll("*")) {
    for (const attribute of el.attributes) {
      const name = attribute.name.toLowerCase();
      if (name.startsWith("on")) bad.push(el.tagName + " has " + name);
      if (urlAttributes.includes(name) && /^\\s*(javascript|data|vbscript):/i.test(attribute.value))
        bad.push(el.tagName + " " + name + "=" + attribute.value.slice(0, 60));
      if (name === "style" && /expression|javascript:|url\\(/i.test(attribute.value)) bad.push(el.tagName + " style");
    }
    if (["IFRAME", "FRAME", "OBJECT", "EMBED", "BASE", "PORTAL", "TEMPLATE"].includes(el.tagName)) bad.push(el.tagName);
    if (el.tagName === "META" && (el.getAttribute("http-equiv") || "").toLowerCase() === "refresh") bad.push("meta refresh");
  }
  for (const script of document.scripts) {
    if (script.type === "application/ld+json") {
      try { JSON.parse(script.textContent); } catch (e) { bad.push("JSON-LD broken: " + e); }
    } else if (!(script.src && new URL(script.src).origin === location.origin && new URL(script.src).pathname.startsWith("/static/"))) {
      bad.push("script: " + (script.src || script.textContent.slice(0, 60)));
    }
  }
  for (const link of document.querySelectorAll("link[rel~=stylesheet]")) {
    if (new URL(link.href).origin !== location.origin) bad.push("foreign stylesheet " + link.href);
  }
  return bad;
}
"""


@dataclass
class Reader:
    base_url: str
    article_ids: list[str]
    sites: list[str]
    entities: list[str]


@dataclass
class Visits:
    pages: int = 0
    problems: list[str] = field(default_factory=list)


def _payload(index: int) -> str:
    return PAYLOADS[index % len(PAYLOADS)]


# -- planting ------------------------------------------------------------------------------------------------------
def _html_pages(folder: Path) -> None:
    """One real-looking page per payload: payload text (escaped in the source) in the title, author, site name and
    body; the raw payload as markup in the body and a related-links block; a javascript: image."""
    for index, payload in enumerate(PAYLOADS):
        escaped, url_payload = html.escape(payload), html.escape(URL_PAYLOADS[index % len(URL_PAYLOADS)])
        (folder / f"page-{index:03d}.html").write_text(f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Storm report nlxss {escaped}</title><meta name="author" content="{escaped}">
<meta property="og:site_name" content="{escaped}"><meta property="og:image" content="{url_payload}">
<link rel="canonical" href="https://xss-pages.example/{index}"></head><body>
<article><h1>Storm report nlxss {escaped}</h1>
<p>The storm reached the coast on Monday night, residents said, and the wind tore roofs from houses. {escaped}</p>
<p>Officials said the damage was the worst in a decade and that repairs would take months. {payload}</p>
<p>Emergency crews worked through the night to reopen the roads leading inland from the coast.</p></article>
<aside class="related"><h2>Related</h2><ul>
<li><a href="{url_payload}">{escaped} the storm's aftermath, in pictures</a></li>
<li><a href="https://xss-pages.example/more/{index}">{escaped}</a></li></ul></aside></body></html>""",
                                                              encoding="utf-8")


def _jsonl_records(path: Path) -> None:
    """Payloads in every field of an import record; URL payloads as the URL; a payload as the site (no URL)."""
    lines = []
    for index, payload in enumerate(PAYLOADS):
        url = URL_PAYLOADS[index % len(URL_PAYLOADS)] if index % 3 == 0 else f"https://xss-records.example/{index}"
        record = {"title": f"Court ruling nlxss {payload}", "author": _payload(index + 1), "language": _payload(index + 2),
                  "text": f"The court ruled on Tuesday that the law applies nlxss. {payload}\n\n"
                          f"Lawyers for both sides said they would study the ruling. {_payload(index + 3)}"}
        if index % 3 == 0 or index % 5 == 0:
            record["source"] = payload  # no usable URL: the site name comes from here
            record["url"] = url if index % 3 == 0 else None
        else:
            record["url"] = url
        lines.append(json.dumps(record))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _feed_document() -> bytes:
    items = []
    for index, payload in enumerate(PAYLOADS):
        link = URL_PAYLOADS[index % len(URL_PAYLOADS)] if index % 4 == 0 else f"https://xss-feed.example/{index}"
        items.append(f"<item><title>{html.escape('Election night nlxss ' + payload)}</title>"
                     f"<link>{html.escape(link)}</link><author>{html.escape(_payload(index + 5))}</author>"
                     f"<description>{html.escape('Votes were counted nlxss through the night. ' + payload)}</description>"
                     f"<pubDate>Tue, 26 Mar 2024 08:00:00 GMT</pubDate></item>")
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{html.escape(PAYLOADS[0])}</title>'
            f"<link>https://xss-feed.example/</link>{''.join(items)}</channel></rss>").encode()


def _plant_entities_and_teasers(batch: Batch, store: Store | None = None) -> None:
    """A pipeline stage standing in for enrichment: payload entity names and teasers with hostile links."""
    for article in batch.articles:
        index = int(article.id[:6], 16)
        article.entities = [EntityMention(_payload(index), "PERSON", 2), EntityMention(_payload(index + 7), "ORG", 1),
                            EntityMention(_payload(index + 13), "GPE", 1)]
        article.teasers = article.teasers + [Teaser(_payload(index + 3), _payload(index + 4),
                                                    URL_PAYLOADS[index % len(URL_PAYLOADS)])]
        article.keyphrases = [_payload(index + 9)]


def _ingest_everything(store: SQLiteStore, folder: Path) -> None:
    pages, records = folder / "pages", folder / "records.jsonl"
    pages.mkdir()
    _html_pages(pages)
    _jsonl_records(records)
    # The stories stage clusters the planted articles, so story pages show payload headlines too.
    stories = StoriesStage()
    report = ingest_paths([pages, records], store, stages=[_plant_entities_and_teasers, stories], batch_size=50)
    assert report.read >= 2 * len(PAYLOADS) - 5, report.errors[:5]
    feed = parse_feed(_feed_document(), url="https://xss-feed.example/rss")
    assert len(feed.entries) >= len(PAYLOADS) * 3 // 4  # entries whose link is javascript: are dropped by the parser
    entries = [article_from_record({"url": e.url, "title": e.title, "text": e.summary, "author": e.author}, "feed")
               for e in feed.entries]
    ingest_articles(entries, store, stages=[_plant_entities_and_teasers, stories])


# -- the server and the browser ------------------------------------------------------------------------------------
def _serve(app) -> tuple[object, threading.Thread, socket.socket, str]:
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    return server, thread, sock, f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture(scope="module")
def reader(tmp_path_factory) -> Iterator[Reader]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install the Debian package (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api", reason="pip install 'newsloom[dev]' for Playwright")
    pytest.importorskip("feedparser", reason="pip install 'newsloom[sources]' for feeds")
    folder = tmp_path_factory.mktemp("xss")
    store = SQLiteStore(folder / "xss.db")
    _ingest_everything(store, folder)
    articles = store.latest_articles(limit=1000)
    # Article pages in turn from each route (HTML page, JSONL record, feed entry), so a capped visit covers all three.
    routes = [[a for a in articles if a.source and a.source.endswith(".html")],
              [a for a in articles if a.source and ".jsonl" in a.source], [a for a in articles if a.source == "feed"]]
    assert all(routes), [len(r) for r in routes]
    articles = [a for group in zip(*routes) for a in group] + [a for a in articles if not any(a in r for r in routes)]
    assert len(articles) >= 2 * len(PAYLOADS)
    sites = sorted({a.site for a in articles if a.site})
    entities = sorted({e.name for e in store.top_entities(limit=1000)})
    assert len(entities) >= len(PAYLOADS) // 2
    # One browser opens a few hundred pages (and their static files) here: a high per-client limit keeps the
    # limiter in the stack without it answering 429.
    app = create_app(store, access=AccessSettings(rate_per_minute=60_000, burst=10_000))
    server, thread, sock, base_url = _serve(app)
    try:
        yield Reader(base_url, [a.id for a in articles], sites, entities)
    finally:
        server.should_exit = True  # type: ignore[attr-defined]
        thread.join(timeout=15)
        sock.close()
        store.close()


@pytest.fixture(scope="module")
def browser_page(reader):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context()
        context.add_init_script(HOOKS)
        events: list[str] = []

        def on_request(route) -> None:  # nothing leaves 127.0.0.1: a request to the canary fails the test
            url = route.request.url
            host = urlsplit(url).hostname or ""
            if host == CANARY_HOST or host.endswith("." + CANARY_HOST):
                events.append(f"request to the canary: {url[:100]}")
            elif host != "127.0.0.1":
                # A lead image (https, the article's own site) is a legitimate request; it is stopped, not failed.
                page.foreign_requests.append(url)  # type: ignore[attr-defined]
            if host != "127.0.0.1":
                route.abort()
            else:
                route.continue_()

        context.route("**/*", on_request)
        page = context.new_page()
        page.on("dialog", lambda dialog: (events.append(f"dialog {dialog.type}: {dialog.message}"), dialog.dismiss()))
        # A CSP report means markup got through and only the policy stopped it: that is a failure too.
        page.on("console", lambda message: events.append(f"console: {message.text[:200]}")
                if "Content Security Policy" in message.text or "Refused to" in message.text else None)
        page.on("pageerror", lambda error: events.append(f"page error: {error}"))
        page.events = events  # type: ignore[attr-defined]
        page.foreign_requests = []  # type: ignore[attr-defined]
        try:
            yield page
        finally:
            context.close()
            browser.close()


def _visit(page, url: str, visits: Visits, statuses: tuple[int, ...] = (200,)) -> None:
    page.events.clear()
    response = page.goto(url, wait_until="load")
    assert response is not None, url
    called = page.evaluate("() => window.__xss")
    injected = page.evaluate(DOM_CHECK) if "xml" not in (response.headers.get("content-type") or "") else []
    csp = response.headers.get("content-security-policy", "")
    problems = [*called, *injected, *page.events]
    if response.status not in statuses:
        problems.append(f"status {response.status}")
    if "script-src 'self'" not in csp or "unsafe-inline" in csp or "object-src 'none'" not in csp:
        problems.append(f"CSP header missing or weak: {csp!r}")
    visits.pages += 1
    visits.problems += [f"{url[len('http://127.0.0.1:00000'):][:90]}: {p}" for p in problems]


def _path(value: str) -> str:
    return quote(value, safe="/")


# -- the tests -----------------------------------------------------------------------------------------------------
def test_the_corpus_is_big_enough():
    assert len(PAYLOADS) >= 50 and len(URL_PAYLOADS) >= 5


def test_hooks_would_see_a_script_that_ran(reader, browser_page):
    """The detector itself: a script that does run is seen (evaluated through DevTools, so the CSP allows it)."""
    browser_page.goto(reader.base_url + "/", wait_until="load")
    browser_page.evaluate("() => { alert('probe'); }")
    assert browser_page.evaluate("() => window.__xss") == ["alert(probe)"]


def test_no_payload_runs_on_any_reader_page(reader, browser_page):
    visits = Visits()
    base = reader.base_url
    for page_number in range(1, len(reader.article_ids) // 20 + 2):
        _visit(browser_page, f"{base}/?page={page_number}", visits)
    for article_id in reader.article_ids[:ARTICLE_PAGES]:
        _visit(browser_page, f"{base}/articles/{_path(article_id)}", visits)
    for payload in PAYLOADS:
        _visit(browser_page, f"{base}/search?q={quote(payload)}", visits, statuses=(200, 400))
    _visit(browser_page, f"{base}/search?q=nlxss", visits)
    for site in reader.sites:
        _visit(browser_page, f"{base}/sites/{_path(site)}", visits, statuses=(200, 404))
    _visit(browser_page, f"{base}/entities", visits)
    for name in reader.entities:
        _visit(browser_page, f"{base}/entities/{_path(name)}", visits, statuses=(200, 404))
    if httpx.get(f"{base}/stories", timeout=30).status_code == 200:  # story pages, once the reader has them
        _visit(browser_page, f"{base}/stories", visits)
        story_links = browser_page.evaluate(
            "() => [...new Set([...document.querySelectorAll('a[href^=\"/stories/\"]')].map(a => a.getAttribute('href')))]")
        for href in story_links[:STORY_PAGES]:
            _visit(browser_page, base + href, visits)
    for payload in PAYLOADS[:20]:  # error pages echo what was asked for
        _visit(browser_page, f"{base}/articles/{_path(payload)}", visits, statuses=(404,))
    for feed in ("/feeds/latest.atom", f"/feeds/search.atom?q={quote('nlxss')}",
                 f"/feeds/sites/{_path(reader.sites[0])}.atom", f"/feeds/entities/{_path(reader.entities[0])}.atom"):
        _visit(browser_page, base + feed, visits)
    print(f"\nXSS: {len(PAYLOADS)} payloads planted in {len(reader.article_ids)} articles; {visits.pages} pages "
          f"opened in Chromium; {len(visits.problems)} problems; "
          f"{len(browser_page.foreign_requests)} requests to article sites' images stopped")
    assert visits.pages >= 3 * len(PAYLOADS)
    assert not visits.problems, "\n".join(visits.problems[:40])


def test_feeds_carry_payloads_as_text_only(reader):
    with httpx.Client(base_url=reader.base_url, timeout=30) as client:
        for path in ("/feeds/latest.atom", "/feeds/search.atom?q=nlxss",
                     *(f"/feeds/sites/{_path(site)}.atom" for site in reader.sites[:10]),
                     *(f"/feeds/entities/{_path(name)}.atom" for name in reader.entities[:10])):
            response = client.get(path)
            assert response.status_code == 200, path
            root = ET.fromstring(response.content)  # well-formed, whatever the payloads hold
            assert all(element.tag.startswith(ATOM) for element in root.iter()), path
            for link in root.iter(f"{ATOM}link"):
                assert link.get("href", "").startswith(("http://", "https://")), (path, link.get("href"))


def test_api_answers_are_json_with_escaped_snippets(reader):
    with httpx.Client(base_url=reader.base_url, timeout=30) as client:
        response = client.get("/api/search", params={"q": "nlxss", "limit": 100})
        assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
        assert response.headers["x-content-type-options"] == "nosniff"
        hits = response.json()["hits"]
        assert len(hits) >= len(PAYLOADS)
        for hit in hits:
            markup = hit["snippet_html"].replace("<mark>", "").replace("</mark>", "")
            assert "<" not in markup and ">" not in markup, hit["snippet_html"]
