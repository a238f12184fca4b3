"""Article-body extraction on the Scrapinghub benchmark: newsloom vs trafilatura, measured in the same run.

    .venv/bin/python bench/extraction.py              # table
    .venv/bin/python bench/extraction.py --json       # the same figures as JSON (for docs/benchmarks.md)
    .venv/bin/python bench/extraction.py --rounds 3   # best time of 3 passes per system (quality is the same)

Metric: the benchmark's own (word 4-gram shingles, per-page precision/recall averaged, F1 of the means;
``newsloom.evaluation``). Time is the whole path from the page's bytes: decode, parse, body, metadata and date
for newsloom; ``trafilatura.extract(bytes)`` (default and ``fast=True``) for the anchor.
If ``bench/flatten.py`` provides ``flatten_html(html_bytes) -> str``, two more rows score the flattened-text
path: ``extract_text(flatten_html(html))`` and the floor (the flattened text itself, unfiltered).
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

from newsloom.evaluation import corpus_score, page_score

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "extraction" / "scrapinghub"


def load_pages(folder: Path = DATA) -> list[tuple[str, bytes, str]]:
    """(item id, HTML bytes, ground-truth body) for every page, sorted by id."""
    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for item_id in sorted(truth):
        html = gzip.decompress((folder / "html" / f"{item_id}.html.gz").read_bytes())
        pages.append((item_id, html, truth[item_id]["articleBody"]))
    return pages


def run_system(name: str, extract: Callable[[bytes], str], pages, rounds: int) -> dict:
    """Score one system and time it (best of ``rounds`` passes)."""
    outputs: list[str] = []
    best = float("inf")
    for _ in range(rounds):
        outputs = []
        start = time.perf_counter()
        for _, html, _ in pages:
            try:
                outputs.append(extract(html) or "")
            except Exception:  # an anchor or our extractor failing on a page scores zero there
                outputs.append("")
        best = min(best, time.perf_counter() - start)
    score = corpus_score(page_score(out, truth) for out, (_, _, truth) in zip(outputs, pages))
    ms = best / len(pages) * 1000
    return {
        "system": name,
        "precision": round(score.precision, 4),
        "recall": round(score.recall, 4),
        "f1": round(score.f1, 4),
        "exact_accuracy": round(score.accuracy, 4),
        "ms_per_page": round(ms, 2),
        "docs_per_s": round(1000 / ms, 1) if ms else None,
        "pages": score.pages,
    }


def _newsloom(html: bytes) -> str:
    from newsloom.extract.html import extract_html

    return "\n\n".join(extract_html(html).paragraphs)


def _load_flatten() -> Callable[[bytes], str] | None:
    path = REPO / "bench" / "flatten.py"
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location("newsloom_bench_flatten", path)
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, "flatten_html", None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--rounds", type=int, default=3, help="passes per system; the best time is kept")
    parser.add_argument("--limit", type=int, default=0, help="only the first N pages (quick look)")
    args = parser.parse_args(argv)
    if not (DATA / "ground-truth.json").exists():
        print(f"skipped: the Scrapinghub data is not at {DATA}", file=sys.stderr)
        return 0
    pages = load_pages()
    if args.limit:
        pages = pages[: args.limit]
    notes: list[str] = []
    systems: list[tuple[str, Callable[[bytes], str]]] = [("newsloom", _newsloom)]
    try:
        import trafilatura

        systems.append(("trafilatura %s (default)" % trafilatura.__version__, lambda h: trafilatura.extract(h)))
        systems.append(("trafilatura %s (fast)" % trafilatura.__version__, lambda h: trafilatura.extract(h, fast=True)))
    except ImportError:
        notes.append("trafilatura is not installed: anchor rows skipped (pip install -e '.[dev]')")
    # Warm up imports and caches so that the first system is not charged for them.
    for _, extract in systems:
        for _, html, _ in pages[:3]:
            extract(html)
    results = [run_system(name, extract, pages, args.rounds) for name, extract in systems]

    flatten = _load_flatten()
    if flatten is None:
        notes.append("flattened-text rows skipped: bench/flatten.py with flatten_html() is not there yet")
    else:
        from newsloom.extract import extract_text

        flattened = [(item_id, flatten(html).encode("utf-8"), truth) for item_id, html, truth in pages]
        results.append(
            run_system("newsloom extract_text(flattened page)", lambda t: extract_text(t.decode("utf-8")).text, flattened, args.rounds)
        )
        results.append(run_system("floor: flattened page as is", lambda t: t.decode("utf-8"), flattened, 1))

    if args.json:
        print(json.dumps({"benchmark": "scrapinghub article body", "pages": len(pages), "results": results, "notes": notes}, indent=2))
        return 0
    header = f"{'system':42} {'precision':>9} {'recall':>7} {'F1':>7} {'exact':>6} {'ms/page':>8} {'docs/s':>7}"
    print(f"Scrapinghub article-extraction benchmark, {len(pages)} pages, same run")
    print(header)
    print("-" * len(header))
    for row in results:
        print(
            f"{row['system']:42} {row['precision']:9.3f} {row['recall']:7.3f} {row['f1']:7.3f} "
            f"{row['exact_accuracy']:6.3f} {row['ms_per_page']:8.2f} {row['docs_per_s']:7.1f}"
        )
    fast = next((r for r in results if r["system"].endswith("(fast)")), None)
    if fast:
        print(f"\nnewsloom is {fast['ms_per_page'] / results[0]['ms_per_page']:.1f}x faster than trafilatura fast mode")
    for note in notes:
        print(f"note: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
