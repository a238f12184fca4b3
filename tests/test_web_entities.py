"""Entity pages, the volume chart, entity feeds and the entity API, through TestClient on a real SQLite store.

The articles are built with Article(...) and EntityMention(...) directly (no spaCy needed): 23 dated reports naming
Gaza, eight of them Benjamin Netanyahu, three an organisation whose name holds "/", "&" and "<script>", a duplicate that
must not count, two reports on the Olympic Games four years apart (a long span, drawn per month), and one article
with no entities at all.
"""

from __future__ import annotations

import re
import warnings
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from urllib.parse import quote

import pytest
from markupsafe import escape

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's note about httpx vs httpx2 in its test client
    from fastapi.testclient import TestClient

from newsloom.model import Article, EntityMention
from newsloom.store.base import DayCount
from newsloom.web import create_app
from newsloom.web.charts import MAX_BARS, volume_buckets, volume_chart_svg

from .test_web_pages import assert_inert, parse

SVG = "{http://www.w3.org/2000/svg}"
ATOM = "{http://www.w3.org/2005/Atom}"
ODD_NAME = "AC/DC & <script>alert(1)</script> Ltd."
FIRST_DAY = date(2024, 1, 1)


def _report(index: int, day: date, entities: list[EntityMention], **fields) -> Article:
    return Article(
        id=f"report{index:03d}",
        title=f"Report {index} on the crossing",
        paragraphs=[f"Officials spoke about the crossing on day {index}.", "More talks are planned."],
        url=f"https://news.example.org/{index}",
        site="news.example.org",
        published_at=datetime(day.year, day.month, day.day, 12, tzinfo=timezone.utc),
        published_at_source="meta",
        entities=entities,
        **fields,
    )


def _gaza_reports() -> list[Article]:
    reports = []
    for index in range(23):
        entities = [EntityMention("Gaza", "GPE", 3)]
        if index < 8:
            entities.append(EntityMention("Benjamin Netanyahu", "PERSON", 2))
        if index < 3:
            entities.append(EntityMention(ODD_NAME, "ORG", 1))
        if index % 4 == 0:
            entities += [EntityMention("Hamas", "ORG", 1), EntityMention("Gaza", "LOC", 1)]
        entities.append(EntityMention("Israeli", "NORP", 1))
        reports.append(_report(index, FIRST_DAY + timedelta(days=2 * index), entities))
    return reports


@dataclass(slots=True)
class Corpus:
    reports: list[Article]
    duplicate: Article
    bare: Article


@pytest.fixture
def corpus(sqlite_store) -> Corpus:
    reports = _gaza_reports()
    duplicate = _report(900, date(2024, 6, 1), [EntityMention("Benjamin Netanyahu", "PERSON", 1)],
                        duplicate_of=reports[0].id)
    olympics = [_report(800, date(2020, 7, 24), [EntityMention("Olympic Games", "EVENT", 2)]),
                _report(801, date(2024, 7, 26), [EntityMention("Olympic Games", "EVENT", 2)])]
    bare = _report(700, date(2024, 2, 2), [])
    sqlite_store.upsert_articles([*reports, duplicate, *olympics, bare])
    return Corpus(reports, duplicate, bare)


@pytest.fixture
def client(sqlite_store, corpus) -> TestClient:
    return TestClient(create_app(sqlite_store))


def _entity_href(name: str) -> str:
    return "/entities/" + quote(name, safe="/")


def _svg(html: str) -> ET.Element:
    """The page's one inline chart, parsed as XML (it must be well-formed on its own)."""
    (markup,) = re.findall(r"<svg\b.*?</svg>", html, re.S)
    return ET.fromstring(markup)


def _bars(svg: ET.Element) -> list[ET.Element]:
    return svg.findall(f"{SVG}g/{SVG}rect")


def _section(html: str, css_class: str) -> str:
    return html.split(f'<section class="box {css_class}"', 1)[1].split("</section>", 1)[0]


# -- the chart -----------------------------------------------------------------------------------------------------
def test_chart_fills_gaps_with_zero_days_and_is_accessible_xml():
    svg = ET.fromstring(str(volume_chart_svg([DayCount("2024-03-01", 2), DayCount("2024-03-04", 5)],
                                             title="Mentions of Rafah")))
    assert svg.tag == f"{SVG}svg" and svg.get("role") == "img"
    title, desc = svg.find(f"{SVG}title"), svg.find(f"{SVG}desc")
    assert title is not None and title.text == "Mentions of Rafah"
    assert svg.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    assert desc.text == "7 articles from 1 Mar 2024 to 4 Mar 2024, per day; busiest day: 4 March 2024, 5 articles."
    bars = _bars(svg)
    assert [bar.findtext(f"{SVG}title") for bar in bars] == [
        "1 March 2024: 2 articles", "2 March 2024: 0 articles", "3 March 2024: 0 articles", "4 March 2024: 5 articles"]
    heights = [float(bar.get("height")) for bar in bars]
    assert heights[1] == heights[2] == 0 and heights[3] > 0 and heights[0] == pytest.approx(heights[3] * 2 / 5)
    labels = {text.get("class"): text.text for text in svg.iter(f"{SVG}text")}
    assert labels["chart-label chart-max"] == "5"
    assert labels["chart-label chart-first"] == "1 Mar 2024" and labels["chart-label chart-last"] == "4 Mar 2024"
    assert not [el for el in svg.iter() if "style" in el.attrib]  # styled through reader.css classes only (CSP)


@pytest.mark.parametrize(
    ("span_days", "granularity"),
    [(1, "day"), (120, "day"), (121, "week"), (7 * 119, "week"), (7 * 125, "month"), (365 * 12, "year")],
)
def test_chart_buckets_by_week_month_or_year_when_the_span_is_long(span_days, granularity):
    first = date(2021, 3, 3)  # a Wednesday: weeks start on Monday, so the first week begins before it
    points = [DayCount(str(first), 1), DayCount(str(first + timedelta(days=span_days - 1)), 2)]
    volume = volume_buckets(points)
    assert volume.granularity == granularity
    assert 1 <= len(volume.buckets) <= MAX_BARS and volume.total == 3
    svg = ET.fromstring(str(volume_chart_svg(points, title="t")))
    assert len(_bars(svg)) == len(volume.buckets)
    assert f"per-{granularity}" in svg.get("class")
    if granularity == "week":  # weeks are named by their Monday, and said to be weeks
        assert svg.findtext(f"{SVG}desc").startswith("3 articles from the week of 1 Mar 2021 to the week of ")


def test_chart_handles_no_point_one_point_and_thousands():
    empty = ET.fromstring(str(volume_chart_svg([], title="Nothing yet")))
    assert _bars(empty) == [] and empty.findtext(f"{SVG}desc") == "No dated articles yet."
    assert "No dated articles yet" in [t.text for t in empty.iter(f"{SVG}text")]

    one = ET.fromstring(str(volume_chart_svg([DayCount("2024-03-26", 4)], title="One day")))
    (bar,) = _bars(one)
    assert bar.findtext(f"{SVG}title") == "26 March 2024: 4 articles"
    assert one.findtext(f"{SVG}desc") == "4 articles, all on 26 March 2024."

    start = date(2016, 1, 1)
    many = [DayCount(str(start + timedelta(days=n)), n % 5) for n in range(3000)]
    volume = volume_buckets(many)
    svg = ET.fromstring(str(volume_chart_svg(many, title="Eight years")))
    assert volume.granularity == "month" and len(_bars(svg)) == len(volume.buckets) <= MAX_BARS
    assert volume.total == sum(point.count for point in many)
    counts = [int(re.search(r": (\d+) article", bar.findtext(f"{SVG}title")).group(1)) for bar in _bars(svg)]
    assert counts == [bucket.count for bucket in volume.buckets]


def test_chart_escapes_its_text_and_ignores_malformed_points():
    title = 'Mentions of </title></svg><script>alert(1)</script> & "co"\x01'
    points = [DayCount("not a day", 3), DayCount("2024-02-30", 1), DayCount("2024-03-01", -4),
              DayCount("2024-03-02", 2)]
    markup = str(volume_chart_svg(points, title=title))
    assert "<script>" not in markup and "\x01" not in markup
    svg = ET.fromstring(markup)
    assert svg.findtext(f"{SVG}title") == title.replace("\x01", "")
    bar_titles = [bar.findtext(f"{SVG}title") for bar in _bars(svg)]
    assert bar_titles == ["1 March 2024: 0 articles", "2 March 2024: 2 articles"]


# -- pages ---------------------------------------------------------------------------------------------------------
def test_entity_page_shows_name_type_count_chart_articles_and_cooccurring(client, sqlite_store, corpus):
    response = client.get(_entity_href("Benjamin Netanyahu"))
    assert response.status_code == 200
    html = response.text
    assert '<h1 class="page-title">Benjamin Netanyahu</h1>' in html
    assert '<p class="kicker">person</p>' in html
    assert "Named in 8 articles." in html  # the duplicate is left out
    svg = _svg(html)
    volume = volume_buckets(sqlite_store.entity_volume("Benjamin Netanyahu"))
    assert volume.granularity == "day" and len(volume.buckets) == 15  # 8 reports every other day: 7 gaps filled
    assert len(_bars(svg)) == len(volume.buckets)
    assert svg.findtext(f"{SVG}title") == "Articles mentioning Benjamin Netanyahu over time"
    listed = re.findall(r'<h2 class="teaser-title"><a href="/articles/([^"]+)"', html)
    assert listed == [a.id for a in sorted(corpus.reports[:8], key=lambda a: a.published_at, reverse=True)]
    assert corpus.duplicate.id not in html
    # Often named with: links to other entity pages, each with how many articles the two share.
    cooccurring = _section(html, "cooccurring")
    links = re.findall(r'<a class="entity-link" href="([^"]+)">([^<]+)</a>\s*<span class="reason">([^<]*)</span>',
                       cooccurring)
    assert [(name, reason) for _, name, reason in links][:2] == [
        ("Gaza", "country, city or state · in 8 articles together"),
        ("Israeli", "nationality or group · in 8 articles together")]
    assert [name for _, name, _ in links].count("Gaza") == 1  # tagged GPE and LOC, listed once
    for href, _, _ in links:
        assert client.get(href).status_code == 200, href
    # Subscribe: the entity's Atom feed, also announced in <head>.
    feed_url = "http://testserver/feeds/entities/Benjamin%20Netanyahu.atom"
    alternates = [link for link in parse(html).links if link["tag"] == "link" and link.get("rel") == "alternate"]
    assert [link["href"] for link in alternates] == [feed_url]
    assert f'<a class="feed-link" href="{feed_url}"' in _section(html, "subscribe")
    assert " style=" not in html
    assert_inert(html)


def test_entity_page_pages_through_articles_newest_first(client, corpus):
    first = client.get(_entity_href("Gaza")).text
    second = client.get(_entity_href("Gaza"), params={"page": 2}).text
    ids = [re.findall(r'<h2 class="teaser-title"><a href="/articles/([^"]+)"', html) for html in (first, second)]
    assert len(ids[0]) == 20 and len(ids[1]) == 3
    newest_first = [a.id for a in sorted(corpus.reports, key=lambda a: a.published_at, reverse=True)]
    assert ids[0] + ids[1] == newest_first
    assert 'rel="next" href="?page=2"' in first and 'rel="prev" href="?page=1"' in second
    assert "Named in 23 articles (as country, city or state in 23, place in 6)." in first
    assert client.head(_entity_href("Gaza")).status_code == 200


def test_odd_name_is_escaped_everywhere_and_its_links_work(client, corpus):
    escaped_name = str(escape(ODD_NAME))
    href = _entity_href(ODD_NAME)
    assert href == "/entities/AC/DC%20%26%20%3Cscript%3Ealert%281%29%3C/script%3E%20Ltd."
    article_html = client.get(f"/articles/{corpus.reports[0].id}").text
    assert f'<a class="entity-link" href="{href}">{escaped_name}</a>' in _section(article_html, "in-this-article")
    assert_inert(article_html)
    page = client.get(href)
    assert page.status_code == 200
    assert f'<h1 class="page-title">{escaped_name}</h1>' in page.text
    assert f"<title>{escaped_name} · newsloom</title>" in page.text
    assert "<script>alert" not in page.text and " style=" not in page.text
    assert _svg(page.text).findtext(f"{SVG}title") == f"Articles mentioning {ODD_NAME} over time"
    assert_inert(page.text)
    feed = ET.fromstring(client.get(f"/feeds{href}.atom").content)
    assert feed.findtext(f"{ATOM}title") == f"newsloom: {ODD_NAME}"
    alternate = [link.get("href") for link in feed.findall(f"{ATOM}link") if link.get("rel") == "alternate"]
    assert alternate == [f"http://testserver{href}"]
    api = client.get(f"/api{href}")
    assert api.status_code == 200 and api.json()["name"] == ODD_NAME and api.json()["articles"] == 3


def test_entities_list_groups_names_by_kind(client):
    html = client.get("/entities").text
    headings = re.findall(r'<h2 id="[a-z]+-heading">([^<]+)</h2>', html)
    assert headings == ["People", "Organisations", "Places", "Groups, events and more"]
    people, organisations, places = (_section(html, f"entity-group {key}")
                                     for key in ("people", "organisations", "places"))
    assert '<a class="entity-link" href="/entities/Benjamin%20Netanyahu">Benjamin Netanyahu</a>' in people
    assert "8 articles" in people
    assert "Hamas" in organisations and _entity_href(ODD_NAME) in organisations
    assert places.count(">Gaza</a>") == 1 and "23 articles · country, city or state" in places
    assert "Olympic Games" in _section(html, "entity-group other")
    assert_inert(html)


def test_home_in_the_news_box_links_people_organisations_and_places(client):
    box = _section(client.get("/").text, "in-the-news")
    names = re.findall(r'<a class="entity-link" href="[^"]+">([^<]+)</a>', box)
    assert names[:3] == ["Gaza", "Benjamin Netanyahu", "Hamas"]
    assert "Israeli" not in names and "Olympic Games" not in names  # nationalities and events stay on /entities
    assert 'href="/entities"' in box
    assert '<a href="/entities">In the news</a>' in client.get("/").text  # and in the masthead


def test_article_page_lists_its_entities_by_kind(client, corpus):
    html = client.get(f"/articles/{corpus.reports[0].id}").text
    box = _section(html, "in-this-article")
    groups = re.findall(r"<dt>([^<]+)</dt>\s*<dd>(.*?)</dd>", box, re.S)
    by_kind = {kind: re.findall(r">([^<]+)</a>", names) for kind, names in groups}
    assert by_kind == {"People": ["Benjamin Netanyahu"], "Organisations": [str(escape(ODD_NAME)), "Hamas"],
                       "Places": ["Gaza"], "Groups, events and more": ["Israeli"]}
    assert "in-this-article" not in client.get(f"/articles/{corpus.bare.id}").text  # no entities, no box


def test_unknown_entity_is_a_404_page_with_a_way_on(client):
    response = client.get("/entities/Nobody%20Atall")
    assert response.status_code == 404 and response.headers["content-type"].startswith("text/html")
    assert "no article mentions &#39;Nobody Atall&#39;" in response.text
    assert 'href="/search?q=Nobody+Atall"' in response.text and 'href="/entities"' in response.text
    hostile = client.get("/entities/%3Cscript%3Ealert(1)%3C%2Fscript%3E")
    assert hostile.status_code == 404 and "<script>alert" not in hostile.text
    assert client.get("/feeds/entities/Nobody.atom").status_code == 404
    trailing = client.get("/entities/", follow_redirects=False)
    assert trailing.status_code == 308 and trailing.headers["location"] == "/entities"


# -- feed ----------------------------------------------------------------------------------------------------------
def test_entity_feed_is_atom_of_its_articles_newest_first(client, corpus):
    response = client.get("/feeds/entities/Benjamin%20Netanyahu.atom")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/atom+xml")
    root = ET.fromstring(response.content)
    assert root.findtext(f"{ATOM}id") == "http://testserver/feeds/entities/Benjamin%20Netanyahu.atom"
    assert root.findtext(f"{ATOM}subtitle") == "Articles mentioning Benjamin Netanyahu"
    entry_ids = [e.findtext(f"{ATOM}id").rsplit(":", 1)[1] for e in root.findall(f"{ATOM}entry")]
    assert entry_ids == [a.id for a in sorted(corpus.reports[:8], key=lambda a: a.published_at, reverse=True)]
    assert client.head("/feeds/entities/Gaza.atom").status_code == 200


# -- API -----------------------------------------------------------------------------------------------------------
def test_api_top_entities_with_type_filter(client):
    body = client.get("/api/entities", params={"limit": 3}).json()
    assert body == {"type": None, "limit": 3, "entities": [
        {"name": "Gaza", "type": "GPE", "articles": 23}, {"name": "Israeli", "type": "NORP", "articles": 23},
        {"name": "Benjamin Netanyahu", "type": "PERSON", "articles": 8}]}
    orgs = client.get("/api/entities", params={"type": "ORG"}).json()["entities"]
    assert [(e["name"], e["articles"]) for e in orgs] == [("Hamas", 6), (ODD_NAME, 3)]
    assert client.get("/api/entities", params={"type": "NO_SUCH"}).json()["entities"] == []


def test_api_entity_detail(client, corpus):
    body = client.get("/api/entities/Gaza", params={"limit": 2, "cooccurring": 3}).json()
    assert set(body) == {"name", "types", "articles", "volume", "cooccurring", "latest"}
    assert body["name"] == "Gaza" and body["articles"] == 23
    assert body["types"] == [{"type": "GPE", "label": "country, city or state", "articles": 23},
                             {"type": "LOC", "label": "place", "articles": 6}]
    assert body["volume"][:2] == [{"day": "2024-01-01", "count": 1}, {"day": "2024-01-03", "count": 1}]
    assert sum(day["count"] for day in body["volume"]) == 23
    assert [e["name"] for e in body["cooccurring"]] == ["Israeli", "Benjamin Netanyahu", "Hamas"]
    assert [a["id"] for a in body["latest"]] == [corpus.reports[22].id, corpus.reports[21].id]
    assert body["latest"][0]["entities"][0] == {"name": "Gaza", "type": "GPE", "count": 3}


def test_api_entity_errors_have_the_one_shape(client):
    missing = client.get("/api/entities/Nobody")
    assert missing.status_code == 404
    assert missing.json() == {"ok": False, "error": "no article mentions 'Nobody'", "status": 404}
    invalid = client.get("/api/entities", params={"limit": 0})
    assert invalid.status_code == 422 and invalid.json()["ok"] is False
    spec = client.get("/openapi.json").json()["paths"]
    assert "get" in spec["/api/entities"] and "get" in spec["/api/entities/{name}"]
    assert spec["/api/entities/{name}"]["get"]["responses"]["404"]["content"]["application/json"]["schema"][
        "$ref"].endswith("/ErrorOut")
