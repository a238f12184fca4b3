"""spark-ingest over WARC/WET shards with Spark local[2], then load-parquet into SQLite and PostgreSQL.

The shards are written here from real pages: the Scrapinghub benchmark HTML pages (tests/fixtures/html/scrapinghub,
MIT) as HTTP response records and the flattened pages (tests/fixtures/text) as WET conversion records. Two
syndicated copies sit in other shards than their originals, so only the global LSH band join can find them, and
one exact copy sits in the same shard as its original (the per-partition dedup finds it). The third shard is given
as a file:// URL, so Spark's own file reading (binaryFiles) is exercised next to local paths.

One SparkSession serves the module (starting the JVM is the slow part).
"""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from newsloom.pipeline import ingest_paths
from newsloom.stages import DedupStage
from newsloom.store import open_store

pytestmark = [pytest.mark.spark, pytest.mark.slow]

FIXTURES = Path(__file__).resolve().parent / "fixtures"
CRAWLED = datetime(2024, 3, 5, 12, 0, tzinfo=timezone.utc)


def _spark_available() -> str | None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (the 'spark' extra: pip install 'newsloom[spark]'; make install does it)"
    from newsloom.scale.spark import _java_available

    if not _java_available():
        return "no Java runtime for Spark (Debian package default-jre-headless; make install installs it)"
    return None


def html_pages() -> list[tuple[str, bytes]]:
    folder = FIXTURES / "html" / "scrapinghub"
    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for path in sorted(folder.glob("*.html.gz")):
        item = path.name.removesuffix(".html.gz")
        pages.append((truth[item]["url"], gzip.decompress(path.read_bytes())))
    return pages


def text_pages() -> list[tuple[str, str]]:
    folder = FIXTURES / "text" / "scrapinghub"
    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    return [(truth[path.stem]["url"], path.read_text(encoding="utf-8")) for path in sorted(folder.glob("*.txt"))]


def syndicated_copy(text: str) -> str:
    """What a partner site publishes: the same page with a block dropped and its own credit line added."""
    blocks = [block for block in text.split("\n\n") if block.strip()]
    longest = max(range(len(blocks)), key=lambda i: len(blocks[i]))
    dropped = next((i for i in range(longest + 1, len(blocks)) if len(blocks[i].split()) >= 8), None)
    kept = [block for i, block in enumerate(blocks) if i != dropped]
    return "\n\n".join(kept + ["Distributed by the Example Wire syndication service."])


def write_shards(folder: Path) -> dict[str, object]:
    """Three shards; returns their paths and the URLs of the planted copies."""
    from newsloom.sources.warc import WarcPage, write_warc

    html, texts = html_pages(), text_pages()
    half = len(html) // 2
    wet = lambda url, text: WarcPage(url, text.encode("utf-8"), CRAWLED, wet=True)  # noqa: E731
    shard_a = [WarcPage(url, body, CRAWLED) for url, body in html[:half]] + [wet(u, t) for u, t in texts[:5]]
    shard_a.append(wet("https://mirror.example.org/same-page", texts[1][1]))  # exact copy, same shard
    shard_b = [WarcPage(url, body, CRAWLED) for url, body in html[half:]] + [wet(u, t) for u, t in texts[5:]]
    shard_b.append(wet("https://partner.example.net/wire/story-0", syndicated_copy(texts[0][1])))
    flattened = (FIXTURES / "text" / "flattened-news-page.txt").read_text(encoding="utf-8")
    shard_c = [wet("https://news.example.com/flattened", flattened),
               wet("https://partner.example.net/wire/story-2", syndicated_copy(texts[2][1]))]
    paths = {name: folder / name for name in ("a.warc.gz", "b.warc.gz", "c.wet.gz")}
    for name, pages in zip(paths, (shard_a, shard_b, shard_c)):
        write_warc(paths[name], pages)
    return {
        "paths": paths,
        "copies": {
            "https://partner.example.net/wire/story-0": texts[0][0],
            "https://partner.example.net/wire/story-2": texts[2][0],
            "https://mirror.example.org/same-page": texts[1][0],
        },
    }


@pytest.fixture(scope="module")
def spark():
    reason = _spark_available()
    if reason:
        pytest.skip(reason)
    from newsloom.scale.spark import spark_session

    session = spark_session("local[2]", partitions=4, app_name="newsloom tests")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def ingested(spark, tmp_path_factory):
    from newsloom.scale.spark import SparkIngestOptions, spark_ingest

    folder = tmp_path_factory.mktemp("spark")
    shards = write_shards(folder)
    paths = shards["paths"]
    inputs = [str(paths["a.warc.gz"]), str(paths["b.warc.gz"]), paths["c.wet.gz"].resolve().as_uri()]
    output = folder / "out"
    report = spark_ingest(inputs, output, SparkIngestOptions(partitions=2), spark=spark)
    return {"report": report, "output": output, "folder": folder, **shards}


def parquet_rows(output: Path) -> list[dict]:
    import pyarrow.parquet as pq

    rows: list[dict] = []
    for path in sorted((output / "articles").glob("*.parquet")):
        rows.extend(pq.read_table(path).to_pylist())
    return rows


def test_parquet_holds_every_article_with_all_fields(ingested):
    from newsloom.model import Article
    from newsloom.scale.parquet import ARTICLE_COLUMNS

    rows = parquet_rows(ingested["output"])
    report = ingested["report"]
    # The same records through the local pipeline's extraction: every article that extracts must be there once.
    local = open_store(":memory:")
    ingest_paths([p for p in ingested["paths"].values()], local, stages=[])
    expected = local.stats().articles
    local.close()
    assert len(rows) == report.articles == expected >= 25
    assert len({row["id"] for row in rows}) == len(rows)
    assert set(ARTICLE_COLUMNS) <= set(rows[0])
    assert set(ARTICLE_COLUMNS) - {"signature"} <= set(Article.__dataclass_fields__)
    assert all(row["signature"] for row in rows)
    assert all(row["paragraphs"] and row["title"] is not None for row in rows)
    assert any(row["keyphrases"] for row in rows) and any(row["summary"] for row in rows)
    from newsloom.enrich import entities_available

    if entities_available():  # spaCy runs inside the Spark tasks, as in a local ingest
        assert sum(bool(row["entities"]) for row in rows) >= len(rows) // 2
        assert all({"name", "type", "count"} <= set(e) for row in rows for e in row["entities"])
    assert {row["source"].split("@")[0].rsplit("/", 1)[-1] for row in rows} == {"a.warc.gz", "b.warc.gz", "c.wet.gz"}
    assert all(row["fetched_at"] == CRAWLED for row in rows)
    manifest = json.loads((ingested["output"] / "_newsloom.json").read_text())
    assert manifest["report"]["articles"] == len(rows)


def test_copies_are_found_within_and_across_shards(ingested):
    rows = parquet_rows(ingested["output"])
    by_url = {row["url"]: row for row in rows}
    by_id = {row["id"]: row for row in rows}
    for copy_url, original_url in ingested["copies"].items():
        copy, original = by_url[copy_url], by_url[original_url]
        group = {copy["duplicate_of"] or copy["id"], original["duplicate_of"] or original["id"]}
        assert len(group) == 1, (copy_url, original_url)  # one canonical for both
    across = [row for row in rows if row["duplicate_of"]
              and row["source"].split("@")[0] != by_id[row["duplicate_of"]]["source"].split("@")[0]]
    assert len(across) >= 2  # the two syndicated copies live in other shards than their originals
    report = ingested["report"]
    assert report.duplicates == sum(row["duplicate_of"] is not None for row in rows) == 3
    assert report.local_duplicates >= 1 and report.verified_pairs >= 2
    import pyarrow.parquet as pq

    table = pq.read_table(ingested["output"] / "duplicates").to_pylist()
    copies = {(r["id"], r["duplicate_of"]) for r in rows if r["duplicate_of"]}
    assert {(r["id"], r["duplicate_of"]) for r in table} == copies


def test_groups_match_the_local_pipeline(ingested):
    """The same shards through a local ingest (the DedupStage alone) give the same groups of copies."""
    store = open_store(":memory:")
    ingest_paths([p for p in ingested["paths"].values()], store, stages=[DedupStage()])
    rows = parquet_rows(ingested["output"])
    local = {a.id: a.duplicate_of or a.id for a in store.get_articles([row["id"] for row in rows])}
    store.close()
    assert len(local) == len(rows)
    spark = {row["id"]: row["duplicate_of"] or row["id"] for row in rows}

    def groups(canonical_of: dict[str, str]) -> set[frozenset[str]]:
        found: dict[str, set[str]] = {}
        for article_id, canonical in canonical_of.items():
            found.setdefault(canonical, set()).add(article_id)
        return {frozenset(members) for members in found.values()}

    assert groups(spark) == groups(local)


def test_rows_are_in_publication_order(ingested):
    rows = parquet_rows(ingested["output"])
    dated = [row["published_at"] for row in rows if row["published_at"] is not None]
    assert dated == sorted(dated) and dated
    first_undated = next((i for i, row in enumerate(rows) if row["published_at"] is None), len(rows))
    assert all(row["published_at"] is None for row in rows[first_undated:])
    position = {row["id"]: i for i, row in enumerate(rows)}
    assert all(position[row["duplicate_of"]] < position[row["id"]] for row in rows if row["duplicate_of"])


def test_output_is_not_overwritten_by_default(ingested, spark):
    from newsloom.errors import InputError
    from newsloom.scale.spark import spark_ingest

    with pytest.raises(InputError, match="overwrite"):
        spark_ingest([str(ingested["paths"]["a.warc.gz"])], ingested["output"], spark=spark)


def _check_loaded(store, rows, report) -> None:
    stats = store.stats()
    assert stats.articles == len(rows) == report.articles
    assert stats.canonical_articles == len(rows) - sum(r["duplicate_of"] is not None for r in rows)
    assert report.duplicates == 3 and report.stories >= 1
    stories = store.top_stories(limit=1000)
    assert stories and sum(s.article_count for s in stories) == stats.canonical_articles
    loaded = store.get_articles([r["id"] for r in rows])
    assert all(a.story_id for a in loaded)  # copies join their canonical's story
    by_id = {a.id: a for a in loaded}
    for row in rows:
        if row["duplicate_of"]:
            assert by_id[row["id"]].duplicate_of == row["duplicate_of"]
            assert by_id[row["id"]].story_id == by_id[row["duplicate_of"]].story_id
    # The signatures came along: the store's dedup index knows every article, and a later ingest dedups against it.
    assert len(list(store.dedup_rows())) == len(rows)


def _later_copy_is_marked(store, ingested, rows) -> None:
    """An incremental ingest after the load finds that a new page copies a loaded article."""
    from newsloom.model import RawDocument
    from newsloom.extract import extract
    from newsloom.pipeline import ingest_articles

    original_url, original_text = text_pages()[4]
    copy = extract(RawDocument(syndicated_copy(original_text).encode(), "text/plain",
                               url="https://late.example.com/copy", headers={"content-type": "text/plain"}))
    ingest_articles([copy], store, [DedupStage()])
    original = next(r for r in rows if r["url"] == original_url)
    assert store.get_article(copy.id).duplicate_of == (original["duplicate_of"] or original["id"])


def test_load_parquet_into_sqlite(ingested, tmp_path):
    from click.testing import CliRunner

    from newsloom.cli import main

    db = tmp_path / "loaded.db"
    result = CliRunner().invoke(main, ["--db", str(db), "load-parquet", str(ingested["output"])])
    assert result.exit_code == 0, result.output
    assert "loaded" in result.output
    rows = parquet_rows(ingested["output"])
    from newsloom.scale import load_parquet

    store = open_store(db)
    try:
        again = load_parquet(ingested["output"], store)  # a second load changes nothing
        assert again.stored.inserted == 0 and again.stored.updated == 0
        _check_loaded(store, rows, again)
        _later_copy_is_marked(store, ingested, rows)
    finally:
        store.close()


@pytest.mark.postgres
def test_load_parquet_into_postgres(ingested):
    from newsloom.scale import load_parquet

    from .postgres_server import fresh_database, postgres_server

    rows = parquet_rows(ingested["output"])
    with postgres_server() as server:
        dsn = fresh_database(server)
        store = open_store(dsn)
        try:
            report = load_parquet(ingested["output"], store, batch_size=7)  # several batches, stories streamed
            assert report.stored.inserted == len(rows)
            _check_loaded(store, rows, report)
            _later_copy_is_marked(store, ingested, rows)
        finally:
            store.close()


def test_cli_spark_ingest_runs_end_to_end(spark, tmp_path):
    """The command itself, on one shard (it reuses the module's running SparkSession)."""
    from click.testing import CliRunner

    from newsloom.cli import main

    from newsloom.sources.warc import WarcPage, write_warc

    shard = tmp_path / "one.wet.gz"
    write_warc(shard, [WarcPage(url, text.encode(), CRAWLED, wet=True) for url, text in text_pages()[:3]])
    result = CliRunner().invoke(main, ["spark-ingest", str(shard), "--output", str(tmp_path / "out"),
                                       "--master", "local[2]", "--no-entities"])
    assert result.exit_code == 0, result.output
    assert "3 articles" in result.output
    assert len(parquet_rows(tmp_path / "out")) == 3


def test_damaged_shard_is_reported_not_fatal(spark, tmp_path):
    from newsloom.scale.spark import SparkIngestOptions, spark_ingest
    from newsloom.sources.warc import WarcPage, write_warc

    good = tmp_path / "good.wet.gz"
    write_warc(good, [WarcPage(url, text.encode(), CRAWLED, wet=True) for url, text in text_pages()[:2]])
    damaged = tmp_path / "damaged.warc.gz"
    data = good.read_bytes()
    damaged.write_bytes(data[: len(data) - 40])  # a truncated download
    report = spark_ingest([str(good), str(damaged)], tmp_path / "out", SparkIngestOptions(entities=False), spark=spark)
    assert report.articles == 2  # the damaged shard's whole records still count once (same ids as the good one)
    assert report.errors >= 1 and any("truncated" in message for _, message in report.error_samples)
    with pytest.raises(Exception, match="no such WARC"):
        spark_ingest([str(tmp_path / "missing.warc.gz")], tmp_path / "out2", spark=spark)
