"""The whole ingest path over real wires: read -> dedup -> enrich (entities) -> stories -> SQLite with FTS5.

    .venv/bin/python bench/ingest.py                  # 20,000 Reuters wires, 2 enrichment processes
    .venv/bin/python bench/ingest.py --sizes 5000 20000 --workers 2 --anchor 300

Each corpus size runs in a fresh process (so its peak memory is its own) through ``newsloom.pipeline.ingest_paths``
over a JSONL export of the wires (url, title, text, published_at: the form most archives come in), into a new SQLite
store, with the default stages. The anchor, measured in the same run, is the naive approach: spaCy's full default
pipeline called on one document at a time. Reuters 21578 is research-use data read from ../shared; nothing is copied.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from enrich_speed import DATA, load_reuters  # noqa: E402


def write_corpus(size: int, path: Path) -> int:
    """Reuters wires as JSONL, with one synthetic publication time per wire in file order (the 1987 dates in the
    SGML are per day; spreading them keeps the story clusterer's stream realistic)."""
    articles = load_reuters(size)
    start = datetime(1987, 2, 26, tzinfo=timezone.utc)
    with path.open("w", encoding="utf-8") as out:
        for n, article in enumerate(articles):
            out.write(json.dumps({
                "url": f"https://reuters.example/1987/{n}",
                "title": article.title,
                "text": article.text,
                "published_at": (start + timedelta(minutes=3 * n)).isoformat(),
                "source": "reuters",
            }) + "\n")
    return len(articles)


def run_size(corpus: Path, workers: int) -> dict:
    """One measured ingest, in this (fresh) process."""
    from newsloom.enrich import entities_available
    from newsloom.pipeline import default_stages, ingest_paths
    from newsloom.store import SQLiteStore

    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "bench.db")
        stages = default_stages(entities=entities_available(), n_process=workers)
        started = time.perf_counter()
        report = ingest_paths([corpus], store, stages=stages, batch_size=500)
        elapsed = time.perf_counter() - started
        stats = store.stats()
        stories = len(store.top_stories(limit=1_000_000))
        store.close()
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "articles": report.read, "seconds": elapsed, "per_second": report.read / elapsed,
        "stored": stats.articles, "canonical": stats.canonical_articles, "stories": stories,
        "entities": entities_available(), "peak_rss_mb": round(max(own, children)), "errors": len(report.errors),
    }


def run_anchor(count: int) -> dict:
    """spaCy's full default pipeline, one document at a time: the naive way to add entities."""
    import importlib.util

    import spacy

    from newsloom.enrich.entities import MODEL_PACKAGES

    package = next(name for name in MODEL_PACKAGES if importlib.util.find_spec(name))
    nlp = spacy.load(package) if package == "en_core_web_sm" else __import__(package).load()
    articles = load_reuters(count)
    started = time.perf_counter()
    for article in articles:
        doc = nlp(article.title + "\n\n" + article.text)
        _ = [(ent.text, ent.label_) for ent in doc.ents]
    elapsed = time.perf_counter() - started
    return {"articles": len(articles), "seconds": elapsed, "per_second": len(articles) / elapsed}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 20000])
    parser.add_argument("--workers", type=int, default=2, help="enrichment processes")
    parser.add_argument("--anchor", type=int, default=300, help="articles for the naive spaCy anchor")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(run_size(args.child, args.workers)))
        return 0
    if not DATA.is_dir():
        print(f"skipped: Reuters 21578 not found at {DATA}")
        return 0
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            corpus = Path(tmp) / f"reuters-{size}.jsonl"
            written = write_corpus(size, corpus)
            result = subprocess.run([sys.executable, __file__, "--child", str(corpus), "--workers", str(args.workers)],
                                    capture_output=True, text=True, check=True)
            row = json.loads(result.stdout.strip().splitlines()[-1])
            row["size"] = written
            rows.append(row)
            print(f"newsloom ingest, {written} wires: {row['per_second']:.1f} articles/s "
                  f"({row['seconds']:.1f} s; entities {'on' if row['entities'] else 'off'}; {row['canonical']} canonical, "
                  f"{row['stories']} stories; peak RSS {row['peak_rss_mb']} MB)", flush=True)
    anchor = run_anchor(args.anchor)
    print(f"anchor: spaCy full pipeline, one document at a time, {anchor['articles']} wires: "
          f"{anchor['per_second']:.1f} articles/s (entities only; no dedup, stories or index)")
    print(json.dumps({"newsloom": rows, "anchor": anchor}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
