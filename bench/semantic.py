"""Semantic search: ranking quality of keyword vs semantic vs hybrid, embedding speed, and brute-force top-k time.

Quality: the ECB+ demo corpus (demo/ecbplus.jsonl.gz, 772 real reports on 43 topics, see demo/ATTRIBUTION.md). Each
canonical article's title becomes a query (its words; an ECB+ title often holds a colon or quote, which the query
language would read as syntax). P@5 is the share of the top 5 results, the query's own article left out, that are
about the same ECB+ topic (the number in the id, ``ecbplus-<topic>_...``). The anchor is newsloom's own keyword search
(BM25 over FTS5), measured in the same run on the same store, in two forms: all title words required (the query
language's default AND) and any title word (the words joined with OR). Semantic and hybrid run the OR form (the
semantic side embeds the same words either way).

Speed: articles embedded per second, wall clock and per CPU-second of this process (the machine's 2 cores are shared,
so the CPU figure is the steadier one), on the same 772 articles. Top-k: milliseconds per query of the brute-force
cosine top-10 over N random unit vectors of 384 dimensions, next to scikit-learn's brute-force NearestNeighbors
(cosine) on the same vectors as the anchor.

    .venv/bin/python bench/semantic.py [--sizes 100000,1000000] [--queries 20]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from newsloom.enrich.embeddings import MODEL_NAME, default_embedder, semantic_available
from newsloom.pipeline import ingest_paths
from newsloom.semantic import VectorIndex, embed_missing, search_articles
from newsloom.stages import default_stages
from newsloom.store.sqlite import SQLiteStore

DEMO = Path(__file__).resolve().parents[1] / "demo" / "ecbplus.jsonl.gz"
_WORD = re.compile(r"\w+")


def build_store(path: Path) -> tuple[SQLiteStore, dict[str, str], float, float, int]:
    """The demo corpus ingested without vectors, then embedded (timed): (store, article id -> topic, wall s, cpu s, n)."""
    store = SQLiteStore(path)
    ingest_paths([DEMO], store, stages=default_stages(entities=False, embeddings=False))
    with gzip.open(DEMO, "rt", encoding="utf-8") as lines:
        # The JSONL reader names each article's source "<path>:<line number>", counted from 1.
        topic_by_line = {n: json.loads(line)["id"].removeprefix("ecbplus-").split("_", 1)[0]
                         for n, line in enumerate(lines, start=1) if line.strip()}
    embedder = default_embedder()
    embedder.embed(["warm up"])
    wall, cpu = time.perf_counter(), time.process_time()
    count = embed_missing(store, embedder)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    topics: dict[str, str] = {}
    for _, article_id, _ in store.embeddings_after(MODEL_NAME, 0, 1_000_000):
        source = store.get_article(article_id).source or ""
        line = source.rsplit(":", 1)[-1]
        if line.isdigit() and int(line) in topic_by_line:
            topics[article_id] = topic_by_line[int(line)]
    return store, topics, wall, cpu, count


def precision_at_5(store: SQLiteStore, topics: dict[str, str]) -> dict[str, tuple[float, float]]:
    """mode -> (mean P@5, mean seconds per query)."""
    modes = {"keyword (AND)": ("keyword", " "), "keyword (OR)": ("keyword", " OR "),
             "semantic": ("semantic", " OR "), "hybrid": ("hybrid", " OR ")}
    results: dict[str, tuple[float, float]] = {}
    for label, (mode, joiner) in modes.items():
        precisions, seconds = [], 0.0
        for article_id, topic in topics.items():
            words = _WORD.findall(store.get_article(article_id).title.lower())
            if not words:
                continue
            start = time.perf_counter()
            hits = search_articles(store, joiner.join(words), mode=mode, limit=6)
            seconds += time.perf_counter() - start
            others = [hit.article.id for hit in hits if hit.article.id != article_id][:5]
            precisions.append(sum(topics.get(other) == topic for other in others) / 5)
        results[label] = (float(np.mean(precisions)), seconds / max(1, len(precisions)))
    return results


def topk_timing(size: int, queries: int, rng: np.random.Generator) -> tuple[float, float | None]:
    """(ms per top-10 query with VectorIndex, ms with scikit-learn's brute-force NearestNeighbors or None)."""
    index = VectorIndex(384)
    ids = [str(i) for i in range(size)]
    for start in range(0, size, 100_000):
        block = rng.standard_normal((min(100_000, size - start), 384)).astype(np.float32)
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        index.add(ids[start : start + len(block)], block)
    probes = rng.standard_normal((queries, 384)).astype(np.float32)
    probes /= np.linalg.norm(probes, axis=1, keepdims=True)
    start = time.perf_counter()
    ours = [index.top(probe, 10) for probe in probes]
    ours_ms = 1000 * (time.perf_counter() - start) / queries
    anchor_ms = None
    try:
        from sklearn.neighbors import NearestNeighbors
    except ImportError:
        return ours_ms, None
    matrix = index._matrix[:size]
    model = NearestNeighbors(n_neighbors=10, algorithm="brute", metric="cosine").fit(matrix)
    start = time.perf_counter()
    _, found = model.kneighbors(probes)  # all queries in one call: the anchor's best case
    anchor_ms = 1000 * (time.perf_counter() - start) / queries
    agree = np.mean([{ids[j] for j in row} == {i for i, _ in mine} for row, mine in zip(found, ours)])
    print(f"    top-10 sets identical to the anchor's: {agree:.0%}")
    return ours_ms, anchor_ms


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,1000000", help="vector counts for the top-k timing")
    parser.add_argument("--queries", type=int, default=20)
    args = parser.parse_args()
    if not semantic_available():
        print("the semantic extra is not installed: pip install 'newsloom[semantic]'", file=sys.stderr)
        return 1
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as folder:
        store, topics, wall, cpu, count = build_store(Path(folder) / "bench.db")
        print(f"\nembedding ({MODEL_NAME}, title + 200 words, CPU): {count} articles in {wall:.1f} s wall = "
              f"{count / wall:.1f} articles/s; {cpu:.1f} CPU-s = {count / cpu:.1f} articles per CPU-second")
        print(f"\nP@5 same ECB+ topic, {len(topics)} title queries (query article left out)")
        print(f"  {'mode':<15} {'P@5':>6} {'ms/query':>9}")
        for label, (precision, seconds) in precision_at_5(store, topics).items():
            anchor = "   (anchor)" if label.startswith("keyword") else ""
            print(f"  {label:<15} {precision:6.3f} {1000 * seconds:9.1f}{anchor}")
        store.close()
    rng = np.random.default_rng(20240601)
    print(f"\nbrute-force cosine top-10, 384-d float32, {args.queries} queries (ours one query at a time)")
    for size in (int(s) for s in args.sizes.split(",") if s):
        ours, anchor = topk_timing(size, args.queries, rng)
        anchor_text = f"{anchor:.1f} ms (scikit-learn brute, batched)" if anchor is not None else "n/a"
        print(f"  N={size:>9,} ({size * 384 * 4 / 2**30:.2f} GiB): ours {ours:.1f} ms/query; anchor {anchor_text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
