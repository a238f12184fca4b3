"""Stories in the reader and the API, through TestClient on a real SQLite store filled by the real pipeline.

The store holds the 12 real ECB+ reports (3 events x 4 reports: an Endangered Species Act ruling, a navy foiling
pirates in the Gulf of Aden, a Detroit office shooting) run through ``ingest_articles`` with the default stages
(dedup, enrichment without NER, streaming stories), with publication times assigned to make a timeline: the
ruling's reports over five days (a per-day chart), the piracy reports within a day (per hour), and the shooting's
reports in the last ten hours before the newest article (Trending). One shooting report is also published by a
second outlet, word for word, two hours later: a copy ("also published by"), never a story member of its own.
"""

from __future__ import annotations

import json
import re
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from html import unescape
from urllib.parse import quote, quote_plus

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's note about httpx vs httpx2 in its test client
    from fastapi.testclient import TestClient

from newsloom.model import Article, EntityMention
from newsloom.pipeline import ingest_articles
from newsloom.sources.files import article_from_record
from newsloom.stages import default_stages
from newsloom.store import SQLiteStore
from newsloom.store.base import BatchExtras, StoryRow
from newsloom.web import create_app

from .conftest import FIXTURES_DIR
from .test_web_pages import assert_inert, parse

ATOM = "{http://www.w3.org/2005/Atom}"
START = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
# Hours after START of each event's four reports, in the file's order.
HOURS = {"9_ecbplus": [0, 26, 74, 122], "12_ecbplus": [30, 34, 41, 52], "18_ecbplus": [146, 149, 152, 156]}
COPY_OF = 5  # the 6th record (a Detroit shooting report) is republished by a syndication site


@dataclass(slots=True)
class Reader:
    store: SQLiteStore
    client: TestClient
    events: dict[str, list[Article]]  # event cluster -> its reports as ingested (with ids and dates)
    copy: Article
    original: Article


def _timeline_articles() -> tuple[dict[str, list[Article]], Article, Article]:
    path = FIXTURES_DIR / "news" / "ecbplus-sample.jsonl"
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    events: dict[str, list[Article]] = {}
    for number, record in enumerate(records, start=1):
        reports = events.setdefault(record["event_cluster"], [])
        when = START + timedelta(hours=HOURS[record["event_cluster"]][len(reports)])
        reports.append(article_from_record(
            {"url": record["url"], "title": record["title"], "text": record["text"], "published_at": when.isoformat()},
            f"{path.name}:{number}"))
    original = [a for reports in events.values() for a in reports][COPY_OF]
    copy = article_from_record(
        {"url": "https://syndication.example.net/wire/office-shooting", "title": original.title,
         "text": original.text, "published_at": (original.published_at + timedelta(hours=2)).isoformat()},
        "syndication")
    return events, copy, original


@pytest.fixture(scope="module")
def reader(tmp_path_factory) -> Iterator[Reader]:
    events, copy, original = _timeline_articles()
    store = SQLiteStore(tmp_path_factory.mktemp("stories") / "stories.db")
    articles = [a for reports in events.values() for a in reports] + [copy]
    ingest_articles(articles, store, default_stages(entities=False))
    stored = {a.id: a for a in store.get_articles([a.id for a in articles])}
    try:
        yield Reader(store, TestClient(create_app(store)),
                     {event: [stored[a.id] for a in reports] for event, reports in events.items()},
                     stored[copy.id], stored[original.id])
    finally:
        store.close()


def _story_of(reader: Reader, event: str) -> StoryRow:
    """The story holding most of an event's reports."""
    ids = [a.story_id for a in reader.events[event]]
    return reader.store.get_story(max(set(ids), key=ids.count))


def _section(html: str, marker: str) -> str:
    return html.split(marker, 1)[1].split("</section>", 1)[0]


def _rail_items(html: str, box: str) -> list[tuple[str, str]]:
    """(article id, reason) of each link in one rail box of the article page."""
    section = _section(html, f'<section class="box {box}"')
    return re.findall(r'<a href="/articles/([^"]+)">.*?</a>\s*<span class="reason">([^<]*?)(?: · [^<]*)?</span>',
                      section, re.DOTALL)


# -- the pipeline made stories (the premise of every test below) ---------------------------------------------------
def test_the_pipeline_groups_reports_into_stories_and_copies_follow_their_original(reader):
    assert reader.copy.duplicate_of == reader.original.id
    assert reader.copy.story_id == reader.original.story_id is not None
    big = [s for s in reader.store.top_stories(limit=20) if s.article_count >= 2]
    assert len(big) >= 3
    # No story mixes two events: each story's reports come from one event.
    for story in big:
        members = {a.id for a in reader.store.story_articles(story.id)}
        assert len({event for event, reports in reader.events.items() if members & {a.id for a in reports}}) == 1


# -- home page -----------------------------------------------------------------------------------------------------
def test_home_shows_story_blocks_with_lead_other_sources_and_timeline(reader):
    response = reader.client.get("/")
    assert response.status_code == 200
    html = response.text
    assert "Top stories" in html and "Latest" in html and "Popular" in html
    blocks = re.findall(r'<article class="story-card" data-story-id="([^"]+)">(.*?)</article>', html, re.DOTALL)
    expected = [s for s in reader.store.top_stories(limit=6) if s.article_count >= 2]
    assert [story_id for story_id, _ in blocks] == [s.id for s in expected]
    for story, (_, block) in zip(expected, blocks):
        members = reader.store.story_articles(story.id)
        lead = next((a for a in members if a.title == story.title), members[0])
        title_link = re.search(r'class="story-card-title"><a href="/articles/([^"]+)">([^<]+)</a>', block)
        assert title_link and title_link.group(1) == lead.id and unescape(title_link.group(2)) == lead.title
        assert f"{story.article_count} articles from {story.source_count} sources" in block
        others = re.findall(r'<span class="site">([^<]+)</span> <a href="/articles/([^"]+)">', block)
        other_sites = [site for site, _ in others]
        assert len(others) == min(3, story.source_count - 1) and lead.site not in other_sites
        assert len(set(other_sites)) == len(other_sites)
        assert {article_id for _, article_id in others} <= {a.id for a in members}
        assert f'datetime="{story.first_seen.isoformat()}"' in block
        assert f'href="/stories/{story.id}"' in block
    # The latest articles are still listed below the stories.
    assert html.index('class="top-stories"') < html.index('class="teaser"')
    assert_inert(html)


def test_trending_lists_the_story_rising_against_its_baseline(reader):
    shooting, ruling = _story_of(reader, "18_ecbplus"), _story_of(reader, "9_ecbplus")
    html = reader.client.get("/").text
    box = _section(html, '<section class="box trending"')
    linked = re.findall(r'href="/stories/([^"]+)"', box)
    assert linked and linked[0] == shooting.id
    assert ruling.id not in linked  # its last report is five days before the newest article
    body = reader.client.get("/api/trending").json()
    assert body["as_of"] == (START + timedelta(hours=156)).isoformat()  # the newest article's time
    first = body["stories"][0]
    assert first["story"]["id"] == shooting.id and first["recent_count"] == shooting.article_count >= 2
    assert first["expected_count"] == 0 and first["score"] > 1
    assert all(item["recent_count"] >= 2 for item in body["stories"])


def test_stories_list_page_pages_through_top_stories(reader):
    html = reader.client.get("/stories").text
    ids = re.findall(r'data-story-id="([^"]+)"', html)
    assert ids == [s.id for s in reader.store.top_stories(limit=20)]
    second = reader.client.get("/stories", params={"page": 2})
    assert second.status_code == 200 and "No more stories" in second.text
    assert reader.client.get("/stories", params={"page": 0}).status_code == 422


# -- story page ----------------------------------------------------------------------------------------------------
def test_story_page_shows_summary_counts_chart_timeline_and_entities(reader):
    story = _story_of(reader, "18_ecbplus")
    response = reader.client.get(f"/stories/{story.id}")
    assert response.status_code == 200
    html = response.text
    assert unescape(re.search(r'<h1 class="page-title">([^<]+)</h1>', html).group(1)) == story.title
    members = reader.store.story_articles(story.id)
    lead = next((a for a in members if a.title == story.title), members[0])
    # The standfirst is the lead's summary, without the headline it repeats, at most a few sentences long.
    standfirst = unescape(re.search(r'class="lede story-summary">([^<]*)<', html).group(1))
    assert lead.summary and 40 < len(standfirst) <= 421 and standfirst.rstrip("…") in lead.summary
    assert not standfirst.startswith(lead.title)
    sources = re.findall(r'<a href="/sites/([^"]+)">[^<]+</a> <span class="reason">(\d+) articles? in this story',
                         _section(html, '<section class="box story-sources"'))
    assert sorted(site for site, _ in sources) == sorted({a.site for a in members})
    assert sum(int(count) for _, count in sources) == story.article_count
    assert f"{story.article_count} articles from {story.source_count} sources" in html
    assert f'datetime="{story.first_seen.isoformat()}"' in html and f'datetime="{story.last_seen.isoformat()}"' in html
    # A story of ten hours is charted per hour, one bar per hour from the first report to the last.
    svg = re.search(r"<svg .*?</svg>", html, re.DOTALL).group(0)
    chart = ET.fromstring(svg)
    assert "per-hour" in chart.get("class") and chart.get("role") == "img"
    bars = chart.findall(".//{http://www.w3.org/2000/svg}rect")
    hours = (story.last_seen - story.first_seen) // timedelta(hours=1) + 1
    assert len(bars) == hours and sum(story.volume_per_hour.values()) == story.article_count
    # The articles in time order, each with its site, and the copy counted under its original.
    titles = [unescape(t) for t in re.findall(r'class="timeline-title"><a href="/articles/[^"]+">([^<]+)</a>', html)]
    assert titles == [a.title for a in sorted(members, key=lambda a: a.published_at)]
    assert reader.copy.id not in html
    item = html.split(f'href="/articles/{reader.original.id}"', 1)[1].split("</li>", 1)[0]
    assert "Also published by 1 other outlet" in item
    assert html.count("Also published by") == 1
    # Subscribe: the story's Atom feed, also announced in <head>.
    feed_href = f"http://testserver/feeds/stories/{story.id}.atom"
    assert f'class="feed-link" href="{feed_href}"' in html
    assert any(link.get("href") == feed_href for link in parse(html).links if link["tag"] == "link")
    assert_inert(html)


def test_a_story_of_several_days_is_charted_per_day(reader):
    story = _story_of(reader, "9_ecbplus")
    assert story.last_seen - story.first_seen >= timedelta(days=3)
    html = reader.client.get(f"/stories/{story.id}").text
    chart = ET.fromstring(re.search(r"<svg .*?</svg>", html, re.DOTALL).group(0))
    assert "per-day" in chart.get("class")
    days = (story.last_seen.date() - story.first_seen.date()).days + 1
    assert len(chart.findall(".//{http://www.w3.org/2000/svg}rect")) == days


def test_story_names_link_to_entity_pages_when_known_else_to_a_search(reader):
    # The story's top names come from the clusterer; here the store is told them directly (this run had no NER),
    # and one of them is also named by an article, so the store has an entity page for it.
    story = _story_of(reader, "9_ecbplus")
    member = reader.store.story_articles(story.id)[0]
    known, unknown = "Barack Obama", "Endangered Species Act"
    reader.store.upsert_articles(
        [replace(member, entities=[EntityMention(known, "PERSON", 2)])],
        extras=BatchExtras(stories=[replace(story, top_entities=[known, unknown])]),
    )
    html = reader.client.get(f"/stories/{story.id}").text
    box = _section(html, '<section class="box story-entities"')
    assert f'href="/entities/{quote(known)}"' in box
    assert f'href="/search?q={quote_plus(unknown)}"' in box and "/entities/Endangered" not in box
    assert reader.client.get(f"/entities/{quote(known)}").status_code == 200


def test_story_feed_lists_the_story_newest_first(reader):
    story = _story_of(reader, "12_ecbplus")
    response = reader.client.get(f"/feeds/stories/{story.id}.atom")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(response.content)
    assert story.title in feed.findtext(f"{ATOM}title")
    links = [entry.find(f"{ATOM}link").get("href") for entry in feed.findall(f"{ATOM}entry")]
    members = sorted(reader.store.story_articles(story.id), key=lambda a: a.published_at, reverse=True)
    assert links == [f"http://testserver/articles/{a.id}" for a in members]


def test_unknown_story_is_a_404_page_feed_and_api_error(reader):
    page = reader.client.get("/stories/no-such-story")
    assert page.status_code == 404 and "text/html" in page.headers["content-type"] and "no story" in page.text
    assert reader.client.get("/feeds/stories/no-such-story.atom").status_code == 404
    api = reader.client.get("/api/stories/no-such-story")
    assert api.status_code == 404 and api.json() == {"ok": False, "error": "no story with id 'no-such-story'",
                                                     "status": 404}


def test_head_requests_answer_without_a_body(reader):
    story = _story_of(reader, "12_ecbplus")
    for path in ("/", "/stories", f"/stories/{story.id}", f"/feeds/stories/{story.id}.atom"):
        response = reader.client.head(path)
        assert response.status_code == 200 and response.content == b"", path


# -- article page --------------------------------------------------------------------------------------------------
def test_article_page_links_its_story_and_lists_same_story_first(reader):
    article = reader.original
    story = reader.store.get_story(article.story_id)
    html = reader.client.get(f"/articles/{article.id}").text
    part = re.search(r'<p class="part-of-story">Part of the story: <a href="/stories/([^"]+)">([^<]+)</a>'
                     r' <span class="story-size">\((\d+) articles\)</span>', html)
    assert part and part.group(1) == story.id and unescape(part.group(2)) == story.title
    assert int(part.group(3)) == story.article_count
    related, more = _rail_items(html, "related"), _rail_items(html, "more-like-this")
    story_ids = {a.id for a in reader.store.story_articles(story.id)} - {article.id}
    same = [article_id for article_id, reason in related if reason == "same story"]
    # Every other article of the story, first, then neighbours from other stories with the terms they share.
    assert set(same) == story_ids and [r for _, r in related[: len(same)]] == ["same story"] * len(same)
    assert all(reason.startswith("shares: ") for _, reason in related[len(same):] + more)
    assert not {article_id for article_id, _ in related[len(same):] + more} & story_ids
    listed = [article_id for article_id, _ in related + more]
    assert len(listed) == len(set(listed)) and article.id not in listed and reader.copy.id not in listed
    assert_inert(html)


def test_a_copy_never_lists_its_original_as_related(reader):
    html = reader.client.get(f"/articles/{reader.copy.id}").text
    assert "Part of the story" in html
    listed = [article_id for article_id, _ in _rail_items(html, "related") + _rail_items(html, "more-like-this")]
    assert reader.original.id not in listed and reader.copy.id not in listed
    assert "same story" in html


def test_related_api_gives_same_story_first_with_the_reason(reader):
    article = reader.events["9_ecbplus"][0]
    body = reader.client.get(f"/api/articles/{article.id}/related", params={"k": 2}).json()
    assert body["story_id"] == article.story_id
    related, more = body["related"], body["more_like_this"]
    assert len(related) == 2 and [item["reason"] for item in related] == ["same story", "same story"]
    story_size = reader.store.get_story(article.story_id).article_count
    same_in_more = [item for item in more if item["reason"] == "same story"]
    assert len(same_in_more) == min(2, story_size - 3)
    ids = [item["article"]["id"] for item in related + more]
    assert len(ids) == len(set(ids)) and article.id not in ids
    assert all(item["article"]["story_id"] == article.story_id for item in related)


# -- API -------------------------------------------------------------------------------------------------------------
def test_api_lists_stories_with_limit_and_offset(reader):
    everything = reader.store.top_stories(limit=50)
    first = reader.client.get("/api/stories", params={"limit": 2}).json()
    second = reader.client.get("/api/stories", params={"limit": 2, "offset": 2}).json()
    assert (first["limit"], first["offset"], second["offset"]) == (2, 0, 2)
    assert [s["id"] for s in first["stories"] + second["stories"]] == [s.id for s in everything[:4]]
    top = first["stories"][0]
    assert top["article_count"] == everything[0].article_count and top["first_seen"] == everything[0].first_seen.isoformat()
    assert set(top) == {"id", "title", "first_seen", "last_seen", "article_count", "source_count", "top_terms",
                        "top_entities", "archived"}
    assert reader.client.get("/api/stories", params={"limit": 0}).json()["status"] == 422


def test_api_story_has_articles_in_time_order_and_volume(reader):
    story = _story_of(reader, "12_ecbplus")
    body = reader.client.get(f"/api/stories/{story.id}").json()
    assert body["id"] == story.id and body["title"] == story.title
    times = [a["published_at"] for a in body["articles"]]
    assert times == sorted(times) and len(times) == story.article_count
    assert all(a["duplicate_of"] is None and a["story_id"] == story.id for a in body["articles"])
    assert sum(day["count"] for day in body["volume_per_day"]) == story.article_count
    assert sum(hour["count"] for hour in body["volume_per_hour"]) == story.article_count
    assert [h["hour"] for h in body["volume_per_hour"]] == sorted(story.volume_per_hour)
    assert body["lead_article_id"] in {a["id"] for a in body["articles"]}


def test_api_docs_list_the_story_endpoints(reader):
    spec = reader.client.get("/openapi.json").json()
    for path in ("/api/stories", "/api/stories/{story_id}", "/api/trending"):
        assert path in spec["paths"], path


def test_hourly_chart_falls_back_to_days_and_ignores_malformed_hours():
    from newsloom.web.charts import hourly_buckets, hourly_chart_svg

    hours = {"2024-03-01T08": 2, "2024-03-01T10": 1, "not-an-hour": 5, "2024-03-01T99": 3}
    volume = hourly_buckets(hours)
    assert volume.granularity == "hour" and [b.count for b in volume.buckets] == [2, 0, 1]
    chart = ET.fromstring(str(hourly_chart_svg(hours, title="<b>Story</b>")))
    assert chart.findtext("{http://www.w3.org/2000/svg}title") == "<b>Story</b>"  # escaped by the serialiser
    assert "busiest hour: 1 March 2024, 08:00 UTC, 2 articles" in chart.findtext("{http://www.w3.org/2000/svg}desc")
    long_story = {"2024-03-01T08": 1, "2024-03-09T08": 4}  # 193 hours: more bars than fit, so per day
    assert hourly_buckets(long_story).granularity == "day"
    assert [b.count for b in hourly_buckets(long_story).buckets] == [1] + [0] * 7 + [4]


def test_a_merged_story_url_moves_permanently_to_the_story_that_absorbed_it(tmp_path):
    store = SQLiteStore(tmp_path / "merged.db")
    day = datetime(2024, 3, 25, tzinfo=UTC)
    rafah = StoryRow("s-rafah", "Rafah talks called off", day, day, 0)
    gaza = StoryRow("s-gaza", "Gaza aid convoy", day, day, 0)
    try:
        store.upsert_articles([], extras=BatchExtras(stories=[rafah, gaza]))
        store.upsert_articles([], extras=BatchExtras(stories=[rafah], merged_stories={"s-gaza": "s-rafah"}))
        client = TestClient(create_app(store))
        moved = client.get("/stories/s-gaza", follow_redirects=False)
        assert moved.status_code == 301 and moved.headers["location"].endswith("/stories/s-rafah")
        assert "Rafah talks called off" in client.get("/stories/s-gaza").text
        assert client.get("/api/stories/s-gaza").json()["id"] == "s-rafah"
        assert client.get("/stories/s-rafah", follow_redirects=False).status_code == 200
    finally:
        store.close()
