"""WARC/WET throughput: records per second for reading alone and for the whole path (read + extract).

    .venv/bin/python bench/warc.py                    # 3,000 records per archive (default)
    .venv/bin/python bench/warc.py --records 5000 --extract-records 362 --json

The bench writes its own archives in a temporary folder from real pages: the 181 Scrapinghub benchmark pages
(../shared/data/extraction/scrapinghub/html/*.html.gz, MIT), repeated with distinct URLs up to --records, as
a .warc.gz of HTTP response records (one gzip member per record, as crawlers write them), and the same pages
flattened to text (resiliparse, via bench/flatten.py, single newlines as in Common Crawl WET) as a .wet.gz of
conversion records.

Rows, all measured in this run on the same files:
- anchor, reading: FastWARC's bare ArchiveIterator reading every record block, nothing else (the ceiling);
- newsloom.sources.warc.iter_warc: RawDocuments with offsets, HTTP headers parsed, type filtering, checks;
- whole path: iter_warc + newsloom.extract.extract on the first --extract-records records (default 181: each
  distinct page once, so per-pattern caches in the extractors do not flatter the figure);
- anchor, whole path: FastWARC + trafilatura.extract on the same records (HTML only; trafilatura has no
  flattened-text mode).
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from newsloom.errors import NewsloomError
from newsloom.extract import extract
from newsloom.sources.warc import WarcPage, iter_warc, write_warc

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "extraction" / "scrapinghub"
CRAWLED = datetime(2020, 1, 15, tzinfo=timezone.utc)


def load_html_pages() -> list[tuple[str, bytes]]:
    truth = json.loads((DATA / "ground-truth.json").read_text(encoding="utf-8"))
    return [(truth[i]["url"], gzip.decompress((DATA / "html" / f"{i}.html.gz").read_bytes())) for i in sorted(truth)]


def load_flatten() -> Callable[[bytes], str] | None:
    spec = importlib.util.spec_from_file_location("bench_flatten", REPO / "bench" / "flatten.py")
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
        return lambda html: module.flatten_html(html, "resiliparse", "wet")
    except (ImportError, AttributeError) as exc:
        print(f"note: no flattener ({exc}); WET rows skipped", file=sys.stderr)
        return None


def write_archives(folder: Path, records: int) -> tuple[Path, Path | None]:
    pages = load_html_pages()
    repeated = [WarcPage(f"{url}{'&' if '?' in url else '?'}copy={n}", html, CRAWLED)
                for n in range(records // len(pages) + 1) for url, html in pages][:records]
    warc_path = folder / "pages.warc.gz"
    write_warc(warc_path, repeated)
    flatten = load_flatten()
    if flatten is None:
        return warc_path, None
    texts = [(url, flatten(html).encode("utf-8")) for url, html in pages]
    wet = [WarcPage(f"{url}{'&' if '?' in url else '?'}copy={n}", text, CRAWLED, wet=True)
           for n in range(records // len(texts) + 1) for url, text in texts][:records]
    wet_path = folder / "pages.wet.gz"
    write_warc(wet_path, wet)
    return warc_path, wet_path


def timed(function: Callable[[], int], rounds: int) -> tuple[int, float]:
    best = float("inf")
    count = 0
    for _ in range(rounds):
        started = time.perf_counter()
        count = function()
        best = min(best, time.perf_counter() - started)
    return count, best


def bare_fastwarc(path: Path, limit: int | None = None) -> int:
    from fastwarc.warc import ArchiveIterator

    count = 0
    for record in ArchiveIterator(str(path), parse_http=False):
        record.reader.read()
        count += 1
        if limit is not None and count >= limit:
            break
    return count


def ours_reading(path: Path) -> int:
    return sum(1 for _ in iter_warc(path))


def ours_whole(path: Path, limit: int) -> int:
    done = 0
    for _, doc in iter_warc(path):
        try:
            extract(doc)
        except NewsloomError:
            pass
        done += 1
        if done >= limit:
            break
    return done


def trafilatura_whole(path: Path, limit: int) -> int:
    import trafilatura
    from fastwarc.warc import ArchiveIterator

    done = 0
    for record in ArchiveIterator(str(path), parse_http=True):
        if record.headers.get("WARC-Type") != "response":
            continue
        trafilatura.extract(record.reader.read(), url=record.headers.get("WARC-Target-URI"))
        done += 1
        if done >= limit:
            break
    return done


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=3000, help="records per archive")
    parser.add_argument("--extract-records", type=int, default=181,
                        help="records for the whole-path rows (181 = every distinct page once)")
    parser.add_argument("--rounds", type=int, default=2, help="best of N passes for the reading rows")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not DATA.is_dir():
        print(f"skipped: benchmark pages not found at {DATA}", file=sys.stderr)
        return 0
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="newsloom-warc-bench-") as tmp:
        warc_path, wet_path = write_archives(Path(tmp), args.records)
        archives = [("warc.gz (HTML responses)", warc_path)] + ([("wet.gz (flattened text)", wet_path)] if wet_path else [])
        for label, path in archives:
            size_mb = path.stat().st_size / 1e6
            plans: list[tuple[str, Callable[[], int], int]] = [
                ("anchor: FastWARC bare read", lambda p=path: bare_fastwarc(p), args.rounds),
                ("newsloom iter_warc", lambda p=path: ours_reading(p), args.rounds),
                ("newsloom iter_warc + extract", lambda p=path: ours_whole(p, args.extract_records), 1),
            ]
            if path is warc_path:
                plans.append(("anchor: FastWARC + trafilatura.extract",
                              lambda p=path: trafilatura_whole(p, args.extract_records), 1))
            for name, function, rounds in plans:
                count, seconds = timed(function, rounds)
                rows.append({"archive": label, "size_mb": round(size_mb, 1), "system": name, "records": count,
                             "seconds": round(seconds, 3), "records_per_s": round(count / seconds, 1)})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'archive':<26} {'system':<40} {'records':>8} {'seconds':>8} {'records/s':>10}")
    for row in rows:
        print(f"{row['archive']:<26} {row['system']:<40} {row['records']:>8} {row['seconds']:>8} {row['records_per_s']:>10}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
