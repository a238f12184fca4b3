"""Rebuild the bundled demo corpus in demo/ from ../shared/data (maintainers only; users get demo/ with the clone).

    python scripts/build_demo_corpus.py

Takes only redistributable material (see demo/ATTRIBUTION.md): all ECB+ texts (declared not copyrighted), the
first 40 Scrapinghub benchmark pages (MIT), and the flattened fixture page. The output is deterministic.
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
sys.path.insert(0, str(REPO / "src"))

from newsloom.extract.dates import parse_date_text  # noqa: E402

HYPHEN = re.compile(r"(?<=\w) - (?=\w)")
QUOTED = re.compile(r'" ([^"\n]*?) "')
SPACE_BEFORE_PUNCT = re.compile(r" ([,.;:!?%)])")
SPACE_AFTER_OPEN = re.compile(r"([($]) ")
POSSESSIVE = re.compile(r" ('s|n't|'re|'ve|'ll|'d|')\b")
SPLIT_NUMBER = re.compile(r"(?<=\d)([.:]) (?=\d)")
DATELINE = re.compile(r"^(published|updated|posted|last updated|date)?:?\s*", re.IGNORECASE)


def detokenise(line: str) -> str:
    """Undo the ECB+ tokeniser's spacing (the texts come as tokens joined by spaces)."""
    line = HYPHEN.sub("-", line)
    line = QUOTED.sub(r'"\1"', line)
    line = SPACE_BEFORE_PUNCT.sub(r"\1", line)
    line = SPACE_AFTER_OPEN.sub(r"\1", line)
    line = SPLIT_NUMBER.sub(r"\1", line)
    return POSSESSIVE.sub(r"\1", line)


def ecbplus_records() -> list[dict]:
    records = []
    for line in (SHARED / "data/news/ecbplus/ecbplus_docs.jsonl").open(encoding="utf-8"):
        doc = json.loads(line)
        lines = [detokenise(x.strip()) for x in doc["text"].splitlines() if x.strip()]
        title = lines[0]
        body = lines[1:]
        published_at = None
        # Newer ECB+ documents carry their dateline in the first lines ("May 03, 2013", "Published: 09 Sep 2013"):
        # a date written on the page. "Updated" lines are dropped, never taken as the publication date.
        while body and len(body[0]) < 80 and DATELINE.match(body[0]) and parse_date_text(body[0]):
            line = body.pop(0)
            if published_at is None and not line.lower().startswith(("updated", "last updated")):
                published_at = parse_date_text(line).date().isoformat() + "T00:00:00+00:00"
        if len(title) > 160 or not body:
            body = lines
            title = lines[0][:157].rsplit(" ", 1)[0] + "…" if len(lines[0]) > 160 else lines[0]
        records.append(
            {
                "id": "ecbplus-" + doc["doc_name"].removesuffix(".xml"),
                "url": doc["url"],
                "title": title,
                "text": "\n\n".join(body),
                "published_at": published_at,
                "source": "ECB+ corpus",
            }
        )
    return records


def main() -> None:
    demo = REPO / "demo"
    pages = demo / "pages"
    pages.mkdir(parents=True, exist_ok=True)
    raw = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in ecbplus_records()).encode("utf-8")
    with open(demo / "ecbplus.jsonl.gz", "wb") as handle:
        with gzip.GzipFile(fileobj=handle, mode="wb", compresslevel=9, mtime=0) as out:
            out.write(raw)
    html_dir = SHARED / "data/extraction/scrapinghub/html"
    for source in sorted(html_dir.glob("*.html.gz"))[:40]:
        shutil.copyfile(source, pages / source.name)
    shutil.copyfile(SHARED / "fixtures/flattened-news-page.txt", pages / "flattened-news-page.txt")
    print(f"demo corpus written to {demo}")


if __name__ == "__main__":
    main()
