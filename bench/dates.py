"""Publication-date extraction on the htmldate evaluation set: newsloom vs htmldate, measured in the same run.

    .venv/bin/python bench/dates.py            # table
    .venv/bin/python bench/dates.py --json     # the same figures as JSON
    .venv/bin/python bench/dates.py --rounds 3 # best time of 3 interleaved passes per system (a loaded machine)
    .venv/bin/python bench/dates.py --misses   # also list every page we get wrong: reference, ours (source,
                                               # confidence) and htmldate extensive's answer, for error analysis

Scoring follows htmldate's own evaluation (tests/evaluation.py + comparison.py): the output day "%Y-%m-%d" is
compared with the reference; no output counts as a false negative (and also a true negative when there is no
reference date); precision = tp/(tp+fp), recall = tp/(tp+fn), accuracy = (tp+tn)/all.
newsloom is timed from the page bytes (decode + parse + search); htmldate gets the page already decoded as text,
which is how its evaluation feeds it, so its figure does not include decoding.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "dates" / "htmldate"


def load_entries(folder: Path = DATA) -> list[tuple[str, bytes, str | None]]:
    """(url, page bytes, reference day or None) for the 1,000 pages, resolved like htmldate's evaluation."""
    return [(url, html, reference) for _, url, html, reference in load_named_entries(folder)]


def load_named_entries(folder: Path = DATA) -> list[tuple[str, str, bytes, str | None]]:
    """(file path relative to the set, url, page bytes, reference day or None), in the set's order."""
    entries = []
    for name in ("eval_default.json", "eval_mediacloud_2020.json"):
        for url, entry in json.loads((folder / name).read_text(encoding="utf-8")).items():
            reference = entry["date"]
            if isinstance(reference, float) and math.isnan(reference):
                reference = None
            for sub in ("test_set", "cache", "eval"):
                path = folder / sub / (entry["file"] + ".gz")
                if path.exists():
                    entries.append((f"{sub}/{entry['file']}", url, gzip.decompress(path.read_bytes()), reference))
                    break
    return entries


def score_system(name: str, find: Callable[[str, bytes, str], str | None], entries, texts: list[str]) -> dict:
    tp = fp = fn = tn = 0
    start = time.perf_counter()
    days = []
    for (url, html, _), text in zip(entries, texts):
        try:
            days.append(find(url, html, text))
        except Exception:
            days.append(None)
    elapsed = time.perf_counter() - start
    for day, (_, _, reference) in zip(days, entries):
        if day is None:
            fn += 1
            tn += reference is None
        elif day == reference:
            tp += 1
        else:
            fp += 1
    total = len(entries)
    return {
        "system": name,
        "precision": round(tp / (tp + fp), 4) if tp + fp else 0.0,
        "recall": round(tp / (tp + fn), 4) if tp + fn else 0.0,
        "f1": round(2 * tp / (2 * tp + fp + fn), 4) if tp else 0.0,
        "day_accuracy": round((tp + tn) / total, 4),
        "ms_per_page": round(elapsed / total * 1000, 2),
        "pages": total,
    }


def clear_htmldate_caches() -> None:
    """Empty htmldate's per-string memo caches (``functools.lru_cache`` with a size bound); its one-off set-up
    caches (unbounded: the external parser, month words) are kept, as a long-running process would keep them."""
    import importlib
    import pkgutil

    try:
        import htmldate
    except ImportError:
        return
    for info in pkgutil.iter_modules(htmldate.__path__):
        module = importlib.import_module(f"htmldate.{info.name}")
        for value in vars(module).values():
            cache_info = getattr(value, "cache_info", None)
            if cache_info is not None and cache_info().maxsize is not None:
                value.cache_clear()


def _newsloom(url: str, html: bytes, _text: str) -> str | None:
    from newsloom.extract.dates import find_publication_date

    found = find_publication_date(html, url)
    return found.value.strftime("%Y-%m-%d") if found.value else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--misses", action="store_true", help="list the pages newsloom gets wrong")
    parser.add_argument("--rounds", type=int, default=1, help="time every system this many times, keep the best")
    args = parser.parse_args(argv)
    if not (DATA / "eval_default.json").exists():
        print(f"skipped: the htmldate evaluation set is not at {DATA}", file=sys.stderr)
        return 0
    from newsloom.errors import DecodeError
    from newsloom.extract.decode import decode_bytes

    entries = load_entries()
    texts = []
    for _, html, _ in entries:
        try:
            texts.append(decode_bytes(html))
        except DecodeError:
            texts.append(html.decode("utf-8", "replace"))
    systems: list[tuple[str, Callable]] = [("newsloom", _newsloom)]
    notes = []
    try:
        import htmldate
        from htmldate import find_date

        version = getattr(htmldate, "__version__", "?")
        systems.append((f"htmldate {version} (extensive)", lambda u, h, t: find_date(t, original_date=True, extensive_search=True)))
        systems.append((f"htmldate {version} (fast)", lambda u, h, t: find_date(t, original_date=True, extensive_search=False)))
    except ImportError:
        notes.append("htmldate is not installed: anchor rows skipped (pip install -e '.[dev]')")
    for _, find in systems:  # warm-up: imports and caches
        for url, html, _ in entries[:3]:
            find(url, html, html.decode("utf-8", "replace"))
    results = []
    for name, find in systems:
        clear_htmldate_caches()
        results.append(score_system(name, find, entries, texts))
    # Further rounds, interleaved so that every system sees the same machine load; the best time counts.
    # htmldate memoises its parsing of date strings, so its caches are emptied before each pass: a second pass
    # over the same pages would otherwise time cache hits, not date finding on pages it has not seen.
    for _ in range(args.rounds - 1):
        for row, (name, find) in zip(results, systems):
            clear_htmldate_caches()
            row["ms_per_page"] = min(row["ms_per_page"], score_system(name, find, entries, texts)["ms_per_page"])
    if len(results) > 1 and results[1]["ms_per_page"]:
        notes.append(f"time ratio newsloom / htmldate extensive: {results[0]['ms_per_page'] / results[1]['ms_per_page']:.2f}")
    if args.json:
        print(json.dumps({"benchmark": "htmldate publication dates", "pages": len(entries), "results": results, "notes": notes}, indent=2))
        return 0
    header = f"{'system':30} {'precision':>9} {'recall':>7} {'F1':>7} {'day acc.':>8} {'ms/page':>8}"
    print(f"htmldate evaluation set, {len(entries)} pages, same run")
    print(header)
    print("-" * len(header))
    for row in results:
        print(
            f"{row['system']:30} {row['precision']:9.3f} {row['recall']:7.3f} {row['f1']:7.3f} "
            f"{row['day_accuracy']:8.3f} {row['ms_per_page']:8.2f}"
        )
    for note in notes:
        print(f"note: {note}")
    if args.misses:
        print_misses(texts)
    return 0


def print_misses(texts: list[str]) -> None:
    """Every page whose day we get wrong, with the evidence we used and htmldate extensive's answer."""
    from newsloom.extract.dates import find_publication_date

    try:
        from htmldate import find_date
    except ImportError:
        find_date = None
    print("\nmisses: file | reference | ours (source, confidence) | htmldate extensive")
    count = 0
    for (name, url, html, reference), text in zip(load_named_entries(), texts):
        found = find_publication_date(html, url)
        day = found.value.strftime("%Y-%m-%d") if found.value else None
        if day == reference:
            continue
        count += 1
        anchor = find_date(text, original_date=True, extensive_search=True) if find_date else "-"
        print(f"{name} | {reference} | {day} ({found.source}, {found.confidence:.2f}) | {anchor}")
    print(f"{count} misses")


if __name__ == "__main__":
    sys.exit(main())
