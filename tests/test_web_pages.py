"""The reader's HTML pages and Atom feeds, through FastAPI's TestClient on a real SQLite store.

The store holds 12 real ECB+ reports (3 events), one dated article, and one hostile article whose title, body, URL,
image and teasers carry script, markup and javascript: URLs: every page must show them as inert text.
"""

from __future__ import annotations

import json
import re
import warnings
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
from markupsafe import escape

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's note about httpx vs httpx2 in its test client
    from fastapi.testclient import TestClient

from newsloom.model import Article, Teaser
from newsloom.pipeline import ingest_paths
from newsloom.store.sqlite import MATCH_END, MATCH_START
from newsloom.web import create_app
from newsloom.web.present import highlight_snippet

ATOM = "{http://www.w3.org/2005/Atom}"

HOSTILE_TITLE = "Pirates </script><!-- <script>alert(1)</script> seize tanker"
HOSTILE = Article(
    id="hostile000000001",
    title=HOSTILE_TITLE,
    paragraphs=[
        "Navy officials said <b>pirates</b> boarded the tanker <img src=x onerror=alert(2)> at dawn.",
        "Click javascript:alert(3) or <a href=\"javascript:alert(4)\">here</a> for \x0bmore.",
    ],
    url="javascript:alert(5)",
    site="evil.example",
    author="<b>Mallory</b>",
    image="javascript:alert(6)",
    teasers=[Teaser(title="<i>Other story</i>", excerpt="x", url="javascript:alert(7)")],
)
DATED = Article(
    id="dated00000000001",
    title="Harbour cranes return to the port of Antwerp",
    paragraphs=["The port authority said the cranes would return in spring.", "Workers welcomed the news."],
    url="https://news.example.org/2024/03/26/cranes",
    site="news.example.org",
    author="Ann Reporter",
    published_at=datetime(2024, 3, 26, 9, 30, tzinfo=timezone.utc),
    published_at_source="meta",
    published_at_confidence=0.9,
)


class _Collector(HTMLParser):
    """Every URL-bearing attribute and every <script> element of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.links: list[dict[str, str | None]] = []
        self._in_script: dict[str, str | None] | None = None
        self._script_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        for name in ("href", "src", "action", "formaction"):
            if attributes.get(name) is not None:
                self.urls.append(attributes[name] or "")
        if tag == "a" or tag == "link":
            self.links.append({"tag": tag, **attributes})
        if tag == "script":
            self._in_script, self._script_text = attributes, []

    def handle_data(self, data: str) -> None:
        if self._in_script is not None:
            self._script_text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._in_script is not None:
            self.scripts.append((self._in_script, "".join(self._script_text)))
            self._in_script = None


def parse(html: str) -> _Collector:
    collector = _Collector()
    collector.feed(html)
    return collector


def assert_inert(html: str) -> None:
    """No markup from the hostile article survives, and no URL attribute can run script."""
    page = parse(html)
    assert "<script>alert" not in html
    assert "<img src=x" not in html and "<b>pirates</b>" not in html and "<b>Mallory</b>" not in html
    assert not [u for u in page.urls if u.strip().lower().startswith(("javascript:", "data:", "vbscript:"))]
    for attributes, text in page.scripts:
        # Only our own script file and the JSON-LD data block: no inline script at all.
        assert attributes.get("src", "").startswith("/static/") or attributes.get("type") == "application/ld+json"
        if attributes.get("type") == "application/ld+json":
            json.loads(text)


@pytest.fixture
def store(sqlite_store, sample_news):
    sqlite_store.upsert_articles([*sample_news, HOSTILE, DATED])
    return sqlite_store


@pytest.fixture
def client(store):
    return TestClient(create_app(store))


def test_home_lists_latest_with_site_date_and_popular_box(client, sample_news):
    response = client.get("/")
    assert response.status_code == 200
    html = response.text
    assert "Latest" in html and "Popular" in html
    assert html.count('class="teaser"') == 14
    assert "date unknown" in html  # the ECB+ reports have no date
    assert "26 March 2024" in html and 'datetime="2024-03-26T09:30:00+00:00"' in html
    assert 'href="/sites/news.example.org"' in html
    assert f'href="/articles/{sample_news[0].id}"' in html
    assert 'type="application/atom+xml"' in html
    assert_inert(html)


def test_article_page_shows_clean_body_metadata_and_furniture(client, sample_news):
    article = sample_news[4]  # a Detroit office shooting report
    response = client.get(f"/articles/{article.id}")
    assert response.status_code == 200
    html = response.text
    assert f"<h1 class=\"story-title\">{article.title}</h1>" in html
    assert "date unknown" in html
    for paragraph in article.paragraphs[1:3]:
        assert f"<p>{escape(paragraph)}</p>" in html
    page = parse(html)
    source_links = [link for link in page.links if link.get("href") == article.url]
    assert source_links and all(link.get("rel") == "noopener nofollow" for link in source_links)
    # Share: permalink, copy button (turned on by /static/reader.js), plain share URLs.
    assert f'value="http://testserver/articles/{article.id}"' in html
    assert 'class="copy-link"' in html and 'src="/static/reader.js"' in html
    share_hrefs = [u for u in page.urls if u.startswith(("mailto:", "https://mastodon.social/share",
                                                         "https://bsky.app/intent", "https://www.linkedin.com/sharing"))]
    assert len(share_hrefs) == 4
    mailto = parse_qs(urlsplit(share_hrefs[0]).query)
    assert mailto["subject"] == [article.title] and mailto["body"] == [article.url]
    # Subscribe: the source's feed and a search feed, also announced in <head>.
    alternates = [link for link in page.links if link["tag"] == "link" and link.get("rel") == "alternate"]
    assert {link["type"] for link in alternates} == {"application/atom+xml"}
    assert any(link["href"] == f"http://testserver/feeds/sites/{article.site}.atom" for link in alternates)
    assert any(link["href"].startswith("http://testserver/feeds/search.atom?q=") for link in alternates)
    # Open Graph and JSON-LD.
    assert f'<meta property="og:url" content="http://testserver/articles/{article.id}">' in html
    (json_ld,) = [json.loads(text) for attrs, text in page.scripts if attrs.get("type") == "application/ld+json"]
    assert json_ld["@type"] == "NewsArticle" and json_ld["headline"] == article.title
    assert "datePublished" not in json_ld  # no date was found, so none is claimed
    assert "Advertisement" not in html and "advert" not in html.lower()
    assert_inert(html)


def _rail_links(html: str, box: str) -> list[tuple[str, str]]:
    """(article id, reason) of each link in one rail box."""
    section = html.split(f'<section class="box {box}"', 1)[1].split("</section>", 1)[0]
    return re.findall(r'<a href="/articles/([^"]+)">.*?</a>\s*<span class="reason">([^<]*)</span>', section, re.S)


def test_more_like_this_and_related_link_other_articles_with_reasons(client, sample_news):
    article = sample_news[4]
    html = client.get(f"/articles/{article.id}").text
    more = _rail_links(html, "more-like-this")
    related = _rail_links(html, "related")
    assert more  # in this 14-article store Related may be empty: its subject matches are already in More like this
    more_ids = {article_id for article_id, _ in more}
    assert article.id not in more_ids
    assert not more_ids & {article_id for article_id, _ in related}, "Related must leave out More like this"
    assert all(reason.startswith("shares: ") for _, reason in more + related)
    # The nearest neighbours of a Detroit shooting report are the other reports of that shooting.
    same_event = {a.id for a in sample_news[4:8]} - {article.id}
    assert {article_id for article_id, _ in more[:3]} == same_event


def test_page_views_feed_popular(client, store, sample_news):
    first, second = sample_news[0], sample_news[8]
    for _ in range(3):
        assert client.get(f"/articles/{first.id}").status_code == 200
    client.get(f"/articles/{second.id}")
    assert client.head(f"/articles/{second.id}").status_code == 200  # a HEAD is not a read
    counts = {c.article.id: c.count for c in store.popular()}
    assert counts == {first.id: 3, second.id: 1}
    home = client.get("/").text
    popular = home.split('<section class="box popular"', 1)[1].split("</section>", 1)[0]
    assert popular.index(first.id) < popular.index(second.id)
    assert "3 reads" in popular and "1 read" in popular
    # On an article's own page, Popular lists the others.
    own = client.get(f"/articles/{first.id}").text
    own_popular = own.split('<section class="box popular"', 1)[1].split("</section>", 1)[0]
    assert first.id not in own_popular and second.id in own_popular


def test_hostile_article_is_inert_everywhere(client):
    pages = [
        client.get(f"/articles/{HOSTILE.id}"),
        client.get("/"),
        client.get("/search", params={"q": "pirates tanker"}),
        client.get("/sites/evil.example"),
    ]
    for response in pages:
        assert response.status_code == 200
        assert_inert(response.text)
    article_html = pages[0].text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in article_html
    assert "&lt;b&gt;Mallory&lt;/b&gt;" in article_html
    assert "javascript:alert(3)" in article_html  # shown as text, never as a link
    # JSON-LD: "</script>" and "<!--" in the title cannot close or comment out the data block.
    (json_ld,) = [json.loads(t) for a, t in parse(article_html).scripts if a.get("type") == "application/ld+json"]
    assert json_ld["headline"] == HOSTILE_TITLE
    assert "isBasedOn" not in json_ld and "image" not in json_ld
    block = article_html.split('<script type="application/ld+json">', 1)[1].split("</script>", 1)[0]
    assert "<" not in block and ">" not in block
    # The source's teasers are listed only as "Links found on the original page", never as Related.
    assert "Links found on the original page" in article_html
    assert "&lt;i&gt;Other story&lt;/i&gt;" in article_html
    for box in ("more-like-this", "related", "popular"):
        section = article_html.split(f'<section class="box {box}"', 1)[1].split("</section>", 1)[0]
        assert "Other story" not in section


def test_search_page_escapes_snippet_before_marking_matches(client):
    response = client.get("/search", params={"q": "pirates boarded"})
    assert response.status_code == 200
    html = response.text
    assert "&lt;b&gt;<mark>pirates</mark>&lt;/b&gt; <mark>boarded</mark>" in html
    assert 'href="http://testserver/feeds/search.atom?q=pirates+boarded"' in html
    assert_inert(html)


def test_search_page_without_query_and_with_a_malformed_one(client):
    empty = client.get("/search")
    assert empty.status_code == 200 and "exact phrase" in empty.text
    bad = client.get("/search", params={"q": '"unclosed'})
    assert bad.status_code == 400
    assert "unclosed quote" in bad.text and 'role="alert"' in bad.text
    none = client.get("/search", params={"q": "zzzzqqqq"})
    assert none.status_code == 200 and "No articles match" in none.text


def test_highlight_snippet_repairs_unbalanced_markers_and_strips_controls():
    snippet = f"a <b> {MATCH_START}x{MATCH_END} {MATCH_END}y {MATCH_START}z\x01"
    assert str(highlight_snippet(snippet)) == "a &lt;b&gt; <mark>x</mark> y <mark>z</mark>"


def test_site_page_lists_only_that_source(client, sample_news):
    site = sample_news[4].site
    html = client.get(f"/sites/{site}").text
    own = {a.id for a in sample_news if a.site == site}
    listed = set(re.findall(r'href="/articles/([^"]+)"', html))
    assert listed == own
    assert f'href="http://testserver/feeds/sites/{site}.atom"' in html


def test_not_found_pages_are_clear_html(client):
    for path, words in [
        ("/articles/no-such-article", "no article with id"),
        ("/sites/nowhere.example", "no articles from"),
        ("/no/such/page", "there is nothing at /no/such/page"),
        ("/articles/%3Cscript%3Ealert(1)%3C%2Fscript%3E", "&lt;script&gt;"),
    ]:
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("text/html")
        assert "<h1 class=\"page-title\">Not found</h1>" in response.text and words in response.text
        assert "<script>alert" not in response.text
    invalid = client.get("/", params={"page": "zero"})
    assert invalid.status_code == 422 and "page" in invalid.text


def test_security_headers_on_every_kind_of_response(client, sample_news):
    for path in ["/", f"/articles/{sample_news[0].id}", "/api/stats", "/static/reader.css", "/nope",
                 "/api/articles/nope", "/feeds/latest.atom", "/docs", "/openapi.json"]:
        headers = client.get(path).headers
        csp = headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "img-src 'self' https: data:" in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"]


def test_static_files_are_local_and_pages_load_nothing_from_elsewhere(client, sample_news):
    assert client.get("/static/reader.css").status_code == 200
    assert "prefers-color-scheme: dark" in client.get("/static/reader.css").text
    assert client.get("/static/reader.js").status_code == 200
    for path in ["/", f"/articles/{sample_news[0].id}", "/docs", "/search?q=navy"]:
        page = parse(client.get(path).text)
        stylesheet_and_scripts = [
            link.get("href") for link in page.links if link["tag"] == "link" and link.get("rel") in ("stylesheet", "icon")
        ] + [attrs.get("src") for attrs, _ in page.scripts if attrs.get("src")]
        assert stylesheet_and_scripts and all(url.startswith("/static/") for url in stylesheet_and_scripts)


def test_article_with_a_date_says_where_it_came_from(client):
    html = client.get(f"/articles/{DATED.id}").text
    assert "26 March 2024, 09:30 UTC" in html
    assert "date from page metadata" in html
    assert "By <span class=\"author\">Ann Reporter</span>" in html
    (json_ld,) = [json.loads(t) for a, t in parse(html).scripts if a.get("type") == "application/ld+json"]
    assert json_ld["datePublished"] == "2024-03-26T09:30:00+00:00"


def _atom(response) -> ET.Element:
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    return ET.fromstring(response.content)


def test_site_feed_is_valid_atom_with_the_sites_articles(client, sample_news):
    site = sample_news[4].site
    root = _atom(client.get(f"/feeds/sites/{site}.atom"))
    assert root.tag == f"{ATOM}feed"
    assert root.findtext(f"{ATOM}id") == f"http://testserver/feeds/sites/{site}.atom"
    assert root.find(f"{ATOM}updated") is not None and root.find(f"{ATOM}author/{ATOM}name") is not None
    entries = root.findall(f"{ATOM}entry")
    expected = {a.id: a for a in sample_news if a.site == site}
    assert {e.findtext(f"{ATOM}id") for e in entries} == {f"urn:newsloom:article:{i}" for i in expected}
    for entry in entries:
        article = expected[entry.findtext(f"{ATOM}id").rsplit(":", 1)[1]]
        assert entry.findtext(f"{ATOM}title") == article.title
        links = {link.get("rel"): link.get("href") for link in entry.findall(f"{ATOM}link")}
        assert links["alternate"] == f"http://testserver/articles/{article.id}" and links["related"] == article.url
        assert entry.findtext(f"{ATOM}summary") and entry.find(f"{ATOM}updated") is not None
        assert entry.find(f"{ATOM}published") is None  # no known publication date


def test_search_and_latest_feeds_escape_hostile_text(client):
    root = _atom(client.get("/feeds/search.atom", params={"q": "pirates"}))
    titles = [e.findtext(f"{ATOM}title") for e in root.findall(f"{ATOM}entry")]
    assert HOSTILE_TITLE in titles
    hostile = next(e for e in root.findall(f"{ATOM}entry") if e.findtext(f"{ATOM}title") == HOSTILE_TITLE)
    assert [link.get("rel") for link in hostile.findall(f"{ATOM}link")] == ["alternate"]  # javascript: URL dropped
    assert "\x0b" not in ET.tostring(hostile, encoding="unicode")
    latest = _atom(client.get("/feeds/latest.atom"))
    assert len(latest.findall(f"{ATOM}entry")) == 14
    dated = next(e for e in latest.findall(f"{ATOM}entry") if e.findtext(f"{ATOM}id").endswith(DATED.id))
    assert dated.findtext(f"{ATOM}published") == "2024-03-26T09:30:00Z"
    assert dated.findtext(f"{ATOM}author/{ATOM}name") == "Ann Reporter"
    assert client.get("/feeds/search.atom", params={"q": '"open'}).status_code == 400
    assert client.get("/feeds/sites/nowhere.example.atom").status_code == 404


def test_fixture_page_ingested_through_the_pipeline_keeps_teasers_out_of_related(client, store, flattened_news_page):
    report = ingest_paths([flattened_news_page], store)
    assert report.read == 1 and not report.errors
    (article,) = [a for a in store.latest_articles(limit=50) if "Rafah" in a.title]
    html = client.get(f"/articles/{article.id}").text
    assert "Advertisement" not in html
    assert "Rafah" in html.split('<div class="story-body">', 1)[1].split("</div>", 1)[0]
    assert "date unknown" in html
    rail = html.split('<aside class="rail"', 1)[1]
    for teaser in article.teasers:
        assert teaser.title.replace("’", "") not in rail.replace("’", "")
    if article.teasers:
        assert "Links found on the original page" in html
    assert_inert(html)


def test_odd_ids_and_site_names_from_imported_records_get_working_links(store, client):
    odd = Article(id="wire/2024?item=1#a b", title="Harbour strike ends", paragraphs=["Dockers went back to work."],
                  site="Wire / Desk #2")
    store.upsert_articles([odd])
    home = client.get("/").text
    (article_href,) = [u for u in parse(home).urls if u.startswith("/articles/wire")]
    assert article_href == "/articles/wire/2024%3Fitem%3D1%23a%20b"
    page = client.get(article_href)
    assert page.status_code == 200 and "Harbour strike ends" in page.text
    (site_href,) = [u for u in parse(home).urls if u.startswith("/sites/Wire")]
    site_page = client.get(site_href)
    assert site_page.status_code == 200 and article_href in site_page.text
    feed = _atom(client.get(site_href.replace("/sites/", "/feeds/sites/") + ".atom"))
    assert [e.findtext(f"{ATOM}title") for e in feed.findall(f"{ATOM}entry")] == ["Harbour strike ends"]
    api = client.get("/api" + article_href)
    assert api.status_code == 200 and api.json()["id"] == odd.id
    related = client.get("/api" + article_href + "/related")
    assert related.status_code == 200 and related.json()["article_id"] == odd.id
