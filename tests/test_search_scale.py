"""Search at scale (SQLite): the fast query plans give the same answers as scoring every match.

The thresholds that switch plans (EXACT_MATCH_LIMIT, the per-word lists of refresh_search_index) are lowered here so a
few hundred articles take the paths a million would; each answer is compared with the exhaustive plan's.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from newsloom.model import Article, EntityMention, article_id_for
from newsloom.search import fts5_match, parse_query
from newsloom.store import SQLiteStore
from newsloom.store import sqlite as sqlite_store
from newsloom.store.base import BatchExtras
from newsloom.store.filters import filter_conditions
from newsloom.subscriptions import MATCH_WINDOW, create_subscription, matching_articles

START = datetime(2024, 1, 1, tzinfo=UTC)
SITES = ["a.example", "b.example", "c.example", "d.example"]
FILLER = ["council", "budget", "weather", "harbour", "report", "road", "school", "train", "museum", "river"]


def _article(n: int, rng: random.Random) -> Article:
    """Article n: "market" in some titles and bodies, a varied number of times, among filler words."""
    words = [rng.choice(FILLER) for _ in range(rng.randrange(20, 120))]
    for _ in range(rng.choice([0, 0, 1, 1, 2, 3, 6])):
        words.insert(rng.randrange(len(words)), "market")
    if n % 9 == 0:
        words.append("football")
    title = f"{'Market' if n % 5 == 0 else 'Local'} news {n}"
    url = f"https://{SITES[n % 4]}/{n}"
    text = " ".join(words)
    return Article(
        id=article_id_for(url, text), title=title, paragraphs=[text], url=url, canonical_url=url, site=SITES[n % 4],
        language="fr" if n % 3 == 0 else "en", published_at=START + timedelta(hours=7 * n),
        published_at_source="meta", entities=[EntityMention("Market Traders", "ORG")] if n % 7 == 0 else [],
    )


@pytest.fixture
def store(tmp_path):
    rng = random.Random(7)
    articles = [_article(n, rng) for n in range(400)]
    for n in range(0, 400, 13):  # some copies of earlier articles, collapsed by search
        if n:
            articles[n].duplicate_of = articles[n - 1].id
    s = SQLiteStore(tmp_path / "scale.db")
    s.upsert_articles(articles)
    yield s
    s.close()


def _exhaustive(store, monkeypatch, query, **kwargs):
    """The answer of the plan that scores every match (no stored lists, no shortcuts)."""
    with monkeypatch.context() as patch:
        patch.setattr(sqlite_store, "EXACT_MATCH_LIMIT", 10**9)
        return [(hit.article.id, round(hit.score, 9)) for hit in store.search(query, **kwargs)]


def _fast(store, monkeypatch, query, **kwargs):
    with monkeypatch.context() as patch:
        patch.setattr(sqlite_store, "EXACT_MATCH_LIMIT", 0)
        return [(hit.article.id, round(hit.score, 9)) for hit in store.search(query, **kwargs)]


QUERIES = ["market", "market -football", "market site:b.example", "market lang:fr",
           "market after:2024-02-01 before:2024-03-15", 'market entity:"Market Traders"', "market OR football"]


def _oracle_scores(store, query):
    """Independent of the store's plans: one SQL join of every canonical match passing the filters, id -> score."""
    parsed = parse_query(query)
    conditions, params = filter_conditions(parsed, "?")
    where = " AND ".join(["articles_fts MATCH ?", "a.duplicate_of IS NULL", *conditions])
    rows = store._read(f"SELECT a.id, -bm25(articles_fts, 10.0, 1.0) FROM articles_fts JOIN articles a "
                       f"ON a.rowid = articles_fts.rowid WHERE {where}", [fts5_match(parsed), *params])
    return {row[0]: round(row[1], 9) for row in rows}


@pytest.mark.parametrize("per_term", [15, 60, 1000])
def test_stored_lists_rank_like_scoring_every_match(store, monkeypatch, per_term):
    assert store.refresh_search_index(min_docs=10, per_term=per_term) >= 1
    for query in QUERIES:
        oracle = _oracle_scores(store, query)  # (no entity here is named like a query word: no boost)
        best = sorted(oracle.values(), reverse=True)
        for offset in (0, 7):
            expected = _exhaustive(store, monkeypatch, query, limit=10, offset=offset)
            assert expected, query
            assert [score for _, score in expected] == best[offset : offset + 10], (query, offset)
            assert all(oracle[article_id] == score for article_id, score in expected), (query, offset)
            assert _fast(store, monkeypatch, query, limit=10, offset=offset) == expected, (query, offset)


def test_an_unfiltered_frequent_word_is_answered_from_its_list(store, monkeypatch):
    store.refresh_search_index(min_docs=10, per_term=200)
    expected = _exhaustive(store, monkeypatch, "market")

    def refuse(*args, **kwargs):
        raise AssertionError("scored every match instead of using the stored list")

    monkeypatch.setattr(SQLiteStore, "_best_by_scoring", refuse)
    assert _fast(store, monkeypatch, "market") == expected
    assert all(not store.get_article(article_id).duplicate_of for article_id, _ in expected)


@pytest.mark.parametrize("per_term", [30, 1000])  # a list too short to trust alone, and one holding every match
def test_articles_added_changed_or_repointed_after_a_refresh(store, monkeypatch, per_term):
    store.refresh_search_index(min_docs=10, per_term=per_term)
    best = store.search("market")[0].article
    newcomer = _article(1000, random.Random(1))
    newcomer.title, newcomer.paragraphs = "Market market market", ["market " * 40]
    store.upsert_articles([newcomer])
    changed = store.get_article(store.search("market")[2].article.id)
    changed.paragraphs, changed.title = ["nothing about trade here"], "Quiet day"
    store.upsert_articles([changed])
    store.upsert_articles([], extras=BatchExtras(repointed={best.id: newcomer.id}))  # best is now a copy

    fast = _fast(store, monkeypatch, "market", limit=30)
    exhaustive = _exhaustive(store, monkeypatch, "market", limit=30)
    ids = [article_id for article_id, _ in fast]
    assert ids == [article_id for article_id, _ in exhaustive]
    # Listed scores were computed at the refresh; the corpus grew since, which moves BM25 a little.
    assert [score for _, score in fast] == pytest.approx([score for _, score in exhaustive], rel=0.01)
    assert ids[0] == newcomer.id
    assert changed.id not in ids and best.id not in ids


def test_sort_by_date_walks_newest_first(store, monkeypatch):
    monkeypatch.setattr(sqlite_store, "EXACT_MATCH_LIMIT", 0)
    for query in ["market sort:date", "market site:c.example sort:date", "football sort:date", "lang:fr sort:date"]:
        hits = store.search(query, limit=15, offset=3)
        times = [hit.article.published_at for hit in hits]
        assert len(hits) == 15 and times == sorted(times, reverse=True), query
        every = store.search(query, limit=500)
        assert [h.article.id for h in every][3:18] == [h.article.id for h in hits]
        assert all(h.article.duplicate_of is None for h in every)


def test_query_subscriptions_follow_the_newest_matches_not_the_best(tmp_path):
    store = SQLiteStore(tmp_path / "subs.db")
    old = []
    for n in range(MATCH_WINDOW + 20):  # strong, older matches: "rafah" in the title and all over the body
        url = f"https://old.example/{n}"
        text = "Rafah rafah rafah crossing rafah " + str(n)
        old.append(Article(id=article_id_for(url, text), title=f"Rafah rafah {n}", paragraphs=[text], url=url,
                           canonical_url=url, site="old.example", published_at=START + timedelta(hours=n)))
    store.upsert_articles(old)
    subscription = create_subscription(store, "query", "rafah", webhook_url=None)
    url = "https://new.example/1"
    text = "A long report on many things; one line mentions rafah once, among other places and other news."
    weak_but_new = Article(id=article_id_for(url, text), title="Regional roundup", paragraphs=[text], url=url,
                           canonical_url=url, site="new.example", published_at=START + timedelta(days=60))
    store.upsert_articles([weak_but_new])
    assert weak_but_new.id not in [h.article.id for h in store.search("rafah", limit=MATCH_WINDOW)]
    assert matching_articles(store, subscription)[0].id == weak_but_new.id
    store.close()


def test_the_lists_go_stale_after_a_tenth_more_articles_and_reindex_refreshes_them(store, tmp_path):
    assert store.search_index_stale(min_docs=100)  # 400 articles, never refreshed
    assert not store.search_index_stale(min_docs=1000)  # too small a store for any word to need a list
    store.refresh_search_index(min_docs=100)
    assert not store.search_index_stale(min_docs=100)
    rng = random.Random(3)
    store.upsert_articles([_article(n, rng) for n in range(400, 449)])
    assert not store.search_index_stale(min_docs=100)  # 49 new: fewer than max(50, 400 / 10)
    store.upsert_articles([_article(449, rng)])
    assert store.search_index_stale(min_docs=100)


def test_reindex_command_refreshes_the_lists(tmp_path):
    import subprocess
    import sys

    db = tmp_path / "cli.db"
    s = SQLiteStore(db)
    rng = random.Random(5)
    s.upsert_articles([_article(n, rng) for n in range(50)])
    s.close()
    run = subprocess.run([sys.executable, "-m", "newsloom", "--db", str(db), "reindex"], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("refreshed the lists of 0 frequent words")  # no word is in 10,000 articles here
