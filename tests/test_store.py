"""The store contract: every backend must pass these (SQLite now; PostgreSQL joins the parametrisation)."""

from __future__ import annotations

import sqlite3
import threading
from datetime import datetime, timedelta, timezone

import pytest

from newsloom.errors import NotFoundError, QueryError, StoreError
from newsloom.model import Article, EntityMention, Teaser, article_id_for
from newsloom.store import SQLiteStore
from newsloom.store.sqlite import MATCH_END, MATCH_START



def make_article(n: int, text: str | None = None, **fields) -> Article:
    text = text or f"Paragraph one of story {n} about harbour cranes.\n\nParagraph two mentions the port authority {n}."
    url = fields.pop("url", f"https://example.org/news/{n}")
    return Article(
        id=article_id_for(url, text),
        title=fields.pop("title", f"Story number {n}"),
        paragraphs=text.split("\n\n"),
        url=url,
        canonical_url=url,
        site="example.org",
        **fields,
    )


@pytest.fixture
def store(any_store):
    """Every test below runs on each backend (conftest.any_store)."""
    return any_store


def test_migrations_are_named_recorded_and_idempotent(tmp_path):
    path = tmp_path / "m.db"
    first = SQLiteStore(path)
    assert "0001_articles" in first.applied_migrations()
    assert first.migrate() == []  # nothing pending the second time
    first.close()
    again = SQLiteStore(path)
    assert again.migrate() == []
    again.close()


def test_wal_mode_is_on(tmp_path):
    s = SQLiteStore(tmp_path / "w.db")
    s.upsert_articles([make_article(1)])
    mode = sqlite3.connect(tmp_path / "w.db").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    s.close()


def test_upsert_inserts_then_leaves_unchanged_then_updates(store):
    article = make_article(1, teasers=[Teaser("Other story", "An excerpt", None)],
                           entities=[EntityMention("Port Authority", "ORG", 2)])
    assert store.upsert_articles([article]).inserted == 1
    again = store.upsert_articles([article])
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 1)
    article.title = "A corrected headline"
    assert store.upsert_articles([article]).updated == 1
    loaded = store.get_article(article.id)
    assert loaded.title == "A corrected headline"
    assert loaded.paragraphs == article.paragraphs
    assert loaded.teasers == article.teasers
    assert loaded.entities == article.entities
    assert store.stats().articles == 1


def test_round_trip_keeps_dates_and_provenance(store):
    published = datetime(2024, 3, 25, 14, 30, tzinfo=timezone(timedelta(hours=2)))
    article = make_article(2, published_at=published, published_at_source="json-ld", published_at_confidence=0.9)
    store.upsert_articles([article])
    loaded = store.get_article(article.id)
    assert loaded.published_at == published
    assert loaded.published_at_source == "json-ld"
    assert loaded.published_at_confidence == pytest.approx(0.9)


def test_missing_article_is_not_found(store):
    with pytest.raises(NotFoundError):
        store.get_article("does-not-exist")


def test_latest_is_newest_first_and_skips_duplicates(store):
    base = datetime(2024, 1, 1, tzinfo=timezone.utc)
    articles = [make_article(n, published_at=base + timedelta(days=n), published_at_source="meta") for n in range(5)]
    articles[3].duplicate_of = articles[0].id
    store.upsert_articles(articles)
    latest = store.latest_articles(limit=10)
    assert [a.id for a in latest] == [articles[n].id for n in (4, 2, 1, 0)]


def test_search_ranks_title_matches_and_marks_terms(store):
    store.upsert_articles([
        make_article(1, text="The cranes at the harbour were idle.", title="Harbour strike ends"),
        make_article(2, text="A strike at the harbour closed the docks. The strike lasted days.", title="Docks"),
        make_article(3, text="Nothing to do with ports at all.", title="Weather"),
    ])
    hits = store.search("harbour")
    assert {h.article.title for h in hits} == {"Harbour strike ends", "Docks"}
    assert hits[0].article.title == "Harbour strike ends"  # the title match weighs more
    assert MATCH_START + "harbour" + MATCH_END in hits[1].snippet.lower()
    assert [h.article.title for h in store.search('"closed the docks"')] == ["Docks"]
    assert [h.article.title for h in store.search("harbour -cranes")] == ["Docks"]


@pytest.mark.parametrize("bad", ['"unclosed', "OR strike", "strike OR", "-only", ""])
def test_malformed_queries_are_query_errors(store, bad):
    store.upsert_articles([make_article(1)])
    with pytest.raises(QueryError):
        store.search(bad)


def test_fts_operators_typed_by_users_are_plain_words(store):
    store.upsert_articles([make_article(1, text="NEAR the harbour the body was found", title="A")])
    # Column filters and NEAR() are FTS5 syntax; in a user query they are words (an unknown field is an error).
    with pytest.raises(QueryError, match="unknown field body:"):
        store.search("body:harbour")
    assert store.search('"body:harbour"') == []  # quoted: the phrase "body harbour", which the text does not hold
    assert len(store.search("NEAR harbour")) == 1


def test_popular_counts_views_and_credits_duplicates_to_their_canonical(store):
    first, copy, other = make_article(1), make_article(2), make_article(3)
    copy.duplicate_of = first.id
    store.upsert_articles([first, copy, other])
    for _ in range(2):
        store.record_view(copy.id)
    store.record_view(first.id)
    store.record_view(other.id)
    popular = store.popular(limit=5)
    assert [(p.article.id, p.count) for p in popular] == [(first.id, 3), (other.id, 1)]
    old = datetime.now(timezone.utc) - timedelta(days=30)
    store.record_view(other.id, at=old)
    assert store.popular(since=datetime.now(timezone.utc) - timedelta(days=1))[0].article.id == first.id


def test_document_frequencies_and_candidates(store):
    store.upsert_articles([make_article(n) for n in range(4)] + [make_article(9, text="Gallant met officials.")])
    frequencies = store.document_frequencies(["harbour", "gallant", "absent"])
    assert frequencies == {"harbour": 4, "gallant": 1}
    candidates = store.candidates_sharing_terms(["gallant"], exclude=[], limit=10)
    assert [a.paragraphs[0] for a in candidates] == ["Gallant met officials."]


def test_failed_batch_commits_nothing(tmp_path):
    s = SQLiteStore(tmp_path / "atomic.db")
    good = make_article(1)
    bad = make_article(2)
    bad.teasers = [object()]  # not serialisable: the batch fails half-way
    with pytest.raises(Exception):
        s.upsert_articles([good, bad])
    assert s.stats().articles == 0
    s.close()


def test_readers_are_not_blocked_by_an_open_write(tmp_path):
    path = tmp_path / "concurrent.db"
    writer = SQLiteStore(path)
    writer.upsert_articles([make_article(1)])
    # Hold the write lock in a raw connection, as a long ingest batch would.
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    blocker.execute("INSERT INTO page_views VALUES ('x', '2024-01-01', 1)")
    results = []

    def read():
        reader = SQLiteStore(path, migrate=False)
        results.append(reader.stats().articles)
        reader.close()

    thread = threading.Thread(target=read)
    thread.start()
    thread.join(timeout=5)
    assert results == [1], "a reader waited on the writer"
    blocker.execute("ROLLBACK")
    blocker.close()
    writer.close()


def test_not_a_database_is_a_store_error(tmp_path):
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError):
        SQLiteStore(path)


def test_integrity_check_passes(tmp_path):
    s = SQLiteStore(tmp_path / "i.db")
    s.upsert_articles([make_article(n) for n in range(20)])
    assert s.integrity_check() == "ok"
    s.close()


def test_entity_queries(store):
    day = datetime(2024, 3, 25, tzinfo=timezone.utc)
    netanyahu, gallant, hamas = (EntityMention("Benjamin Netanyahu", "PERSON", 2), EntityMention("Yoav Gallant", "PERSON"),
                                 EntityMention("Hamas", "ORG", 3))
    articles = [
        make_article(1, entities=[netanyahu, hamas], published_at=day, published_at_source="meta"),
        make_article(2, entities=[netanyahu, gallant, hamas], published_at=day + timedelta(days=1),
                     published_at_source="meta"),
        make_article(3, entities=[hamas], published_at=day + timedelta(days=1), published_at_source="meta"),
        make_article(4, entities=[netanyahu], published_at=day, published_at_source="meta"),
    ]
    articles[3].duplicate_of = articles[0].id  # a copy: never counted twice
    store.upsert_articles(articles)
    assert [(e.name, e.articles) for e in store.top_entities(limit=2)] == [("Hamas", 3), ("Benjamin Netanyahu", 2)]
    assert [e.name for e in store.top_entities(type="PERSON")] == ["Benjamin Netanyahu", "Yoav Gallant"]
    assert store.entity("Yoav Gallant")[0].type == "PERSON"
    with pytest.raises(NotFoundError):
        store.entity("Nobody")
    assert [a.id for a in store.articles_mentioning("Benjamin Netanyahu")] == [articles[1].id, articles[0].id]
    assert [(e.name, e.articles) for e in store.cooccurring_entities("Benjamin Netanyahu")] == [
        ("Hamas", 2), ("Yoav Gallant", 1)]
    assert [(d.day, d.count) for d in store.entity_volume("Hamas")] == [("2024-03-25", 1), ("2024-03-26", 2)]


def test_checkpoint_is_committed_with_its_batch(store):
    assert store.get_checkpoint("warc:a.warc.gz") is None
    store.upsert_articles([make_article(1)], checkpoint=("warc:a.warc.gz", "1234"))
    assert store.get_checkpoint("warc:a.warc.gz") == "1234"
    bad = make_article(2)
    bad.teasers = [object()]  # the batch fails: its checkpoint must not move either
    with pytest.raises(Exception):
        store.upsert_articles([bad], checkpoint=("warc:a.warc.gz", "9999"))
    assert store.get_checkpoint("warc:a.warc.gz") == "1234"
    store.upsert_articles([], checkpoint=("warc:a.warc.gz", "5678"))  # a stretch of records with no article
    assert store.get_checkpoint("warc:a.warc.gz") == "5678"


def test_sources_registry_and_known_urls(store):
    from newsloom.store.base import SourceRecord

    checked = datetime(2024, 3, 25, 12, tzinfo=timezone.utc)
    store.save_source(SourceRecord("https://news.example/feed.xml", "feed", title="News", every_seconds=600))
    store.save_source(SourceRecord("https://other.example/sitemap.xml", "sitemap"))
    source = store.get_source("https://news.example/feed.xml")
    source.etag, source.last_checked, source.error_count = '"v1"', checked, 2
    store.save_source(source)
    again = store.get_source("https://news.example/feed.xml")
    assert (again.etag, again.last_checked, again.error_count, again.every_seconds) == ('"v1"', checked, 2, 600)
    assert [s.url for s in store.list_sources()] == ["https://news.example/feed.xml", "https://other.example/sitemap.xml"]
    store.remove_source("https://other.example/sitemap.xml")
    with pytest.raises(NotFoundError):
        store.remove_source("https://other.example/sitemap.xml")
    with pytest.raises(NotFoundError):
        store.get_source("https://nowhere.example/")
    store.upsert_articles([make_article(1), make_article(2)])
    assert store.known_urls(["https://example.org/news/1", "https://example.org/news/7"]) == {"https://example.org/news/1"}
    fetched = make_article(3, url="https://example.org/amp/3")
    fetched.canonical_url = "https://example.org/news/3"  # the page declared another canonical URL
    store.upsert_articles([fetched])
    assert store.known_urls(["https://example.org/amp/3", "https://example.org/news/3"]) == {
        "https://example.org/amp/3", "https://example.org/news/3"}


def test_stories_are_stored_merged_and_counted_without_copies(store):
    from newsloom.store.base import BatchExtras, StoryRow

    day = datetime(2024, 3, 25, tzinfo=timezone.utc)
    a1, a2, a3 = (make_article(n, published_at=day + timedelta(hours=n), published_at_source="meta") for n in (1, 2, 3))
    a1.site, a2.site, a3.site = "one.example", "two.example", "two.example"
    a1.story_id = a2.story_id = "s-rafah"
    a3.story_id = "s-gaza"
    rafah = StoryRow("s-rafah", "Rafah talks called off", day, day + timedelta(hours=2), 2, ["rafah"],
                     ["Benjamin Netanyahu"], {"2024-03-25": 2}, {"2024-03-25T01": 1, "2024-03-25T02": 1})
    gaza = StoryRow("s-gaza", "Gaza aid", day, day + timedelta(hours=3), 1)
    store.upsert_articles([a1, a2, a3], extras=BatchExtras(stories=[rafah, gaza]))
    got = store.get_story("s-rafah")
    assert (got.title, got.article_count, got.source_count, got.volume_per_day) == (
        "Rafah talks called off", 2, 2, {"2024-03-25": 2})
    assert [s.id for s in store.top_stories()] == ["s-rafah", "s-gaza"]
    assert [s.id for s in store.top_stories(since=day + timedelta(hours=3))] == ["s-gaza"]
    assert [a.id for a in store.story_articles("s-rafah")] == [a1.id, a2.id]
    # The clusterer finds the two are one story: articles move, the absorbed story is gone.
    rafah.article_count = 3
    store.upsert_articles([], extras=BatchExtras(stories=[rafah], merged_stories={"s-gaza": "s-rafah"}))
    assert [a.id for a in store.story_articles("s-rafah")] == [a1.id, a2.id, a3.id]
    # The absorbed id keeps working: it leads to the story that took it in (old links and subscriptions).
    assert store.get_story("s-gaza").id == "s-rafah" and store.story_merged_into("s-gaza") == "s-rafah"
    assert store.story_merged_into("s-rafah") is None
    with pytest.raises(NotFoundError):
        store.get_story("s-never-made")
    # The story: search filter follows the redirect too (a saved search or feed on the absorbed id).
    hits = store.search("story:s-gaza", limit=10)
    assert sorted(hit.article.id for hit in hits) == sorted([a1.id, a2.id, a3.id])


# -- search filters, sort, entity boost and facets (the query language of search.py, on every backend) ----------------
def _search_corpus(store):
    """Five canonical articles and one copy, differing in site, author, language, story, date and entities."""
    day = datetime(2024, 3, 10, tzinfo=timezone.utc)
    netanyahu, hamas = EntityMention("Benjamin Netanyahu", "PERSON", 2), EntityMention("Hamas", "ORG")
    specs = [  # n, site, author, language, story, days after 10 March, entities, text
        (1, "bbc.co.uk", "Jane Smith", "en", "s-1", 0, [netanyahu, hamas], "Ceasefire talks in Cairo resume."),
        (2, "news.bbc.co.uk", "John Doe", "en-GB", "s-1", 5, [hamas], "Ceasefire talks stall in Cairo."),
        (3, "lemonde.fr", "Jeanne Dupont", "fr", "s-2", 10, [netanyahu], "Cessez-le-feu: ceasefire talks in Doha."),
        (4, "x.com", None, "en", None, 25, [], "A post about ceasefire talks, Cairo and football."),
        (5, "bbcxco.uk", "Jane Smithson", "en", None, 30, [], "Football results from the weekend."),
    ]
    articles = {}
    for n, site, author, language, story, days, entities, text in specs:
        article = make_article(n, text=text, title=f"Report {n}", author=author, language=language, story_id=story,
                               entities=entities, published_at=day + timedelta(days=days), published_at_source="meta")
        article.site = site
        articles[n] = article
    copy = make_article(6, text="Ceasefire talks in Cairo resume (copy).", title="Copy", entities=[netanyahu],
                        published_at=day, published_at_source="meta")
    copy.site, copy.duplicate_of = "copies.example", articles[1].id
    store.upsert_articles([*articles.values(), copy])
    return articles


def _found(store, query, **kwargs):
    return sorted(int(hit.article.title.split()[-1]) for hit in store.search(query, **kwargs))


def test_search_field_filters(store):
    _search_corpus(store)
    assert _found(store, "ceasefire") == [1, 2, 3, 4]  # the copy (6) is collapsed into its canonical
    assert _found(store, 'ceasefire entity:"Benjamin Netanyahu"') == [1, 3]
    assert _found(store, 'entity:"Benjamin Netanyahu" entity:Hamas') == [1]  # entities: all must be mentioned
    assert _found(store, "ceasefire site:www.bbc.co.uk") == [1]  # the site as stored: not news.bbc.co.uk
    assert _found(store, "site:bbc.co.uk site:news.bbc.co.uk site:x.com") == [1, 2, 4]  # sites: either
    assert _found(store, "site:BBC.co.uk_") == []  # LIKE wildcards in a value are plain characters
    assert _found(store, 'author:"jane smith"') == [1, 5]  # case-insensitive, part of the name
    assert _found(store, "author:%") == []
    assert _found(store, "lang:en") == [1, 2, 4, 5]  # en-GB is English too
    assert _found(store, "lang:fr ceasefire") == [3]
    assert _found(store, "story:s-1") == [1, 2]
    assert _found(store, "after:2024-03-15 before:2024-04-05") == [2, 3, 4]  # after: the day included
    assert _found(store, "after:2024-03-15 before:2024-04-04") == [2, 3]  # before: the day left out
    assert _found(store, "ceasefire cairo -football after:2024-03-11") == [2]
    assert _found(store, "site:x.com -football") == []  # exclusions without words
    assert _found(store, "lang:en -football") == [1, 2]


def test_search_sort_by_date_and_filter_only_queries(store):
    _search_corpus(store)
    newest_first = [int(h.article.title.split()[-1]) for h in store.search("ceasefire sort:date")]
    assert newest_first == [4, 3, 2, 1]
    assert [int(h.article.title.split()[-1]) for h in store.search("lang:en", limit=2, offset=1)] == [4, 2]
    hit = store.search("site:lemonde.fr")[0]
    assert hit.snippet.startswith("Cessez-le-feu")  # no word to centre on: the opening words
    assert MATCH_START + "ceasefire" + MATCH_END in store.search("site:lemonde.fr ceasefire")[0].snippet.lower()


def test_search_boosts_articles_mentioning_the_named_entity(store):
    text = "The cabinet met; Netanyahu spoke briefly."
    plain, other, tagged = (make_article(n, title="Cabinet meets", text=text, url=f"https://example.org/b/{n}")
                            for n in (1, 2, 3))
    other.entities = [EntityMention("Yoav Gallant", "PERSON")]  # an entity the query does not name
    tagged.entities = [EntityMention("Benjamin Netanyahu", "PERSON")]  # named by its surname
    store.upsert_articles([plain, other, tagged])
    hits = store.search("netanyahu")
    assert hits[0].article.id == tagged.id
    scores = {h.article.id: h.score for h in hits}
    assert scores[plain.id] == pytest.approx(scores[other.id])  # same text, same score
    assert scores[tagged.id] == pytest.approx(scores[plain.id] * 1.5)
    assert [h.article.id for h in store.search('"benjamin netanyahu" OR netanyahu')][0] == tagged.id
    assert store.search("netanyahu sort:date")[0].score == 0.0  # by date: no relevance score


@pytest.mark.parametrize("bad", ["body:harbour", "site:", 'entity:""', "lang:english", "after:2024-13-01",
                                 "after:2024-03-02 before:2024-03-01", "sort:popular", "-site:x.com", "x OR site:y"])
def test_malformed_filters_are_query_errors_on_every_backend(store, bad):
    store.upsert_articles([make_article(1)])
    with pytest.raises(QueryError) as caught:
        store.search(bad)
    assert "position" in str(caught.value) or "after:" in str(caught.value)


def test_hostile_filter_values_are_only_parameters(store):
    _search_corpus(store)
    for value in ["x'); DROP TABLE articles; --", '\\', "%' OR '1'='1", "%s", "?", "a\"b"]:
        for field in ("site", "author", "story", "entity"):
            quoted = value.replace('"', "")
            try:
                assert store.search(f'{field}:"{quoted}"') == []
            except QueryError:
                assert field == "site"  # not a host name: refused before any SQL
    assert store.stats().articles == 6  # nothing was dropped


def test_search_facets(store):
    _search_corpus(store)
    facets = store.search_facets("ceasefire")
    assert {(f.value, f.count) for f in facets.sites} == {
        ("bbc.co.uk", 1), ("news.bbc.co.uk", 1), ("lemonde.fr", 1), ("x.com", 1)}
    assert [(f.value, f.count) for f in facets.languages][:1] == [("en", 2)]
    assert [(e.name, e.articles) for e in facets.entities] == [("Benjamin Netanyahu", 2), ("Hamas", 2)]
    assert [(f.value, f.count) for f in facets.months] == [("2024-04", 1), ("2024-03", 3)]
    only_french = store.search_facets("lang:fr")
    assert [f.value for f in only_french.sites] == ["lemonde.fr"]
    with pytest.raises(QueryError):
        store.search_facets("site:")


# -- subscriptions and their delivery queue (store/shared.py, the same SQL on every backend) ------------------------
def test_subscription_delivery_queue_on_every_backend(store):
    from newsloom.store.base import DeliveryLogEntry, SubscriptionRecord

    now = datetime(2024, 3, 25, 12, tzinfo=timezone.utc)
    sub = SubscriptionRecord("sub-1", "entity", "Hamas", now, webhook_url="https://hooks.example/x", secret="s")
    store.save_subscription(sub)
    sub.active = False
    store.save_subscription(sub)  # an upsert: same id, new values
    assert store.get_subscription("sub-1").active is False and len(store.list_subscriptions()) == 1
    # Queued once per article, in the order queued, whatever the repeats.
    assert store.enqueue_deliveries("sub-1", ["a2", "a1", "a2"], "pending", now) == 2
    assert store.enqueue_deliveries("sub-1", ["a1", "a3"], "pending", now) == 1
    assert [d.article_id for d in store.list_deliveries("sub-1")] == ["a2", "a1", "a3"]
    assert [d.article_id for d in store.due_deliveries(now)] == ["a2", "a1", "a3"]
    # A claim is a lease: a second worker cannot take the same delivery until it runs out.
    lease = now + timedelta(minutes=1)
    assert store.claim_delivery("sub-1", "a2", now, lease) is True
    assert store.claim_delivery("sub-1", "a2", now, lease) is False
    assert [d.article_id for d in store.due_deliveries(now)] == ["a1", "a3"]
    delivered = next(d for d in store.list_deliveries("sub-1") if d.article_id == "a2")
    delivered.status, delivered.attempts, delivered.delivered_at, delivered.last_http_status = "delivered", 1, now, 200
    store.record_delivery_attempt(delivered, DeliveryLogEntry("sub-1", "a2", 1, now, 200, None, 12))
    assert [d.article_id for d in store.list_deliveries("sub-1", status="delivered")] == ["a2"]
    assert [(e.article_id, e.http_status) for e in store.delivery_log("sub-1")] == [("a2", 200)]
    store.remove_subscription("sub-1")
    assert store.list_subscriptions() == [] and store.list_deliveries("sub-1") == [] and store.delivery_log("sub-1") == []
    with pytest.raises(NotFoundError):
        store.remove_subscription("sub-1")
    with pytest.raises(NotFoundError):
        store.get_subscription("sub-1")


def test_ids_passing_filters_judges_filters_exactly_as_search_does(store):
    from newsloom.search import parse_query

    day = datetime(2024, 3, 25, tzinfo=timezone.utc)

    def article(n: int, site: str, language: str, **fields) -> Article:
        url = f"https://{site}/{n}"
        text = f"Report {n} on the harbour talks."
        return Article(id=article_id_for(url, text), title=f"Report {n}", paragraphs=[text], url=url,
                       canonical_url=url, site=site, language=language, **fields)

    articles = [
        article(1, "a.example", "en-GB", published_at=day, published_at_source="meta",
                entities=[EntityMention("Hamas", "ORG")]),
        article(2, "b.example", "fr", published_at=day + timedelta(days=3), published_at_source="meta",
                author="Jane Roe"),
        article(3, "a.example", "en"),  # undated: the store dates it by its ingest time
    ]
    store.upsert_articles(articles)
    ids = [a.id for a in articles] + ["no-such-article"]
    for query in ['entity:"Hamas"', "site:a.example", "lang:en", "author:roe", "after:2024-03-26",
                  "before:2024-03-26", "site:a.example lang:en after:2000-01-01"]:
        expected = {hit.article.id for hit in store.search(query, limit=100)}
        assert expected, query
        assert store.ids_passing_filters(ids, parse_query(query)) == expected, query
    assert store.ids_passing_filters(ids[:2], parse_query("harbour")) == set(ids[:2])  # words are not filters
