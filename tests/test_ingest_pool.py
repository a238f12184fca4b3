"""Enrichment in a long-lived worker pool, overlapped with the main process's stages: same results, same safety.

- an ingest with 2 enrichment workers stores exactly what the in-process ingest stores, batch after batch;
- batches commit in order, and a batch that fails commits nothing after it (in-flight batches are dropped, as in a
  crash), and the workers are stopped;
- exact copies reuse the enrichment of their original, with the result equal to enriching them afresh;
- workers exit when their parent is SIGKILLed (no orphans), and a killed `newsloom ingest --workers 2` loses nothing
  it committed and duplicates nothing once rerun.
"""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from newsloom.enrich import EnrichmentCache, start_enrich
from newsloom.pipeline import ingest_articles
from newsloom.sources.files import article_from_record
from newsloom.stages import Batch, EnrichStage, default_stages
from newsloom.store import SQLiteStore

from .corpus import article_record


def _articles(count: int, seed: int = 7) -> list:
    rng = random.Random(seed)
    return [article_from_record(article_record(number, rng), "test") for number in range(count)]


def _stored(db: Path) -> list[dict]:
    with sqlite3.connect(db) as connection:
        ids = [row[0] for row in connection.execute("SELECT id FROM articles ORDER BY id")]
    store = SQLiteStore(db)
    try:
        rows = [store.get_article(article_id).to_dict() for article_id in ids]
    finally:
        store.close()
    for row in rows:
        row.pop("ingested_at", None)
    return rows


def _ingest(db: Path, articles: list, n_process: int) -> None:
    store = SQLiteStore(db)
    try:
        stages = default_stages(entities=False, n_process=n_process, embeddings=False)
        ingest_articles(articles, store, stages=stages, batch_size=80)
    finally:
        store.close()


@pytest.mark.slow
def test_two_workers_store_what_one_process_stores(tmp_path: Path) -> None:
    articles = _articles(400)
    articles += [replace(a, id=a.id + "-copy", url=(a.url or "") + "?copy=1", canonical_url=None) for a in articles[:30]]
    _ingest(tmp_path / "one.db", articles, n_process=1)
    _ingest(tmp_path / "two.db", articles, n_process=2)
    one, two = _stored(tmp_path / "one.db"), _stored(tmp_path / "two.db")
    assert len(one) == len(articles)
    assert two == one


class _Failing:
    """A stage after enrichment that fails on its third batch."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, batch: Batch, store: object) -> None:
        self.calls += 1
        if self.calls == 3:
            raise RuntimeError("stage failed")


@pytest.mark.slow
def test_a_failing_batch_commits_nothing_after_it_and_stops_the_workers(tmp_path: Path) -> None:
    enrich_stage = EnrichStage(entities=False, n_process=2)
    store = SQLiteStore(tmp_path / "fail.db")
    try:
        with pytest.raises(RuntimeError, match="stage failed"):
            ingest_articles(_articles(400), store, stages=[enrich_stage, _Failing()], batch_size=80)
        assert store.stats().articles == 160  # the first two batches, committed before the third failed
    finally:
        store.close()
    assert enrich_stage._pool is None


def test_exact_copies_reuse_the_enrichment_of_their_original() -> None:
    originals = _articles(6)
    copies = [replace(a, id=a.id + "-copy", url="https://copies.example/" + a.id) for a in originals[:3]]
    cache = EnrichmentCache(size=4)
    first = start_enrich(originals, entities=False, cache=cache).result()
    again = start_enrich(copies + [originals[5]], entities=False, cache=cache).result()
    assert cache.hits == 2  # a cache of 4 holds originals 2-5: copies[2] and originals[5] hit, copies 0-1 do not
    fresh = start_enrich(copies, entities=False).result()
    assert [a.to_dict() for a in again[:3]] == [a.to_dict() for a in fresh]
    assert again[3].keyphrases == first[5].keyphrases and again[3].summary == first[5].summary
    assert again[3].keyphrases is not first[5].keyphrases  # records never share a mutable list
    # Within one call, identical inputs are enriched once, and each article keeps its own id and URL.
    twice = start_enrich([originals[0], copies[0]], entities=False).result()
    assert twice[0].keyphrases == twice[1].keyphrases and twice[1].id == copies[0].id


_ORPHAN_SCRIPT = """
import time
from newsloom.enrich import EnrichmentPool
executor = EnrichmentPool(2, run_entities=False)._executor
for future in [executor.submit(time.sleep, 0.5) for _ in range(2)]:
    future.result()
print(" ".join(str(pid) for pid in executor._processes), flush=True)
time.sleep(60)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to watch the workers")
def test_workers_exit_when_their_parent_is_killed() -> None:
    parent = subprocess.Popen([sys.executable, "-c", _ORPHAN_SCRIPT], stdout=subprocess.PIPE, text=True)
    try:
        workers = [int(pid) for pid in parent.stdout.readline().split()]  # type: ignore[union-attr]
        assert len(workers) == 2 and all(_alive(pid) for pid in workers)
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    deadline = time.monotonic() + 15
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in workers)


@pytest.mark.slow
@pytest.mark.reliability
def test_killed_ingest_with_workers_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    rng = random.Random(11)
    records = [article_record(number, rng) for number in range(1200)]
    inputs = tmp_path / "in.jsonl"
    inputs.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    db = tmp_path / "kill.db"
    command = [sys.executable, "-m", "newsloom", "--db", str(db), "ingest", str(inputs), "--no-entities",
               "--no-embeddings", "--workers", "2", "--batch-size", "100"]
    wal = db.with_name(db.name + "-wal")
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while process.poll() is None and not (wal.exists() and wal.stat().st_size > 0) and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(1.0)  # a few batches in: some committed, some in the workers' hands
    process.send_signal(signal.SIGKILL)
    process.wait()
    committed = {row["url"]: row["text"] for row in _stored(db)} if db.exists() else {}
    subprocess.run(command, check=True, capture_output=True, timeout=300)
    final = _stored(db)
    urls = [row["url"] for row in final]
    assert len(urls) == len(set(urls)) == len(records)
    by_url = {row["url"]: row["text"] for row in final}
    assert all(by_url[url] == text for url, text in committed.items())
