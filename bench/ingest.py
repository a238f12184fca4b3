"""The whole ingest path over real news: read -> dedup -> enrich (entities) -> stories -> SQLite with FTS5.

    .venv/bin/python bench/ingest.py                              # 20,000 articles, 2 workers, anchor on 1,000
    .venv/bin/python bench/ingest.py --size 5000 --workers 1 2 --anchor 300

The corpus is every Reuters-21578 wire with a body (19,043), with BBC full-text articles (up to 2,225) spread evenly
through them when more are asked for, written as JSONL parts of 500 records (url, title, text, published_at: the
form most archives come in). Each configuration runs in a fresh process through ``newsloom.pipeline.ingest_paths``
into a new SQLite store with the default stages (dedup, enrichment with spaCy entities, stories; no embeddings).
After every part (500 articles) it records the CPU time of the whole process tree and the resident memory of the
main process and of the workers (printed every 2,500), so the figures show whether memory stays flat as the
corpus grows.

What an ingest keeps in memory is bounded by time, not by corpus size: the duplicate index holds full signatures
for 30 days of publication dates (``DedupOptions.retention_days``; older groups keep only ids, dates and exact
fingerprints) and the story clusterer holds the stories active in the last 60 days (``StoryOptions.window_days``).
So memory grows while the first window fills, then stays flat. The stream gets one publication time per article in
file order, ``--per-day`` articles a day (default 200, a small newsroom or a few hundred feeds; 20,000 articles span
100 days). The verdict fits the growth of anonymous memory per article over the checkpoints taken once the longest
window has filled (60 days), for the main process and for the workers.

The anchor, measured in the same run on the same articles, is the naive way to get entities: spaCy's full default
pipeline, one document at a time (entities only: no dedup, stories or index).

CPU milliseconds per article (user + system, summed over every process) decide what two quiet cores can do:
2 x 1000 / (CPU ms per article) articles/s at best. Wall-clock rates depend on what else runs on the machine; the
load average is printed. Data is research-use only, read from ../shared; nothing is copied into the repository.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from enrich_speed import DATA, load_reuters

from newsloom.model import Article, article_id_for

BBC = REPO.parent / "shared" / "data" / "news" / "bbc-fulltext" / "bbc"
PART_SIZE = 500
CHECKPOINT_EVERY = 2500  # rows printed
SAMPLE_EVERY = 500  # memory samples, each part: the growth is fitted over all of them
FLAT_KB_PER_ARTICLE = 1.0  # growth per article, once the longest window is held, below which memory counts as flat
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


# --- corpus ------------------------------------------------------------------------------------------------------

def load_bbc(limit: int) -> list[Article]:
    """BBC articles (headline on line 1, then paragraphs), in class and file order."""
    articles: list[Article] = []
    for path in sorted(BBC.glob("*/*.txt")):
        lines = path.read_text(encoding="utf-8", errors="replace").split("\n")
        paragraphs = [" ".join(line.split()) for line in lines[1:] if line.strip()]
        if not paragraphs:
            continue
        text = "\n\n".join(paragraphs)
        articles.append(Article(id=article_id_for(None, text), title=lines[0].strip(), paragraphs=paragraphs))
        if len(articles) >= limit:
            break
    return articles


def load_corpus(size: int) -> list[Article]:
    """``size`` articles: Reuters wires, with BBC articles spread evenly through them when more are asked for
    than Reuters has. Spread, not appended: the stream keeps one mix of lengths and topics from start to end, so
    memory measured late in the run reflects the corpus size, not a change in what arrives."""
    reuters = load_reuters(size)
    if len(reuters) >= size or not BBC.is_dir():
        return reuters
    bbc = load_bbc(size - len(reuters))
    mixed: list[Article] = []
    placed = 0
    for n, article in enumerate(reuters, start=1):  # BBC article k follows wire (k + 1) * len(reuters) / len(bbc)
        mixed.append(article)
        while placed < len(bbc) and (placed + 1) * len(reuters) <= n * len(bbc):
            mixed.append(bbc[placed])
            placed += 1
    return mixed


def write_corpus(size: int, folder: Path, per_day: float = 200.0) -> list[Article]:
    """The articles as JSONL parts of PART_SIZE records, with one synthetic publication time per article in order,
    ``per_day`` a day (Reuters dates are per day and BBC has none; spreading them keeps the stream realistic)."""
    articles = load_corpus(size)
    start = datetime(1987, 2, 26, tzinfo=UTC)
    step = timedelta(days=1) / per_day
    for part_start in range(0, len(articles), PART_SIZE):
        with (folder / f"part-{part_start // PART_SIZE:04d}.jsonl").open("w", encoding="utf-8") as out:
            for n in range(part_start, min(part_start + PART_SIZE, len(articles))):
                out.write(json.dumps({
                    "url": f"https://news.example/{n}", "title": articles[n].title, "text": articles[n].text,
                    "published_at": (start + n * step).isoformat(), "source": "bench",
                }) + "\n")
    return articles


# --- measuring a process tree (Linux /proc) ----------------------------------------------------------------------

def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def _descendants(pid: int) -> list[int]:
    result, todo = [], _children(pid)
    while todo:
        child = todo.pop()
        result.append(child)
        todo += _children(child)
    return result


def _cpu_seconds_of(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS  # utime, stime


def _status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_cpu_seconds() -> float:
    """CPU of this process, of its live descendants, and of the children already reaped."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
    live = sum(_cpu_seconds_of(pid) for pid in _descendants(os.getpid()))
    return own.ru_utime + own.ru_stime + reaped.ru_utime + reaped.ru_stime + live


def tree_rss_mb(key: str = "VmRSS") -> tuple[float, float]:
    """Resident memory now: (this process, sum over its descendants), in MB. ``RssAnon`` counts only anonymous
    memory: the resident total also holds the pages of the SQLite file the store reads through mmap, which are the
    kernel's page cache (shared, dropped under pressure) and grow with the database, not with what the run keeps."""
    workers = sum(_status_kb(pid, key) for pid in _descendants(os.getpid()))
    return _status_kb(os.getpid(), key) / 1024, workers / 1024


# --- one measured configuration ----------------------------------------------------------------------------------

def run_ingest(corpus: Path, workers: int, batch_size: int) -> dict:
    """One measured ingest, in this (fresh) process."""
    from newsloom.enrich import entities_available
    from newsloom.pipeline import ingest_paths
    from newsloom.stages import default_stages
    from newsloom.store import SQLiteStore

    checkpoints: list[dict] = []
    parts = sorted(corpus.glob("*.jsonl"))
    sizes = [sum(1 for _ in part.open(encoding="utf-8")) for part in parts]
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "bench.db")
        try:
            stages = default_stages(entities=entities_available(), n_process=workers, embeddings=False)
        except TypeError:  # a tree without the embeddings stage
            stages = default_stages(entities=entities_available(), n_process=workers)
        started, cpu_started = time.perf_counter(), tree_cpu_seconds()

        def progress(done: int, total: int) -> None:
            read = sum(sizes[:done])
            if read % SAMPLE_EVERY == 0 or done == total:
                main_mb, workers_mb = tree_rss_mb()
                main_anon_mb, workers_anon_mb = tree_rss_mb("RssAnon")
                checkpoints.append({
                    "read": read, "seconds": time.perf_counter() - started,
                    "cpu_seconds": tree_cpu_seconds() - cpu_started,
                    "rss_main_mb": round(main_mb), "rss_workers_mb": round(workers_mb),
                    "anon_main_mb": round(main_anon_mb), "anon_workers_mb": round(workers_anon_mb),
                })

        report = ingest_paths([corpus], store, stages=stages, batch_size=batch_size, progress=progress)
        elapsed, cpu = time.perf_counter() - started, tree_cpu_seconds() - cpu_started
        stats = store.stats()
        stories = len(store.top_stories(limit=1_000_000))
        store.close()
        with sqlite3.connect(Path(tmp) / "bench.db") as db:
            with_entities = db.execute("SELECT COUNT(DISTINCT article_id) FROM article_entities").fetchone()[0]
    enrich_stage = next(stage for stage in stages if hasattr(stage, "reused"))
    return {
        "workers": workers, "articles": report.read, "seconds": elapsed, "per_second": report.read / elapsed,
        "cpu_ms_per_article": 1000 * cpu / report.read, "stored": stats.articles, "canonical": stats.canonical_articles,
        "stories": stories, "with_entities": with_entities, "entities": entities_available(),
        "reused_enrichments": enrich_stage.reused, "errors": len(report.errors), "checkpoints": checkpoints,
        "peak_rss_main_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "peak_rss_worker_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
    }


def run_anchor(count: int) -> dict:
    """spaCy's full default pipeline, one document at a time: the naive way to add entities."""
    import importlib.util

    import spacy

    from newsloom.enrich.entities import MODEL_PACKAGES

    package = next(name for name in MODEL_PACKAGES if importlib.util.find_spec(name))
    nlp = spacy.load(package)
    articles = load_corpus(count)
    started, cpu_started = time.perf_counter(), tree_cpu_seconds()
    for article in articles:
        doc = nlp(article.title + "\n\n" + article.text)
        _ = [(ent.text, ent.label_) for ent in doc.ents]
    elapsed, cpu = time.perf_counter() - started, tree_cpu_seconds() - cpu_started
    return {"articles": len(articles), "seconds": elapsed, "per_second": len(articles) / elapsed,
            "cpu_ms_per_article": 1000 * cpu / len(articles)}


# --- report ------------------------------------------------------------------------------------------------------

def _print_run(row: dict) -> None:
    label = f"newsloom, {row['workers']} worker{'s' if row['workers'] > 1 else ''}" if row["workers"] > 1 \
        else "newsloom, in-process (1)"
    print(f"{label:34} {row['articles']:>8} {row['seconds']:8.1f} {row['per_second']:11.1f} "
          f"{row['cpu_ms_per_article']:15.2f} {2000 / row['cpu_ms_per_article']:13.0f}")
    for point in row["checkpoints"]:
        if point["read"] % CHECKPOINT_EVERY and point is not row["checkpoints"][-1]:
            continue
        print(f"    at {point['read']:>6} read: {point['read'] / point['seconds']:6.1f} articles/s, "
              f"{1000 * point['cpu_seconds'] / point['read']:6.2f} CPU ms/article, RSS main {point['rss_main_mb']} MB "
              f"(anonymous {point['anon_main_mb']} MB) + workers {point['rss_workers_mb']} MB "
              f"(anonymous {point['anon_workers_mb']} MB)")
    print(f"    {row['canonical']} canonical of {row['stored']} stored, {row['with_entities']} with entities, "
          f"{row['stories']} stories, {row['reused_enrichments']} exact copies reused their original's enrichment; "
          f"peak RSS main {row['peak_rss_main_mb']} MB, largest worker {row['peak_rss_worker_mb']} MB")


def _print_verdict(row: dict, anchor: dict | None, per_day: float) -> None:
    """The issue's two targets, measured: >= 100 articles/s with entities, and memory flat in corpus size."""
    from newsloom.dedup import DedupOptions
    from newsloom.stories import StoryOptions

    window_days = max(StoryOptions().window_days, DedupOptions().retention_days or 0)  # the longest held in memory
    rate = row["per_second"]
    versus = f" ({rate / anchor['per_second']:.1f}x the anchor's {anchor['per_second']:.1f})" if anchor else ""
    print(f"throughput, {row['workers']} worker(s): {rate:.1f} articles/s with entities{versus}: "
          f"target >= 100 {'MET' if rate >= 100 and row['entities'] else 'NOT MET'}")
    points = row["checkpoints"]
    filled = [point for point in points if point["read"] >= window_days * per_day]
    first_held = filled[0] if filled else points[-1]
    read = points[-1]["read"] - first_held["read"]
    if read < 2 * CHECKPOINT_EVERY:
        print(f"memory: the run ends before {window_days:g} days of articles plus 5,000 more: too short to tell "
              "(more --size or more --per-day)")
        return
    held = filled  # not empty: the run goes on past the window

    def growth(key: str) -> float:
        """KB per article read: the least-squares slope over every sample once the window is held. One sample
        catches the workers mid-chunk or a table just before it is pruned; a fit over many is what they hold."""
        xs, ys = [point["read"] for point in held], [point[key] for point in held]
        mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
        slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys)) / sum((x - mean_x) ** 2 for x in xs)
        return 1024 * slope

    main_kb, workers_kb = growth("anon_main_mb"), growth("anon_workers_mb")
    flat = main_kb < FLAT_KB_PER_ARTICLE and workers_kb < FLAT_KB_PER_ARTICLE
    last = points[-1]
    print(f"memory once {window_days:g} days of articles are held, from {first_held['read']:,} to {last['read']:,} "
          f"articles read (anonymous memory): main process {first_held['anon_main_mb']} -> {last['anon_main_mb']} MB "
          f"({main_kb:+.2f} KB per article, fitted over {len(held)} samples), "
          f"workers {first_held['anon_workers_mb']} -> {last['anon_workers_mb']} MB "
          f"({workers_kb:+.2f} KB per article): flat (< {FLAT_KB_PER_ARTICLE:g} KB per article each) "
          f"{'MET' if flat else 'NOT MET'}")
    print(f"    resident total incl. the SQLite file's mmapped pages (page cache, grows with the database): main "
          f"{first_held['rss_main_mb']} -> {last['rss_main_mb']} MB ({growth('rss_main_mb'):+.2f} KB per article)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=20000, help="articles to ingest")
    parser.add_argument("--workers", type=int, nargs="+", default=[2], help="enrichment processes, one run each")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--anchor", type=int, default=1000, help="articles for the naive spaCy anchor")
    parser.add_argument("--per-day", type=float, default=200.0, help="articles published per day in the stream")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(run_ingest(args.child, args.workers[0], args.batch_size)))
        return 0
    if not DATA.is_dir():
        print(f"skipped: Reuters 21578 not found at {DATA}")
        return 0
    from newsloom.enrich import entities_available

    if not entities_available():
        print("note: spaCy or its English model is missing, so both sides run without entities")
    print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        written = len(write_corpus(args.size, corpus, args.per_day))
        print(f"corpus: {written} articles ({min(written, 19043)} Reuters wires, {max(0, written - 19043)} BBC), "
              f"{args.per_day:g} a day over {written / args.per_day:.0f} days")
        for workers in args.workers:
            result = subprocess.run(
                [sys.executable, __file__, "--child", str(corpus), "--workers", str(workers),
                 "--batch-size", str(args.batch_size)],
                capture_output=True, text=True, check=True)
            rows.append(json.loads(result.stdout.strip().splitlines()[-1]))
    anchor = run_anchor(args.anchor) if entities_available() else None
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    print()
    print(f"{'run':34} {'articles':>8} {'wall s':>8} {'articles/s':>11} {'CPU ms/article':>15} {'2 quiet cores':>13}")
    for row in rows:
        _print_run(row)
    if anchor:
        print(f"{'anchor: spaCy full, 1 doc at a time':34} {anchor['articles']:>8} {anchor['seconds']:8.1f} "
              f"{anchor['per_second']:11.1f} {anchor['cpu_ms_per_article']:15.2f} "
              f"{2000 / anchor['cpu_ms_per_article']:13.0f}   (entities only; one process)")
    print("'2 quiet cores' = 2000 / CPU ms per article: the best two idle cores can do with this much work.")
    print()
    for row in rows:
        _print_verdict(row, anchor, args.per_day)
    print(json.dumps({"newsloom": rows, "anchor": anchor}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
