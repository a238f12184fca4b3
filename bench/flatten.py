"""Benchmark: article extraction from FLATTENED page text (newsloom.extract.text.extract_text).

Each Scrapinghub benchmark page (181 news articles with article-body ground truth, MIT) is turned into
whole-page text by an independent third-party HTML-to-text converter, never by newsloom's own code, so the
extractor cannot be tuned to its own flattener. ``extract_text`` then has to find the article in that text.

    python bench/flatten.py                       # resiliparse, blocks separated by blank lines
    python bench/flatten.py --converter inscriptis
    python bench/flatten.py --converter html2text
    python bench/flatten.py --style wet           # single newlines between blocks, as in Common Crawl WET
    python bench/flatten.py --style wrapped       # hard-wrapped at 76 columns, as lynx/w3m dumps are
    python bench/flatten.py --all                 # every converter x style
    python bench/flatten.py --cells spaces        # table cells run together with spaces (older runs)
    python bench/flatten.py --split held          # only the held-out half (stable hash of the item id)

Printed next to ours, measured in the same run: the floor (the flattened text itself as the "extraction";
the benchmark's published full-page figure is 0.665). Metric: newsloom.evaluation (word 4-gram shingles,
per-page P/R averaged, F1 of the means).

Converters: resiliparse ``extract_plain_text(main_content=False)`` and inscriptis ``get_text`` (both in the
`dev` extra); html2text (links and images dropped, no wrapping) when installed by hand (it is GPL-3.0, so it
is not a project dependency).

Table cells: resiliparse writes the cells of a table row on one line separated by tabs. By default that tab
is kept (every other run of white space inside a line becomes one space), as a crawler storing the
converter's output would keep it; ``--cells spaces`` turns it into a space as earlier runs did, so both
inputs can be measured.

Held-out split: ``--split dev`` / ``--split held`` score one half of the pages, chosen by a stable hash of the
item id, so a rule found while looking at one half can be checked on pages it was not found on.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import importlib.util
import json
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

from newsloom.errors import NewsloomError
from newsloom.evaluation import CorpusScore, PageScore, corpus_score, page_score
from newsloom.extract.text import extract_text

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "extraction" / "scrapinghub"
CONVERTERS = ("resiliparse", "inscriptis", "html2text")
STYLES = ("blocks", "wet", "wrapped")
CELLS = ("tabs", "spaces")
SPLITS = ("all", "dev", "held")


def _decode(html: bytes) -> str:
    from resiliparse.parse.encoding import bytes_to_str, detect_encoding

    return bytes_to_str(html, detect_encoding(html))


def _resiliparse(html: str) -> str:
    from resiliparse.extract.html2text import extract_plain_text

    return extract_plain_text(html, main_content=False, alt_texts=False, links=False)


def _inscriptis(html: str) -> str:
    from inscriptis import get_text

    return get_text(html)


def _html2text(html: str) -> str:
    import html2text

    converter = html2text.HTML2Text()
    converter.ignore_links = True
    converter.ignore_images = True
    converter.body_width = 0  # no hard wrapping: one paragraph, one line
    converter.unicode_snob = True
    return converter.handle(html)


_CONVERT: dict[str, Callable[[str], str]] = {
    "resiliparse": _resiliparse,
    "inscriptis": _inscriptis,
    "html2text": _html2text,
}


def _clean_line(line: str, cells: str) -> str:
    """One line with its white space collapsed; table cells stay tab-separated unless ``cells="spaces"``."""
    if cells == "spaces" or "\t" not in line.strip():
        return " ".join(line.split())
    return "\t".join(" ".join(cell.split()) for cell in line.split("\t") if cell.strip())


def flatten_html(html: bytes, converter: str = "resiliparse", style: str = "blocks", cells: str = "tabs") -> str:
    """The whole page as text, by a third-party converter (no main-content selection).

    ``style="blocks"`` renders like a crawler text dump: every line a block, blocks separated by one blank
    line. ``style="wet"`` puts a single newline between blocks, as Common Crawl WET records do.
    ``style="wrapped"`` is "blocks" hard-wrapped at 76 columns, as terminal browsers dump pages.
    ``cells="tabs"`` keeps the tab the converter puts between table cells; ``"spaces"`` replaces it.
    """
    if converter not in _CONVERT:
        raise ValueError(f"unknown converter {converter!r}; choose one of {', '.join(CONVERTERS)}")
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; choose one of {', '.join(STYLES)}")
    if cells not in CELLS:
        raise ValueError(f"unknown cells {cells!r}; choose one of {', '.join(CELLS)}")
    text = _CONVERT[converter](_decode(html))
    lines = [_clean_line(line, cells) for line in text.splitlines()]
    lines = [line for line in lines if line]
    if style == "wrapped":
        return "\n\n".join(textwrap.fill(line, 76, expand_tabs=False) for line in lines)
    return ("\n\n" if style == "blocks" else "\n").join(lines)


def available_converters() -> list[str]:
    """The converters whose package is installed."""
    return [name for name in CONVERTERS if importlib.util.find_spec(name) is not None]


def in_split(item_id: str, split: str) -> bool:
    """Whether a page belongs to a split: "dev" and "held" are the two halves by a stable hash of the id."""
    if split == "all":
        return True
    held = hashlib.sha256(item_id.encode("utf-8")).digest()[0] % 2 == 1
    return held if split == "held" else not held


def load_pages(data: Path = DATA, split: str = "all") -> list[tuple[str, bytes, str, str]]:
    """(item id, html bytes, ground-truth body, url) for every benchmark page of the split, in id order."""
    truth = json.loads((data / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for item_id in sorted(truth):
        if not in_split(item_id, split):
            continue
        html = gzip.decompress((data / "html" / f"{item_id}.html.gz").read_bytes())
        pages.append((item_id, html, truth[item_id]["articleBody"], truth[item_id]["url"]))
    return pages


def score_pages(
    pages: list[tuple[str, bytes, str, str]], converter: str, style: str, cells: str = "tabs"
) -> tuple[CorpusScore, CorpusScore, list[tuple[str, PageScore]], float, int]:
    """Ours and the floor over the pages; per-page scores of ours; seconds spent in extract_text; failures."""
    ours: list[tuple[str, PageScore]] = []
    floor: list[PageScore] = []
    seconds, failures = 0.0, 0
    for item_id, html, truth, url in pages:
        flat = flatten_html(html, converter, style, cells)
        floor.append(page_score(flat, truth))
        started = time.perf_counter()
        try:
            predicted = extract_text(flat, url=url).text
        except NewsloomError:
            predicted, failures = "", failures + 1
        seconds += time.perf_counter() - started
        ours.append((item_id, page_score(predicted, truth)))
    return corpus_score(s for _, s in ours), corpus_score(floor), ours, seconds, failures


def _line(name: str, score: CorpusScore) -> str:
    return f"  {name:<28} P {score.precision:.3f}  R {score.recall:.3f}  F1 {score.f1:.3f}  exact {score.accuracy:.3f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--converter", choices=CONVERTERS, default="resiliparse")
    parser.add_argument("--style", choices=STYLES, default="blocks")
    parser.add_argument("--cells", choices=CELLS, default="tabs", help="table cells as the converter wrote them or as spaces")
    parser.add_argument("--split", choices=SPLITS, default="all", help="all pages or one half (dev / held-out)")
    parser.add_argument("--all", action="store_true", help="every converter and style")
    parser.add_argument("--worst", type=int, default=0, help="list the N worst pages (by F1)")
    args = parser.parse_args(argv)
    if not (DATA / "ground-truth.json").exists():
        print(f"skipped: benchmark data not found at {DATA}", file=sys.stderr)
        return 0
    pages = load_pages(split=args.split)
    converters = available_converters() if args.all else [args.converter]
    if args.converter not in available_converters():
        print(f"skipped: the {args.converter} package is not installed (pip install {args.converter})", file=sys.stderr)
        return 0
    runs = [(c, s) for c in converters for s in STYLES] if args.all else [(args.converter, args.style)]
    print(f"Scrapinghub article benchmark, {len(pages)} pages ({args.split}), flattened by a third-party converter, "
          f"table cells as {args.cells}")
    for converter, style in runs:
        ours, floor, per_page, seconds, failures = score_pages(pages, converter, style, args.cells)
        print(f"{converter} ({style}):")
        print(_line("newsloom extract_text", ours) + f"  ({seconds / len(pages) * 1000:.1f} ms/page, {failures} errors)")
        print(_line("floor: whole flattened text", floor))
        if args.worst:
            for item_id, s in sorted(per_page, key=lambda p: 2 * p[1].precision * p[1].recall / (p[1].precision + p[1].recall or 1))[: args.worst]:
                print(f"    {item_id[:16]}  P {s.precision:.2f}  R {s.recall:.2f}")
    print("for reference, published on the HTML pages: full-page text F1 0.665, trafilatura 2.0 F1 0.958")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
