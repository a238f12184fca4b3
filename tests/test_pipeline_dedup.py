"""Duplicates through the real pipeline and store: syndicated copies point at the earliest source, across runs."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from newsloom.pipeline import ingest_articles
from newsloom.sources.files import article_from_record
from newsloom.stages import DedupStage
from newsloom.store import SQLiteStore

FIXTURE = Path(__file__).parent / "fixtures" / "text" / "flattened-news-page.txt"
DAY = datetime(2024, 3, 26, 9, 0, tzinfo=timezone.utc)


def body() -> str:
    blocks = FIXTURE.read_text(encoding="utf-8").split("\n\n")
    return "\n\n".join(b for b in blocks[3:12])


def record(url: str, text: str, published_at: datetime | None, title: str = "Netanyahu calls off Rafah talks"):
    return article_from_record(
        {"url": url, "title": title, "text": text,
         "published_at": published_at.isoformat() if published_at else None}, "test")


def syndicated_copy() -> str:
    paragraphs = body().split("\n\n")
    # A wire copy: a paragraph dropped, one edited, the outlet's boilerplate added.
    edited = paragraphs[:5] + paragraphs[6:]
    edited[1] = edited[1].replace("American officials warned", "U.S. officials cautioned")
    return "\n\n".join(edited + ["Follow our live coverage for updates. Sign up for the morning briefing."])


def test_copies_point_at_the_earliest_source_and_survive_a_restart(tmp_path):
    db = tmp_path / "d.db"
    original = record("https://wire.example/rafah", body(), DAY)
    copy = record("https://paper.example/world/rafah-talks", syndicated_copy(), DAY + timedelta(hours=3))
    other = article_from_record({"url": "https://other.example/x", "title": "Harbour strike ends",
                                 "text": "Dock workers returned to work after a deal on pay was agreed."}, "test")
    store = SQLiteStore(db)
    ingest_articles([original, other], store, stages=[DedupStage()])
    store.close()
    # A new process: the duplicate index is rebuilt from stored signatures, not from the texts.
    store = SQLiteStore(db)
    ingest_articles([copy], store, stages=[DedupStage()])
    assert store.get_article(copy.id).duplicate_of == original.id
    assert store.get_article(original.id).duplicate_of is None
    assert [a.id for a in store.copies_of(original.id)] == [copy.id]
    assert copy.id not in {a.id for a in store.latest_articles(limit=10)}  # copies never listed twice
    # An even older copy arrives late: it becomes the canonical and the group is re-pointed to it.
    earliest = record("https://agency.example/first", syndicated_copy(), DAY - timedelta(hours=5))
    ingest_articles([earliest], store, stages=[DedupStage()])
    assert store.get_article(earliest.id).duplicate_of is None
    assert store.get_article(original.id).duplicate_of == earliest.id
    assert store.get_article(copy.id).duplicate_of == earliest.id
    assert store.get_article(other.id).duplicate_of is None
    store.close()


def test_reingesting_adds_nothing_and_keeps_groups(tmp_path):
    store = SQLiteStore(tmp_path / "r.db")
    original = record("https://wire.example/rafah", body(), DAY)
    copy = record("https://paper.example/rafah", syndicated_copy(), DAY + timedelta(hours=1))
    first = ingest_articles([original, copy], store, stages=[DedupStage()])
    again = ingest_articles([original, copy], store, stages=[DedupStage()])
    assert (first.inserted, again.inserted, again.updated, again.unchanged) == (2, 0, 0, 2)
    assert store.get_article(copy.id).duplicate_of == original.id
    assert len(list(store.dedup_rows())) == 2
    store.close()


def test_dedup_cli_contract(tmp_path):
    import subprocess
    import sys

    source = tmp_path / "in.jsonl"
    lines = [
        {"id": "a", "url": "https://wire.example/a", "title": "Rafah talks off", "text": body(),
         "published_at": "2024-03-26T09:00:00Z"},
        {"id": "b", "title": "Rafah talks off", "text": syndicated_copy(), "published_at": "2024-03-26T12:00:00Z"},
        {"id": "c", "text": "Dock workers returned to work after a deal on pay was agreed."},
    ]
    source.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    out = tmp_path / "out.jsonl"
    result = subprocess.run([sys.executable, "-m", "newsloom", "dedup", str(source), "--out", str(out)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert [json.loads(line) for line in out.read_text().splitlines()] == [
        {"id": "a", "duplicate_of": None}, {"id": "b", "duplicate_of": "a"}, {"id": "c", "duplicate_of": None}]
    source.write_text('{"id": "a", "text": "x"}\n{broken\n')
    result = subprocess.run([sys.executable, "-m", "newsloom", "dedup", str(source), "--out", str(out)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "line 2" in result.stderr


def test_reader_shows_also_published_by(tmp_path):
    from fastapi.testclient import TestClient

    from newsloom.web import create_app

    store = SQLiteStore(tmp_path / "w.db")
    original = record("https://wire.example/rafah", body(), DAY)
    copy = record("https://paper.example/rafah", syndicated_copy(), DAY + timedelta(hours=1))
    ingest_articles([original, copy], store, stages=[DedupStage()])
    client = TestClient(create_app(store))
    page = client.get(f"/articles/{original.id}").text
    assert "Also published by" in page and f"/articles/{copy.id}" in page
    copy_page = client.get(f"/articles/{copy.id}").text
    assert "This page is a copy of" in copy_page and f"/articles/{original.id}" in copy_page
    api = client.get(f"/api/articles/{original.id}/copies").json()
    assert [a["id"] for a in api["articles"]] == [copy.id]
    store.close()


def test_story_state_survives_runs(tmp_path):
    """Clustering in two runs (the state saved and reloaded between them) gives what one continuous run gives."""
    from newsloom.stages import StoriesStage

    sample = Path(__file__).parent / "fixtures" / "news" / "ecbplus-sample.jsonl"
    reports = [json.loads(line) for line in sample.read_text(encoding="utf-8").splitlines() if line.strip()]

    def articles():
        return [record(r["url"] or f"https://ecb.example/{n}", r["text"], DAY + timedelta(hours=n), title=r["title"])
                for n, r in enumerate(reports)]

    def grouping(store):
        stories = {}
        for article in store.latest_articles(limit=100):
            stories.setdefault(article.story_id, set()).add(article.url)
        return sorted(sorted(group) for group in stories.values())

    one_run = SQLiteStore(tmp_path / "one.db")
    ingest_articles(articles(), one_run, stages=[DedupStage(), StoriesStage()])
    expected = grouping(one_run)
    assert 1 < len(expected) < len(reports)
    one_run.close()
    split = len(reports) - 3
    first = SQLiteStore(tmp_path / "two.db")
    ingest_articles(articles()[:split], first, stages=[DedupStage(), StoriesStage()])
    first.close()
    second = SQLiteStore(tmp_path / "two.db")  # a new process would see only what was committed
    ingest_articles(articles()[split:], second, stages=[DedupStage(), StoriesStage()])
    assert grouping(second) == expected
    assert sum(s.article_count for s in second.top_stories(limit=100)) == len(reports)
    second.close()


def test_a_restart_reads_full_signatures_only_for_the_retention_window(any_store):
    import random

    rng = random.Random(11)
    words = [f"w{n}" for n in range(4000)]

    def story(n: int) -> str:
        return " ".join(rng.choice(words) for _ in range(150)) + f" Story {n}."

    texts = [story(n) for n in range(40)]
    first_run = [record(f"https://a.example/{n}", text, DAY + timedelta(days=3 * n), title=f"Story {n}")
                 for n, text in enumerate(texts)]  # 40 articles over 117 days
    ingest_articles(first_run, any_store, stages=[DedupStage()])
    rows = list(any_store.dedup_rows(retention_days=30))
    assert sum(len(signature) > 100 for _, signature, _, _ in rows) == 11  # the last 30 days: days 87..117
    # A new process: only the window is loaded in full; older articles keep what exact matching needs.
    stage = DedupStage()
    reprint = record("https://b.example/reprint", texts[0], DAY + timedelta(days=120), title="Story 0")
    near = texts[-1].replace(texts[-1].split()[10], "changed", 1) + " Reporting by a wire."
    late_copy = record("https://b.example/near", near, DAY + timedelta(days=118), title="Story 39, updated")
    ingest_articles([reprint, late_copy], any_store, stages=[stage])
    assert stage._index.retired == 29 and stage._index.live == 11 + 2
    assert any_store.get_article(reprint.id).duplicate_of == first_run[0].id
    assert any_store.get_article(late_copy.id).duplicate_of == first_run[-1].id
