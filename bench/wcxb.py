"""WCXB (Web Content eXtraction Benchmark, dev split): newsloom vs trafilatura (and htmldate for dates), same run.

    .venv/bin/python bench/wcxb.py                 # tables: body per page type, metadata, page type, speed
    .venv/bin/python bench/wcxb.py --json          # the same figures as JSON
    .venv/bin/python bench/wcxb.py --rounds 3      # best time of 3 passes per system (quality is the same)
    .venv/bin/python bench/wcxb.py --limit 200     # the first N pages (quick look)
    .venv/bin/python bench/wcxb.py --no-anchors    # newsloom only (fast loop while editing)
    .venv/bin/python bench/wcxb.py --dump out.jsonl  # per-page figures of every system, for error analysis
    .venv/bin/python bench/wcxb.py --no-anchors --types listing,product --half odd --anchors-from out.jsonl
        # fast loop: some page types, every other page, the anchors' per-page F1 read from an earlier dump

Data: ``../shared/data/extraction/wcxb-dev`` (1,497 pages of 7 page types, CC BY 4.0, Murrough Foley 2026).

Metric, as the WCXB README describes it:
* body: word-level F1 between the extraction and ``main_content`` (``\\w+`` tokens, lower-cased, bag of words
  with counts); precision, recall and F1 are computed per page and averaged over pages (overall and per page type).
* snippets: ``with`` snippets must appear in the extraction, ``without`` snippets (boilerplate) must not. A snippet
  "appears" when its word sequence (same tokenisation) is a contiguous part of the extraction's word sequence.
  Reported as the share of ``with`` snippets found and the share of ``without`` snippets kept out.
* title: exact match after Unicode (NFKC) and whitespace normalisation, typographic quotes and dashes read as
  ASCII ones, ignoring case, on pages with a title.
* author: the same normalisation, a leading "By" dropped, on pages with an author; counted right when the set of
  names matches (split on commas, "&" and "and"), so "A and B" equals "A, B".
* date: the day ("%Y-%m-%d") against ``publish_date``; "day accuracy" on pages with a reference date, and the
  htmldate-style accuracy over all pages (no output on an undated page counts as right).
* page type: article vs not, ours (``Article.page_type``) against WCXB's label.
Time is the whole path from the page's bytes: newsloom ``extract_html`` (decode, parse, body, metadata, date,
page type); trafilatura ``bare_extraction`` with metadata (body, title, author, date); htmldate ``find_date``
(extensive) on the decoded page.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import time
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "extraction" / "wcxb-dev"
PAGE_TYPES = ("article", "documentation", "service", "forum", "collection", "listing", "product")

_WORD = re.compile(r"\w+")
_SPACE = re.compile(r"\s+")
_BY = re.compile(r"^(?:by|von|par|por|door)\s*:?\s+", re.IGNORECASE)
_NAME_SPLIT = re.compile(r"\s*(?:,|&|\band\b|\bund\b|\bet\b|\by\b|;|\|)\s*", re.IGNORECASE)


@dataclass(slots=True)
class Page:
    """One WCXB page: its id, type, URL, HTML bytes and ground truth."""

    file_id: str
    page_type: str
    url: str | None
    html: bytes
    truth: dict


@dataclass(slots=True)
class Output:
    """What one system returned for one page."""

    text: str = ""
    title: str | None = None
    author: str | None = None
    day: str | None = None
    is_article: bool | None = None


@dataclass(slots=True)
class BodyScore:
    precision: float
    recall: float
    f1: float
    with_found: int
    with_total: int
    without_kept_out: int
    without_total: int


# --- The metric ------------------------------------------------------------------------------------------------


def words(text: str) -> list[str]:
    return _WORD.findall((text or "").lower())


def word_prf(predicted: str, reference: str) -> tuple[float, float, float]:
    """Bag-of-words precision, recall and F1 (the WCXB README's ``word_f1``, with P and R kept)."""
    from collections import Counter

    pred = Counter(words(predicted))
    ref = Counter(words(reference))
    if not ref:
        return (1.0, 1.0, 1.0) if not pred else (0.0, 1.0, 0.0)
    if not pred:
        return 0.0, 0.0, 0.0
    overlap = sum((pred & ref).values())
    precision = overlap / sum(pred.values())
    recall = overlap / sum(ref.values())
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def contains_snippet(text_words: str, snippet: str) -> bool:
    """``text_words`` is the extraction's words joined by single spaces (see ``words``)."""
    needle = " ".join(words(snippet))
    return bool(needle) and f" {needle} " in f" {text_words} "


def body_score(predicted: str, truth: dict) -> BodyScore:
    precision, recall, f1 = word_prf(predicted, truth.get("main_content") or "")
    joined = " ".join(words(predicted))
    with_snippets = [s for s in truth.get("with") or [] if words(s)]
    without_snippets = [s for s in truth.get("without") or [] if words(s)]
    return BodyScore(
        precision,
        recall,
        f1,
        sum(contains_snippet(joined, s) for s in with_snippets),
        len(with_snippets),
        sum(not contains_snippet(joined, s) for s in without_snippets),
        len(without_snippets),
    )


_TYPOGRAPHY = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-", "\u00b6": " "})


def normalized(text: str | None) -> str:
    """NFKC, typographic quotes and dashes as ASCII, pilcrow anchors dropped, whitespace squashed, case folded."""
    text = unicodedata.normalize("NFKC", text or "").translate(_TYPOGRAPHY)
    return _SPACE.sub(" ", text).strip().casefold()


def title_matches(found: str | None, reference: str) -> bool:
    return bool(found) and normalized(found) == normalized(reference)


def author_names(text: str | None) -> frozenset[str]:
    cleaned = _BY.sub("", normalized(text))
    return frozenset(name.strip(" .") for name in _NAME_SPLIT.split(cleaned) if name.strip(" ."))


def author_matches(found: str | None, reference: str) -> bool:
    return bool(found) and author_names(found) == author_names(reference)


def reference_day(truth: dict) -> str | None:
    raw = truth.get("publish_date")
    if not raw or not isinstance(raw, str):
        return None
    match = re.match(r"(\d{4})-(\d{2})-(\d{2})", raw.strip())
    return match.group(0) if match else None


# --- Loading and running ---------------------------------------------------------------------------------------


def load_pages(folder: Path = DATA, split: str = "dev", every: int = 1) -> list[Page]:
    """The pages of the split with their ground truth, sorted by file id (``every``: only every n-th one)."""
    metadata = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))["files"]
    pages = []
    for truth_path in sorted((folder / split / "ground-truth").glob("*.json"))[::every]:
        record = json.loads(truth_path.read_text(encoding="utf-8"))
        file_id = record.get("file_id") or truth_path.stem
        html_path = folder / split / "html" / f"{truth_path.stem}.html.gz"
        if not html_path.exists():
            continue
        page_type = (metadata.get(file_id) or {}).get("page_type") or record["_internal"]["page_type"]["primary"]
        pages.append(Page(file_id, page_type, record.get("url"), gzip.decompress(html_path.read_bytes()), record["ground_truth"]))
    return pages


def newsloom_output(page: Page) -> Output:
    from newsloom.extract.html import extract_html

    article = extract_html(page.html, url=page.url)
    day = article.published_at.strftime("%Y-%m-%d") if article.published_at else None
    return Output("\n\n".join(article.paragraphs), article.title, article.author, day, article.page_type == "article")


def trafilatura_output(page: Page) -> Output:
    import trafilatura

    document = trafilatura.bare_extraction(page.html, url=page.url, with_metadata=True)
    if document is None:
        return Output()
    get = document.get if isinstance(document, dict) else lambda key: getattr(document, key, None)
    return Output(get("text") or "", get("title"), get("author"), (get("date") or None) and str(get("date"))[:10])


def htmldate_output(page: Page, text: str) -> Output:
    from htmldate import find_date

    return Output(day=find_date(text, url=page.url, original_date=True, extensive_search=True))


def run(name: str, produce: Callable[[Page], Output], pages: list[Page], rounds: int) -> tuple[list[Output], float]:
    """Outputs of one system and its best whole-pass time in ms/page."""
    outputs: list[Output] = []
    best = float("inf")
    for _ in range(max(1, rounds)):
        outputs = []
        start = time.perf_counter()
        for page in pages:
            try:
                outputs.append(produce(page))
            except Exception:  # a failure on one page scores zero there, for anchors and for us
                outputs.append(Output())
        best = min(best, time.perf_counter() - start)
    return outputs, best / max(1, len(pages)) * 1000


@dataclass(slots=True)
class Summary:
    pages: int = 0
    precision: float = 0.0
    recall: float = 0.0
    f1: float = 0.0
    with_found: int = 0
    with_total: int = 0
    without_kept_out: int = 0
    without_total: int = 0
    extras: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        n = max(1, self.pages)
        return {
            "pages": self.pages,
            "precision": round(self.precision / n, 4),
            "recall": round(self.recall / n, 4),
            "f1": round(self.f1 / n, 4),
            "with_found": round(self.with_found / max(1, self.with_total), 4),
            "without_kept_out": round(self.without_kept_out / max(1, self.without_total), 4),
        }


def summarize_body(scores: Iterable[tuple[str, BodyScore]]) -> dict[str, dict]:
    """Mean P/R/F1 and snippet rates, overall ("all") and per page type."""
    groups: dict[str, Summary] = {}
    for page_type, score in scores:
        for key in ("all", page_type):
            summary = groups.setdefault(key, Summary())
            summary.pages += 1
            summary.precision += score.precision
            summary.recall += score.recall
            summary.f1 += score.f1
            summary.with_found += score.with_found
            summary.with_total += score.with_total
            summary.without_kept_out += score.without_kept_out
            summary.without_total += score.without_total
    return {key: summary.as_dict() for key, summary in groups.items()}


def metadata_accuracy(outputs: list[Output], pages: list[Page]) -> dict:
    titled = [(o, p) for o, p in zip(outputs, pages) if p.truth.get("title")]
    authored = [(o, p) for o, p in zip(outputs, pages) if p.truth.get("author")]
    dated = [(o, p) for o, p in zip(outputs, pages) if reference_day(p.truth)]
    undated_right = sum(o.day is None for o, p in zip(outputs, pages) if not reference_day(p.truth))
    day_right = sum(o.day == reference_day(p.truth) for o, p in dated)
    return {
        "title_exact": round(sum(title_matches(o.title, p.truth["title"]) for o, p in titled) / max(1, len(titled)), 4),
        "titled_pages": len(titled),
        "author": round(sum(author_matches(o.author, p.truth["author"]) for o, p in authored) / max(1, len(authored)), 4),
        "authored_pages": len(authored),
        "day_on_dated": round(day_right / max(1, len(dated)), 4),
        "dated_pages": len(dated),
        "day_accuracy_all": round((day_right + undated_right) / max(1, len(pages)), 4),
        "false_dates_on_undated": sum(o.day is not None for o, p in zip(outputs, pages) if not reference_day(p.truth)),
    }


def page_type_accuracy(outputs: list[Output], pages: list[Page]) -> dict:
    judged = [(o, p) for o, p in zip(outputs, pages) if o.is_article is not None]
    if not judged:
        return {}
    right = sum(o.is_article == (p.page_type == "article") for o, p in judged)
    articles = [(o, p) for o, p in judged if p.page_type == "article"]
    others = [(o, p) for o, p in judged if p.page_type != "article"]
    return {
        "accuracy": round(right / len(judged), 4),
        "article_recall": round(sum(o.is_article for o, _ in articles) / max(1, len(articles)), 4),
        "non_article_recall": round(sum(not o.is_article for o, _ in others) / max(1, len(others)), 4),
    }


def evaluate(name: str, outputs: list[Output], pages: list[Page], ms_per_page: float | None) -> dict:
    scores = [body_score(o.text, p.truth) for o, p in zip(outputs, pages)]
    return {
        "system": name,
        "ms_per_page": round(ms_per_page, 2) if ms_per_page is not None else None,
        "body": summarize_body(zip((p.page_type for p in pages), scores)),
        "metadata": metadata_accuracy(outputs, pages),
        "page_type": page_type_accuracy(outputs, pages),
        "per_page_f1": [round(s.f1, 4) for s in scores],
    }


# --- Printing --------------------------------------------------------------------------------------------------


def print_tables(results: list[dict], pages: list[Page]) -> None:
    print(f"WCXB dev, {len(pages)} pages, same run (metric: WCXB word F1, per-page mean; snippets)")
    keys = ["all", *[t for t in PAGE_TYPES if any(p.page_type == t for p in pages)]]
    body_rows = [r for r in results if r["body"]["all"]["pages"] and r["system"] != "htmldate"]
    header = f"{'page type':14} {'pages':>5} " + " ".join(f"{r['system'][:22]:>22}" for r in body_rows)
    print("\nBody F1 (precision / recall)")
    print(header)
    print("-" * len(header))
    for key in keys:
        cells = []
        for r in body_rows:
            b = r["body"].get(key)
            cells.append(f"{b['f1']:.3f} ({b['precision']:.2f}/{b['recall']:.2f})" if b else "-")
        pages_in = body_rows[0]["body"].get(key, {}).get("pages", 0)
        print(f"{key:14} {pages_in:5d} " + " ".join(f"{c:>22}" for c in cells))
    print("\nSnippets (all pages): share of 'with' found / share of 'without' kept out")
    for r in body_rows:
        b = r["body"]["all"]
        print(f"  {r['system']:30} {b['with_found']:.3f} / {b['without_kept_out']:.3f}")
    print("\nMetadata")
    m0 = results[0]["metadata"]
    print(
        f"  {'system':30} {'title':>7} {'author':>7} {'day(dated)':>10} {'day(all)':>8} {'false dates':>11}"
        f"   [pages: {m0['titled_pages']} titled, {m0['authored_pages']} with author, {m0['dated_pages']} dated]"
    )
    for r in results:
        m = r["metadata"]
        has_text = r["system"] != "htmldate"
        title = f"{m['title_exact']:7.3f}" if has_text else f"{'-':>7}"
        author = f"{m['author']:7.3f}" if has_text else f"{'-':>7}"
        print(f"  {r['system']:30} {title} {author} {m['day_on_dated']:10.3f} {m['day_accuracy_all']:8.3f} {m['false_dates_on_undated']:11d}")
    for r in results:
        if r["page_type"]:
            t = r["page_type"]
            print(
                f"\nPage type (article vs not), {r['system']}: accuracy {t['accuracy']:.3f} "
                f"(articles found {t['article_recall']:.3f}, non-articles found {t['non_article_recall']:.3f})"
            )
    print("\nSpeed (whole path, best of rounds)")
    for r in results:
        if r["ms_per_page"] is not None:
            print(f"  {r['system']:30} {r['ms_per_page']:8.2f} ms/page")


def print_cached_anchors(ours: dict, pages: list[Page], dump: Path) -> None:
    """Per-type body F1 of the anchors recorded in an earlier ``--dump`` run, on the same pages, next to ours
    from this run (the anchors' text does not change between runs; ours does)."""
    rows = {}
    for line in dump.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        rows[row["file_id"]] = row
    missing = sum(p.file_id not in rows for p in pages)
    anchors = sorted({k for row in rows.values() for k, v in row.items() if isinstance(v, dict) and "f1" in v} - {"newsloom", "htmldate"})
    keys = ["all", *[t for t in PAGE_TYPES if any(p.page_type == t for p in pages)]]
    print(f"\nBody F1: ours (this run) vs anchors cached in {dump} ({missing} pages missing there)")
    header = f"{'page type':14} {'pages':>5} {ours['system']:>10} " + " ".join(f"{a[:22]:>22}" for a in anchors)
    print(header)
    print("-" * len(header))
    for key in keys:
        chosen = [(i, p) for i, p in enumerate(pages) if key in ("all", p.page_type) and p.file_id in rows]
        if not chosen:
            continue
        mine = sum(ours["per_page_f1"][i] for i, _ in chosen) / len(chosen)
        theirs = [sum(rows[p.file_id][a]["f1"] for _, p in chosen) / len(chosen) for a in anchors]
        print(f"{key:14} {len(chosen):5d} {mine:10.3f} " + " ".join(f"{t:22.3f}" for t in theirs))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--rounds", type=int, default=1, help="passes per system; the best time is kept")
    parser.add_argument("--limit", type=int, default=0, help="only the first N pages (quick look)")
    parser.add_argument("--no-anchors", action="store_true", help="newsloom only")
    parser.add_argument("--dump", type=Path, help="write per-page outputs and scores of every system as JSON lines")
    parser.add_argument("--types", help="only these page types, comma-separated (e.g. listing,documentation)")
    parser.add_argument("--half", choices=("even", "odd"), help="only the pages at even or odd positions (by file id)")
    parser.add_argument("--anchors-from", type=Path, help="a --dump file: print its anchors' F1 on the same pages")
    args = parser.parse_args(argv)
    if not (DATA / "metadata.json").exists():
        print(f"skipped: the WCXB data is not at {DATA}", file=sys.stderr)
        return 0
    pages = load_pages()
    if args.half:
        pages = pages[args.half == "odd" :: 2]
    if args.types:
        wanted = {t.strip() for t in args.types.split(",") if t.strip()}
        unknown = wanted - set(PAGE_TYPES)
        if unknown:
            parser.error(f"unknown page types: {', '.join(sorted(unknown))} (known: {', '.join(PAGE_TYPES)})")
        pages = [p for p in pages if p.page_type in wanted]
    if args.limit:
        pages = pages[: args.limit]
    notes: list[str] = []
    systems: list[tuple[str, Callable[[Page], Output]]] = [("newsloom", newsloom_output)]
    if not args.no_anchors:
        try:
            import trafilatura

            systems.append((f"trafilatura {trafilatura.__version__}", trafilatura_output))
        except ImportError:
            notes.append("trafilatura is not installed: anchor skipped (pip install -e '.[dev]')")
        try:
            import htmldate  # noqa: F401

            from newsloom.errors import DecodeError
            from newsloom.extract.decode import decode_bytes

            texts: dict[str, str] = {}
            for page in pages:
                try:
                    texts[page.file_id] = decode_bytes(page.html)
                except DecodeError:
                    texts[page.file_id] = page.html.decode("utf-8", "replace")
            systems.append(("htmldate", lambda page: htmldate_output(page, texts[page.file_id])))
        except ImportError:
            notes.append("htmldate is not installed: date anchor skipped")
    for _, produce in systems:  # warm-up: imports and caches
        for page in pages[:3]:
            try:
                produce(page)
            except Exception:
                pass
    results = []
    all_outputs = []
    for name, produce in systems:
        outputs, ms = run(name, produce, pages, args.rounds)
        all_outputs.append(outputs)
        results.append(evaluate(name, outputs, pages, ms))
    if args.dump:
        with args.dump.open("w", encoding="utf-8") as out:
            for index, page in enumerate(pages):
                row = {"file_id": page.file_id, "page_type": page.page_type, "url": page.url}
                for (name, _), outputs, result in zip(systems, all_outputs, results):
                    o = outputs[index]
                    row[name] = {
                        "f1": result["per_page_f1"][index], "title": o.title, "author": o.author, "day": o.day,
                        "is_article": o.is_article, "chars": len(o.text),
                    }
                row["truth"] = {k: page.truth.get(k) for k in ("title", "author", "publish_date")}
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
    if args.json:
        for r in results:
            r.pop("per_page_f1")
        print(json.dumps({"benchmark": "WCXB dev", "pages": len(pages), "results": results, "notes": notes}, indent=2))
        return 0
    print_tables(results, pages)
    if args.anchors_from:
        print_cached_anchors(results[0], pages, args.anchors_from)
    for note in notes:
        print(f"note: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
