"""Scale-out throughput on this machine: the Spark path per core, and ingest into PostgreSQL.

    .venv/bin/python bench/spark.py                       # both parts, figures as a table
    .venv/bin/python bench/spark.py --part spark --copies 3 --json
    .venv/bin/python bench/spark.py --part postgres --articles 2000

Spark part: WARC shards written in a temporary folder from real pages (the 181 Scrapinghub benchmark pages,
../shared/data/extraction/scrapinghub, MIT; each page once, plus --copies re-crawls under other URLs: most pages
name their canonical URL, so a re-crawl is the same article id and is kept once), cut into --shards files.
``spark_ingest`` runs them in Spark local[1] and local[2] (a fresh JVM each, in a child process), without and
with named entities; the JVM start and a warm-up run are timed apart. Each configuration runs on one shard and
on all shards: the "marginal" row (the difference of the two) is the per-record throughput once the job's fixed
cost (about a dozen small Spark jobs) is paid. Anchors, same run, same files: the very task function Spark runs
(``process_shards``: iter_warc -> extract -> DedupStage -> EnrichStage) called in this process without Spark,
and a plain local ``ingest_paths`` into SQLite (which also builds stories and writes the store).

Load part: ``load_parquet`` of a spark-ingest output of the same pages into PostgreSQL (anchor: SQLite).

PostgreSQL part: --articles real local-news articles (../shared/data/news/gva-semeval2018-task5, evaluation
use) read through newsloom's JSONL reader, then ``ingest_articles`` with the default stages (dedup, enrich,
stories) into a fresh database of a throwaway PostgreSQL server (tests/postgres_server.py), without and with
entities; anchor: the same into SQLite.

The machine is shared: the load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
PAGES = SHARED / "extraction" / "scrapinghub"
GVA = SHARED / "news" / "gva-semeval2018-task5" / "gva_news.jsonl"
CRAWLED = datetime(2024, 3, 5, 12, 0, tzinfo=timezone.utc)
sys.path.insert(0, str(REPO))


# ------------------------------------------------------------------------------------------------ spark part


def write_shards(folder: Path, copies: int, shards: int) -> tuple[list[Path], int, int]:
    """Shards of HTTP response records; returns (paths, records, total bytes)."""
    from newsloom.sources.warc import WarcPage, write_warc

    truth = json.loads((PAGES / "ground-truth.json").read_text(encoding="utf-8"))
    pages = [(truth[i]["url"], gzip.decompress((PAGES / "html" / f"{i}.html.gz").read_bytes())) for i in sorted(truth)]
    records = [WarcPage(url if n == 0 else f"{url}{'&' if '?' in url else '?'}recrawl={n}", html, CRAWLED)
               for n in range(copies + 1) for url, html in pages]
    paths = []
    for shard in range(shards):
        path = folder / f"bench-{shard:03d}.warc.gz"
        write_warc(path, records[shard::shards])  # each copy of a page in another shard: the global join finds it
        paths.append(path)
    return paths, len(records), sum(p.stat().st_size for p in paths)


def spark_child(master: str, shards: list[str], out: str) -> dict:
    """Runs in a child process: one JVM for ``master``; warm-up, then timed runs without and with entities."""
    from newsloom.enrich import entities_available
    from newsloom.scale.spark import SparkIngestOptions, spark_ingest, spark_session

    cores = int(master[len("local["):-1])
    started = time.perf_counter()
    spark = spark_session(master, partitions=2 * cores, app_name="newsloom bench")
    result: dict = {"master": master, "session_s": round(time.perf_counter() - started, 1)}
    spark_ingest(shards[:1], f"{out}/warmup", SparkIngestOptions(entities=False, partitions=cores), spark=spark)
    plans = [("no entities", False)] + ([("entities", True)] if entities_available() else [])
    for label, entities in plans:
        timings = {}
        # One shard, then all: the difference is the per-record cost without the job's fixed cost (~a dozen
        # Spark jobs: scheduling, shuffles, Parquet commit), which a real run amortises over millions of records.
        for size, inputs in (("one", shards[:1]), ("all", shards)):
            began = time.perf_counter()
            report = spark_ingest(inputs, f"{out}/{label.replace(' ', '-')}-{size}",
                                  SparkIngestOptions(entities=entities), spark=spark)
            timings[size] = time.perf_counter() - began
        result[label] = {"seconds": round(timings["all"], 2), "one_shard_seconds": round(timings["one"], 2),
                         "articles": report.articles, "duplicates": report.duplicates, "errors": report.errors}
    spark.stop()
    return result


def run_spark_child(master: str, shards: list[Path], out: Path) -> dict:
    command = [sys.executable, __file__, "--child", master, "--out", str(out), *map(str, shards)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"{master} run failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def local_anchors(shards: list[Path]) -> dict:
    """The Spark task's own function without Spark, and a plain local ingest, on the same shards."""
    from newsloom.enrich import entities_available
    from newsloom.pipeline import default_stages, ingest_paths
    from newsloom.scale.spark import process_shards
    from newsloom.store import open_store

    result: dict = {}
    plans = [("no entities", False)] + ([("entities", True)] if entities_available() else [])
    # Warm-up: imports and the spaCy model load are not part of the throughput (Spark rows exclude them too).
    sum(1 for _ in process_shards([str(shards[0])], entities=entities_available()))
    for label, entities in plans:
        began = time.perf_counter()
        rows = sum(1 for item in process_shards(map(str, shards), entities=entities) if item[0] == "article")
        task = time.perf_counter() - began
        with tempfile.TemporaryDirectory() as tmp:
            store = open_store(Path(tmp) / "anchor.db")
            began = time.perf_counter()
            report = ingest_paths(list(shards), store, stages=default_stages(entities=entities))
            ingest = time.perf_counter() - began
            store.close()
        result[label] = {"task_seconds": round(task, 2), "task_articles": rows,
                         "ingest_seconds": round(ingest, 2), "ingest_articles": report.read}
    return result


def spark_part(args: argparse.Namespace) -> list[dict]:
    if not PAGES.is_dir():
        print(f"skipped Spark part: benchmark pages not found at {PAGES}", file=sys.stderr)
        return []
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="newsloom-spark-bench-") as tmp:
        shards, records, size = write_shards(Path(tmp), args.copies, args.shards)
        print(f"spark part: {records} records in {len(shards)} shards, {size / 1e6:.1f} MB gzipped", file=sys.stderr)
        anchors = local_anchors(shards)
        for label, figures in anchors.items():
            rows.append(_row("anchor: process_shards in-process, 1 core", label, records, figures["task_seconds"], 1))
            rows.append(_row("anchor: local ingest_paths -> SQLite, 1 core", label, records,
                             figures["ingest_seconds"], 1))
        for master in ("local[1]", "local[2]"):
            child = run_spark_child(master, shards, Path(tmp) / master.replace("[", "").replace("]", ""))
            cores = int(master[len("local["):-1])
            print(f"{master}: JVM + session start {child['session_s']} s", file=sys.stderr)
            for label in ("no entities", "entities"):
                if label not in child:
                    continue
                figures = child[label]
                rows.append(_row(f"newsloom spark-ingest {master}", label, records, figures["seconds"], cores,
                                 articles=figures["articles"], duplicates=figures["duplicates"]))
                one_shard = len(range(0, records, len(shards)))  # records in shard 0 (round-robin split)
                marginal = max(figures["seconds"] - figures["one_shard_seconds"], 1e-6)
                rows.append(_row("  same, marginal (all minus one shard)", label, records - one_shard, marginal,
                                 cores))
    return rows


def _row(system: str, label: str, records: int, seconds: float, cores: int, **extra: object) -> dict:
    return {"part": "spark", "system": system, "entities": label, "records": records, "seconds": round(seconds, 2),
            "cores": cores, "per_s": round(records / seconds, 1), "per_s_per_core": round(records / seconds / cores, 1),
            **extra}


# ------------------------------------------------------------------------------------------------ postgres part


def read_articles(limit: int) -> list:
    """Real articles through newsloom's own JSONL reader (the ``newsloom ingest`` path)."""
    from newsloom.model import Article
    from newsloom.sources.files import read_path

    with tempfile.TemporaryDirectory() as tmp:
        sample = Path(tmp) / "gva.jsonl"
        with GVA.open(encoding="utf-8") as source, sample.open("w", encoding="utf-8") as target:
            for n, line in enumerate(source):
                if n >= limit:
                    break
                record = json.loads(line)
                target.write(json.dumps({"url": record["url"], "title": record["title"], "text": record["text"],
                                         "published_at": record["date"], "source": record["source"]}) + "\n")
        return [item for item in read_path(sample) if isinstance(item, Article)]


def postgres_part(args: argparse.Namespace) -> list[dict]:
    from newsloom.enrich import entities_available
    from newsloom.pipeline import default_stages, ingest_articles
    from newsloom.store import open_store

    if not GVA.is_file():
        print(f"skipped PostgreSQL part: articles not found at {GVA}", file=sys.stderr)
        return []
    import pytest  # tests/postgres_server.py skips through pytest when no server is installed

    from tests.postgres_server import fresh_database, postgres_server

    articles = read_articles(args.articles)
    rows: list[dict] = []
    plans = [("no entities", False, len(articles))]
    if entities_available():
        plans.append(("entities", True, min(len(articles), args.entity_articles)))
    try:
        with postgres_server() as server, tempfile.TemporaryDirectory() as tmp:
            for label, entities, count in plans:
                for system, location in (("newsloom ingest_articles -> PostgreSQL", fresh_database(server)),
                                         ("anchor: ingest_articles -> SQLite", str(Path(tmp) / f"{label}.db"))):
                    store = open_store(location)
                    began = time.perf_counter()
                    result = ingest_articles(articles[:count], store, default_stages(entities=entities))
                    seconds = time.perf_counter() - began
                    store.close()
                    rows.append({"part": "postgres", "system": system, "entities": label, "records": count,
                                 "inserted": result.inserted, "seconds": round(seconds, 2), "cores": 1,
                                 "per_s": round(count / seconds, 1), "per_s_per_core": round(count / seconds, 1)})
    except pytest.skip.Exception as exc:
        print(f"skipped PostgreSQL part: {exc}", file=sys.stderr)
    return rows


# ------------------------------------------------------------------------------------------------ load part


def load_part(args: argparse.Namespace) -> list[dict]:
    """load_parquet (upserts with signatures + streaming stories) from a spark-ingest output: PostgreSQL, and
    SQLite as the anchor. The output comes from a local[2] run over the bench shards (without entities)."""
    import pytest

    from newsloom.scale import load_parquet
    from newsloom.scale.spark import SparkIngestOptions, spark_ingest, spark_session
    from newsloom.store import open_store
    from tests.postgres_server import fresh_database, postgres_server

    if not PAGES.is_dir():
        print(f"skipped load part: benchmark pages not found at {PAGES}", file=sys.stderr)
        return []
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="newsloom-load-bench-") as tmp:
        shards, _, _ = write_shards(Path(tmp), 0, args.shards)
        spark = spark_session("local[2]", partitions=4, app_name="newsloom bench")
        report = spark_ingest(shards, f"{tmp}/out", SparkIngestOptions(entities=False), spark=spark)
        spark.stop()
        try:
            with postgres_server() as server:
                for system, location in (("newsloom load_parquet -> PostgreSQL", fresh_database(server)),
                                         ("anchor: load_parquet -> SQLite", f"{tmp}/load.db")):
                    store = open_store(location)
                    began = time.perf_counter()
                    loaded = load_parquet(f"{tmp}/out", store, batch_size=100)
                    seconds = time.perf_counter() - began
                    store.close()
                    rows.append({"part": "load", "system": system, "entities": "(as loaded)",
                                 "records": loaded.articles, "seconds": round(seconds, 2), "cores": 1,
                                 "per_s": round(loaded.articles / seconds, 1),
                                 "per_s_per_core": round(loaded.articles / seconds, 1), "stories": loaded.stories})
        except pytest.skip.Exception as exc:
            print(f"skipped load part: {exc}", file=sys.stderr)
    if rows and rows[0]["records"] != report.articles:
        print(f"warning: loaded {rows[0]['records']} of {report.articles} articles", file=sys.stderr)
    return rows


# ------------------------------------------------------------------------------------------------ main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=["spark", "postgres", "load", "all"], default="all")
    parser.add_argument("--copies", type=int, default=4, help="re-crawls of each page under another URL (Spark part)")
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--articles", type=int, default=2000, help="articles for the PostgreSQL part")
    parser.add_argument("--entity-articles", type=int, default=500, help="of which ingested with entities")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("shards_in", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(spark_child(args.child, args.shards_in, args.out)))
        return 0
    load_before = os.getloadavg()[0]
    rows: list[dict] = []
    if args.part in ("spark", "all"):
        rows += spark_part(args)
    if args.part in ("postgres", "all"):
        rows += postgres_part(args)
    if args.part in ("load", "all"):
        rows += load_part(args)
    load = f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after, {os.cpu_count()} cores"
    if args.json:
        print(json.dumps({"load": load, "rows": rows}, indent=2))
        return 0
    print(f"# {load}")
    print(f"{'system':<48} {'entities':<12} {'records':>8} {'seconds':>8} {'per s':>8} {'per s/core':>10}")
    for row in rows:
        print(f"{row['system']:<48} {row['entities']:<12} {row['records']:>8} {row['seconds']:>8} "
              f"{row['per_s']:>8} {row['per_s_per_core']:>10}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
