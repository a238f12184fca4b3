"""Search latency: p50/p95 of ``SQLiteStore.search`` over a mixed query set, next to a naive LIKE-scan anchor.

Corpus (scaled up from real text, documented and seeded): the Reuters-21578 wires and BBC full-text articles of
../shared/data/news (see their SOURCE.txt; research use only, nothing is copied into the repo). Each synthetic article
takes a real article's headline and about half of its sentences, and the rest of its sentences from other real articles
of the same source (sentence-level recombination), so term statistics stay those of real news while every body is
distinct. Metadata is synthetic but shaped like a reader's store: 60 sites (one in four an en-GB or fr/de "language"),
200 authors, dates spread over two years, 0-3 entities from the Reuters PEOPLE/ORGS tag lists (stored in
article_entities), story ids, and 5% of articles marked as duplicates (collapsed by search). Ids are sha-based.

The DB is built once per size in a cache dir (default /tmp/newsloom-bench, never the repo) through the store's own
migrations, then bulk-inserted (executemany, journal off) with the FTS insert trigger lifted, the FTS index built once
('rebuild') and the trigger put back as the migration wrote it. Opening it runs any newer migration, and
``refresh_search_index`` (the per-word lists of best matches that one-word searches of frequent words use) is run when
the lists are missing or older than the articles; both are timed and printed. The load average is printed with the
figures, since the CPU may be shared.

Query mix (seeded, drawn from the corpus): frequent / medium / rare words, two-word queries, "phrases" taken from real
headlines, a OR b, exclusions, site:/lang:/entity:/author: filters with words, after:/before: ranges, sort:date, and
filter-only queries. Each query runs warm, 3 times; the anchor runs the same words as LIKE '%word%' conditions over
title and body (same filters, newest first, LIMIT 20) on the same table.

    .venv/bin/python bench/search.py [--sizes 100000,1000000] [--cache /tmp/newsloom-bench] [--anchor-queries 12]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import sqlite3
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dedup import DATA, load_bbc, load_reuters  # noqa: E402  (the real-text loaders of the dedup bench)

from newsloom.search import parse_query  # noqa: E402
from newsloom.store import SQLiteStore  # noqa: E402
from newsloom.store.filters import filter_conditions  # noqa: E402

SEED = 20240601
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'])")
START = datetime(2023, 1, 1, tzinfo=timezone.utc)


def _sentences(body: str) -> list[str]:
    return [s.strip() for p in body.split("\n\n") for s in _SENTENCE.split(p) if len(s.split()) >= 4]


def _entity_pool() -> list[str]:
    names = []
    for file in ("all-people-strings.lc.txt", "all-orgs-strings.lc.txt"):
        path = DATA / "reuters21578" / file
        names += [line.strip().replace("-", " ").title() for line in path.read_text(encoding="latin-1").splitlines()
                  if line.strip()]
    return names


def build(path: Path, size: int) -> None:
    """Fill a fresh store at ``path`` with ``size`` recombined articles."""
    rng = random.Random(SEED)
    sources = {"reuters": [d for d in load_reuters() if d.title], "bbc": [d for d in load_bbc() if d.title]}
    pools = {name: [(d.title, _sentences(d.body)) for d in docs] for name, docs in sources.items()}
    pools = {name: [item for item in items if len(item[1]) >= 3] for name, items in pools.items()}
    sentence_pool = {name: [s for _, ss in items for s in ss] for name, items in pools.items()}
    entities = _entity_pool()
    sites = [f"news{n}.example.{rng.choice(['com', 'co.uk', 'org', 'fr', 'de'])}" for n in range(60)]
    languages = {site: rng.choice(["en", "en", "en", "en-GB", "fr", "de"]) for site in sites}
    authors = [f"Author {chr(65 + n % 26)}. Writer{n}" for n in range(200)]
    SQLiteStore(path).close()  # the schema, through the store's migrations
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = OFF")
    db.execute("PRAGMA synchronous = OFF")
    db.execute("PRAGMA cache_size = -400000")  # 400 MB: the bulk load's index pages stay in memory
    # One FTS build at the end instead of one index update per row; the trigger comes back as the migration wrote it.
    fts_trigger = db.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'articles_fts_insert'"
                             ).fetchone()[0]
    db.execute("DROP TRIGGER articles_fts_insert")
    db.execute("BEGIN")
    ids: list[str] = []
    rows: list[tuple[object, ...]] = []
    mentions: list[tuple[str, str]] = []
    now = datetime.now(timezone.utc).isoformat()
    for n in range(size):
        source = "reuters" if rng.random() < 0.75 else "bbc"
        title, own = rng.choice(pools[source])
        kept = [s for s in own if rng.random() < 0.5] or own[:1]
        body_sentences = kept + rng.sample(sentence_pool[source], k=max(2, len(own) - len(kept)))
        rng.shuffle(body_sentences)
        body = "\n\n".join(" ".join(body_sentences[i:i + 3]) for i in range(0, len(body_sentences), 3))
        site = rng.choice(sites)
        article_id = hashlib.sha256(f"{n}:{title}".encode()).hexdigest()[:16]
        published = (START + timedelta(seconds=rng.randrange(2 * 365 * 86400))).isoformat()
        mentioned = rng.sample(entities, k=rng.choice([0, 1, 1, 2, 3]))
        duplicate_of = rng.choice(ids) if ids and rng.random() < 0.05 else None
        url = f"https://{site}/{n}"
        rows.append(
            (article_id, url, url, site, title, rng.choice(authors), published, languages[site], body, now, published,
             duplicate_of, f"s-{n // 7}", json.dumps([{"name": e, "type": "PERSON", "count": 1} for e in mentioned]),
             article_id),
        )
        mentions += [(article_id, e) for e in mentioned]
        ids.append(article_id)
        if n % 10_000 == 9_999 or n == size - 1:
            _insert(db, rows, mentions)
            rows, mentions = [], []
        if n % 100_000 == 99_999:
            print(f"  inserted {n + 1:,} articles", file=sys.stderr)
    db.execute("COMMIT")
    db.execute("INSERT INTO articles_fts (articles_fts) VALUES ('rebuild')")
    db.execute(fts_trigger)
    db.execute("INSERT INTO articles_fts (articles_fts) VALUES ('optimize')")
    db.execute("ANALYZE")
    db.close()


def _insert(db: sqlite3.Connection, rows: list[tuple[object, ...]], mentions: list[tuple[str, str]]) -> None:
    db.executemany(
        "INSERT INTO articles (id, url, canonical_url, site, title, author, published_at, language, body, "
        "ingested_at, sort_time, duplicate_of, story_id, entities, content_hash) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    db.executemany("INSERT OR IGNORE INTO article_entities (article_id, name, type, count) VALUES (?, ?, 'PERSON', 1)",
                   mentions)


def _queries(db: sqlite3.Connection, rng: random.Random) -> list[str]:
    """A mixed, seeded query set drawn from the built corpus's vocabulary, headlines, sites and entities."""
    vocab = [(term, docs) for term, docs in db.execute(
        "SELECT term, doc FROM articles_vocab WHERE length(term) > 3 AND term GLOB '[a-z]*' ORDER BY doc DESC")]
    frequent, medium, rare = vocab[50:400], vocab[2000:6000], vocab[15000:40000] or vocab[-2000:]
    pick = lambda tier: rng.choice(tier)[0]  # noqa: E731
    titles = [row[0] for row in db.execute("SELECT title FROM articles ORDER BY random() LIMIT 200")]
    sites = [row[0] for row in db.execute("SELECT DISTINCT site FROM articles LIMIT 60")]
    names = [row[0] for row in db.execute("SELECT name FROM article_entities GROUP BY name ORDER BY count(*) DESC LIMIT 100")]
    queries = []
    for _ in range(4):
        words = [w.lower() for w in re.findall(r"[A-Za-z]{4,}", rng.choice(titles))]
        queries += [
            pick(frequent), pick(medium), pick(rare), f"{pick(frequent)} {pick(medium)}",
            f'"{" ".join(words[:2])}"' if len(words) >= 2 else pick(medium),
            f"{pick(medium)} OR {pick(medium)}", f"{pick(frequent)} -{pick(frequent)}",
            f"{pick(frequent)} site:{rng.choice(sites)}", f"{pick(medium)} lang:fr",
            f'{pick(frequent)} entity:"{rng.choice(names)}"', f"{pick(frequent)} after:2024-01-01 before:2024-03-01",
            f"{pick(frequent)} sort:date", f"site:{rng.choice(sites)} sort:date",
            f'entity:"{rng.choice(names)}"', f"{pick(medium)} author:writer{rng.randrange(200)}",
        ]
    return queries


def _anchor(db: sqlite3.Connection, text: str) -> int:
    """The naive way: every word as LIKE '%word%' over title and body (same filters), newest first."""
    query = parse_query(text)
    conditions, params = filter_conditions(query, "?")
    for clause in query.clauses:
        alternatives = []
        for term in clause:
            alternatives.append("(a.title LIKE ? OR a.body LIKE ?)")
            params += ["%" + " ".join(term.tokens) + "%"] * 2
        conditions.append("(" + " OR ".join(alternatives) + ")")
    for term in query.excluded:
        conditions.append("NOT (a.title LIKE ? OR a.body LIKE ?)")
        params += ["%" + " ".join(term.tokens) + "%"] * 2
    where = " AND ".join(["a.duplicate_of IS NULL", *conditions])
    return len(db.execute(f"SELECT a.id FROM articles a WHERE {where} ORDER BY a.sort_time DESC LIMIT 20",
                          params).fetchall())


def _percentiles(timings: list[float]) -> tuple[float, float]:
    ordered = sorted(timings)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def _sizes(db: sqlite3.Connection, path: Path) -> str:
    parts = {"FTS index": "name LIKE 'articles_fts%'", "word lists": "name LIKE 'search_top%'",
             "filter/duplicate/entity indexes":
                 "name IN ('articles_search_filters', 'articles_duplicates', 'article_entities_name_article')"}
    texts = []
    for label, where in parts.items():
        try:
            size = db.execute(f"SELECT sum(pgsize) FROM dbstat WHERE {where}").fetchone()[0] or 0
        except sqlite3.Error:
            continue
        texts.append(f"{label} {size / 2**20:,.0f} MB")
    return ", ".join([*texts, f"database file {path.stat().st_size / 2**20:,.0f} MB"])


def _prepare(path: Path) -> SQLiteStore:
    """Open the cached DB through the store (newer migrations run) and refresh the word lists if stale."""
    started = time.perf_counter()
    store = SQLiteStore(path)
    migrated = time.perf_counter() - started
    last = store._read("SELECT coalesce(max(rowid), 0) FROM articles")[0][0]
    built = store._read("SELECT min(built_through) FROM search_top_terms")[0][0]
    if built is None or built < last:
        started = time.perf_counter()
        words = store.refresh_search_index()
        print(f"refresh_search_index: lists for {words:,} words in {time.perf_counter() - started:.0f} s "
              f"(migrations {migrated:.1f} s)")
    return store


def _load() -> str:
    return "load average {:.2f} {:.2f} {:.2f} on {} CPUs".format(*os.getloadavg(), os.cpu_count())


def run(size: int, cache: Path, anchor_queries: int) -> None:
    path = cache / f"search-{size}.db"
    if not path.exists():
        started = time.perf_counter()
        building = path.with_suffix(".building")
        building.unlink(missing_ok=True)
        build(building, size)
        building.rename(path)
        print(f"built {size:,} articles in {time.perf_counter() - started:.0f} s -> {path}")
    store = _prepare(path)
    raw = sqlite3.connect(path)
    load_before = _load()
    queries = _queries(raw, random.Random(SEED))
    for text in queries:  # warm the page cache and the statement cache
        store.search(text, limit=20)
    timings: list[float] = []
    cpu_timings: list[float] = []  # this process's CPU time: what a quiet machine's wall clock would show
    by_kind: dict[str, list[float]] = {}
    for _ in range(3):
        for text in queries:
            started, cpu_started = time.perf_counter(), time.process_time()
            store.search(text, limit=20)
            elapsed = (time.perf_counter() - started) * 1000
            cpu_timings.append((time.process_time() - cpu_started) * 1000)
            timings.append(elapsed)
            kind = "filters" if ":" in text else ("phrase" if '"' in text else "words")
            by_kind.setdefault(kind, []).append(elapsed)
    anchor_timings, anchor_cpu = [], []
    for text in queries[:anchor_queries]:
        started, cpu_started = time.perf_counter(), time.process_time()
        _anchor(raw, text)
        anchor_timings.append((time.perf_counter() - started) * 1000)
        anchor_cpu.append((time.process_time() - cpu_started) * 1000)
    load_after = _load()
    p50, p95 = _percentiles(timings)
    a50, a95 = _percentiles(anchor_timings)
    canonical = raw.execute("SELECT count(*) FROM articles WHERE duplicate_of IS NULL").fetchone()[0]
    print(f"\n== {size:,} articles ({canonical:,} canonical); {len(queries)} queries x 3 runs, limit 20 ==")
    print(f"newsloom search (FTS5 bm25, word lists, filters): p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   max {max(timings):7.1f} ms")
    for kind, values in sorted(by_kind.items()):
        k50, k95 = _percentiles(values)
        print(f"    {kind:8s} p50 {k50:7.1f} ms   p95 {k95:7.1f} ms   ({len(values)} timings)")
    print(f"anchor LIKE '%word%' scan ({len(anchor_timings)} queries x 1): p50 {a50:7.1f} ms   p95 {a95:7.1f} ms")
    c50, c95 = _percentiles(cpu_timings)
    ac50, ac95 = _percentiles(anchor_cpu)
    print(f"CPU time only (shared machine): newsloom p50 {c50:7.1f} ms   p95 {c95:7.1f} ms   max {max(cpu_timings):7.1f}"
          f" ms;  anchor p50 {ac50:7.1f} ms   p95 {ac95:7.1f} ms")
    print(f"target p95 < 50 ms: {'met' if p95 < 50 else 'NOT met'};  {_sizes(raw, path)}")
    print(f"machine: {load_before} before the timings, {load_after} after")
    raw.close()
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000", help="comma-separated article counts, e.g. 100000,1000000")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/newsloom-bench"))
    parser.add_argument("--anchor-queries", type=int, default=12, help="queries the (slow) anchor runs once each")
    args = parser.parse_args()
    if not (DATA / "reuters21578").is_dir():
        sys.exit(f"needs the Reuters and BBC texts under {DATA} (see ../shared/data/README.md)")
    args.cache.mkdir(parents=True, exist_ok=True)
    for size in (int(s) for s in args.sizes.split(",")):
        run(size, args.cache, args.anchor_queries)


if __name__ == "__main__":
    main()
