"""Enrichment throughput on Reuters-21578 wires: newsloom's enrich() next to a naive spaCy anchor, same run.

    .venv/bin/python bench/enrich_speed.py [--articles 2000] [--n-process 2] [--batch-size 64]

Ours: newsloom.enrich.enrich() = language + NER-only spaCy in batches (nlp.pipe) + canonical entities +
keyphrases + summary. Anchor: what a first attempt does, spaCy's full default pipeline (tok2vec, tagger,
parser, attribute_ruler, lemmatizer, ner) called one document at a time, entities only. Both read the same
articles; figures are articles per second, wall clock, model loading excluded (timed apart).

Data: ../shared/data/news/reuters21578 (research use only; read, never copied into the repo).
"""

from __future__ import annotations

import argparse
import html
import os
import re
import resource
import sys
import time
from pathlib import Path

from newsloom.model import Article, article_id_for

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "news" / "reuters21578"

_REUTERS = re.compile(r"<REUTERS[^>]*>(.*?)</REUTERS>", re.DOTALL)
_TITLE = re.compile(r"<TITLE>(.*?)</TITLE>", re.DOTALL)
_BODY = re.compile(r"<BODY>(.*?)</BODY>", re.DOTALL)
_PARAGRAPH_BREAK = re.compile(r"\n {3,}")
_TRAILER = re.compile(r"\s*Reuter\s*(&#3;)?\s*$")


def load_reuters(limit: int, data_dir: Path = DATA) -> list[Article]:
    """The first ``limit`` Reuters wires with a body, as Articles (paragraphs split on the wire's indents)."""
    articles: list[Article] = []
    for path in sorted(data_dir.glob("reut2-*.sgm")):
        raw = path.read_text(encoding="latin-1")
        for block in _REUTERS.findall(raw):
            body_match = _BODY.search(block)
            if body_match is None:
                continue
            body = _TRAILER.sub("", html.unescape(body_match.group(1)))
            paragraphs = [" ".join(part.split()) for part in _PARAGRAPH_BREAK.split(body) if part.strip()]
            title_match = _TITLE.search(block)
            title = html.unescape(title_match.group(1)).strip() if title_match else ""
            text = "\n\n".join(paragraphs)
            articles.append(Article(id=article_id_for(None, text), title=title, paragraphs=paragraphs))
            if len(articles) >= limit:
                return articles
    return articles


def _cpu_seconds() -> float:
    """CPU time of this process and of its reaped children (forked workers), user + system."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _time(label: str, func):  # type: ignore[no-untyped-def]
    """Run ``func``; print and return (result, wall seconds, CPU seconds)."""
    start, cpu_start = time.perf_counter(), _cpu_seconds()
    result = func()
    elapsed, cpu = time.perf_counter() - start, _cpu_seconds() - cpu_start
    print(f"  {label}: {elapsed:.2f} s wall, {cpu:.2f} s CPU", flush=True)
    return result, elapsed, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--n-process", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--anchor-articles", type=int, default=0, help="anchor sample size (default: all)")
    args = parser.parse_args(argv)

    if not DATA.is_dir():
        print(f"skipped: {DATA} is absent (shared data not available on this machine)")
        return 0
    from newsloom.enrich import enrich, entities_available
    from newsloom.enrich.entities import MODEL_PACKAGES, _load_ner

    if not entities_available():
        print("skipped: spaCy or the English model is missing: pip install 'newsloom[nlp]'")
        return 0

    articles = load_reuters(args.articles)
    words = sum(article.word_count for article in articles)
    print(f"{len(articles)} Reuters articles, {words} words ({words / len(articles):.0f} per article)")

    import spacy

    print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores (other work shares them)")
    _time("load ours (NER only)", _load_ner)
    package = next(name for name in MODEL_PACKAGES if __import__("importlib").util.find_spec(name))
    full_nlp, _, _ = _time("load anchor (full pipeline)", lambda: spacy.load(package))

    print("ours: enrich() with entities, language, keyphrases, summary")
    enriched, ours_seconds, ours_cpu = _time(
        f"enrich n_process={args.n_process} batch_size={args.batch_size}",
        lambda: enrich(articles, entities=True, n_process=args.n_process, batch_size=args.batch_size),
    )
    _, ours_single_seconds, ours_single_cpu = _time(
        f"enrich n_process=1 batch_size={args.batch_size}",
        lambda: enrich(articles, entities=True, n_process=1, batch_size=args.batch_size),
    )

    anchor_sample = articles[: args.anchor_articles or len(articles)]
    print(f"anchor: full default pipeline, nlp(text) one at a time, {len(anchor_sample)} articles")

    def run_anchor() -> int:
        found = 0
        for article in anchor_sample:
            found += len(full_nlp(article.title + "\n\n" + article.text).ents)
        return found

    _, anchor_seconds, anchor_cpu = _time("anchor", run_anchor)

    with_entities = sum(1 for article in enriched if article.entities)
    print(f"articles with entities: {with_entities}/{len(enriched)}")
    print()
    # Wall-clock rates depend on what else runs on the machine; CPU rates do not, and twice the per-CPU-second
    # rate is what two idle cores would give (an upper bound: forking and gathering cost a little).
    rows = [
        (f"newsloom enrich(), n_process={args.n_process}", len(articles), ours_seconds, ours_cpu),
        ("newsloom enrich(), n_process=1", len(articles), ours_single_seconds, ours_single_cpu),
        ("anchor: spaCy full pipeline, one doc at a time", len(anchor_sample), anchor_seconds, anchor_cpu),
    ]
    print(f"{'method':50} {'articles/s wall':>16} {'articles/CPU-s':>15} {'2 idle cores':>13}")
    for label, count, wall, cpu in rows:
        print(f"{label:50} {count / wall:16.1f} {count / cpu:15.1f} {2 * count / cpu:13.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
