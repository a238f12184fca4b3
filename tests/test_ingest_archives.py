"""WARC/WET ingest through the pipeline: resumable after SIGKILL, with nothing lost and nothing duplicated."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

pytest.importorskip("fastwarc", reason="WARC reading needs the sources extra (pip install 'newsloom[sources]')")

from newsloom.pipeline import ingest_paths  # noqa: E402
from newsloom.sources.warc import WarcPage, write_warc  # noqa: E402
from newsloom.store import SQLiteStore  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
CRAWLED = datetime(2024, 3, 26, 8, 0, tzinfo=timezone.utc)


def archive_pages(copies: int) -> list[WarcPage]:
    """Real pages: the pinned Scrapinghub HTML, and flattened pages as WET records under distinct URLs."""
    pages = []
    for path in sorted((FIXTURES / "html" / "scrapinghub").glob("*.html*")):
        import gzip

        content = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
        pages.append(WarcPage(f"https://pages.example/{path.name.split('.')[0]}", content, CRAWLED))
    texts = sorted((FIXTURES / "text").rglob("*.txt"))
    for copy in range(copies):
        for path in texts:
            pages.append(WarcPage(f"https://wet.example/{copy}/{path.stem}", path.read_bytes(), CRAWLED, wet=True))
    return pages


def stored_urls(db: Path) -> list[str]:
    with sqlite3.connect(db) as connection:
        return [row[0] for row in connection.execute("SELECT coalesce(canonical_url, url, id) FROM articles")]


def test_archive_ingest_keeps_fetch_time_apart_from_publication(tmp_path):
    archive = tmp_path / "crawl.warc.gz"
    write_warc(archive, archive_pages(copies=1))
    store = SQLiteStore(tmp_path / "a.db")
    report = ingest_paths([archive], store, stages=[])
    assert report.read > 15 and not report.errors
    articles = store.latest_articles(limit=500)
    assert all(a.fetched_at == CRAWLED for a in articles)
    assert all(a.published_at != CRAWLED for a in articles)  # the crawl time is never the publication date
    again = ingest_paths([archive], store, stages=[])
    assert again.read == 0  # the checkpoint says the whole archive is in
    store.close()


def test_truncated_archive_keeps_what_came_before(tmp_path):
    archive = tmp_path / "cut.warc.gz"
    offsets = write_warc(archive, archive_pages(copies=1))
    data = archive.read_bytes()
    archive.write_bytes(data[: offsets[10] + 200])  # cut inside the 11th record
    store = SQLiteStore(tmp_path / "t.db")
    report = ingest_paths([archive], store, stages=[])
    assert report.stored.inserted >= 9
    assert any("cut.warc.gz" in e.source for e in report.errors)
    store.close()


@pytest.mark.slow
@pytest.mark.reliability
def test_sigkill_mid_ingest_resumes_without_loss_or_duplicates(tmp_path):
    archive = tmp_path / "big.wet.gz"
    pages = archive_pages(copies=40)
    write_warc(archive, pages)
    db = tmp_path / "k.db"

    def ingest_command(target: Path) -> list[str]:
        return [sys.executable, "-m", "newsloom", "--db", str(target), "ingest", str(archive), "--no-entities",
                "--batch-size", "20"]

    command = ingest_command(db)
    # Reference: the same archive ingested without interruption.
    reference_db = tmp_path / "ref.db"
    subprocess.run(ingest_command(reference_db), check=True, capture_output=True, timeout=300)
    expected = sorted(stored_urls(reference_db))
    assert len(expected) > 400
    kills = 0
    for _ in range(3):
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        before = len(stored_urls(db)) if db.exists() else 0
        # Wait until this run has committed something new, then kill it without warning.
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if len(stored_urls(db)) > before + 20:
                    break
            except sqlite3.Error:
                pass
            time.sleep(0.05)
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            kills += 1
    assert kills >= 1, "the ingest finished before it could be interrupted"
    final = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, final.stderr
    urls = stored_urls(db)
    assert len(urls) == len(set(urls)), "an article was stored twice"
    assert sorted(urls) == expected, "an article was lost"
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        connection.execute("INSERT INTO articles_fts (articles_fts) VALUES ('integrity-check')")
