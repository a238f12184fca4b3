"""Articles made from real texts for the reliability tests (crash safety, load): distinct combinations of real
paragraphs from the repository's fixtures (ECB+ reports, flattened Scrapinghub pages), so a fresh clone has them.

Each title carries a marker word (``nlrefNNNNN``) that the full-text index must hold exactly once per stored article.
"""

from __future__ import annotations

import json
import random
import re
from functools import lru_cache

from .conftest import FIXTURES_DIR

MARKER = re.compile(r"nlref\d{5,}")


@lru_cache(maxsize=1)
def real_paragraphs() -> tuple[str, ...]:
    """Paragraphs of real news text (12+ words) from tests/fixtures, each once."""
    paragraphs: list[str] = []
    for path in sorted(FIXTURES_DIR.rglob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                paragraphs += (json.loads(line).get("text") or "").split("\n")
    for path in sorted((FIXTURES_DIR / "text").rglob("*.txt")):
        paragraphs += path.read_text(encoding="utf-8", errors="replace").splitlines()
    cleaned = (" ".join(p.split()) for p in paragraphs)
    unique = tuple(dict.fromkeys(p for p in cleaned if len(p.split()) >= 12 and len(p) < 2000))
    assert len(unique) > 300, "too few real paragraphs in tests/fixtures"
    return unique


def marker(number: int) -> str:
    return f"nlref{number:05d}"


def article_record(number: int, rng: random.Random, host: str = "news.example", paragraphs: int = 4) -> dict:
    """One JSONL import record: real paragraphs, a title from the first one plus the marker, a date, a URL."""
    body = rng.sample(real_paragraphs(), paragraphs)
    return {
        "url": f"https://{host}/{number % 97}/{number}",
        "title": f"{' '.join(body[0].split()[:9])} {marker(number)}",
        "text": "\n\n".join(body),
        "published_at": f"2024-03-{1 + number % 28:02d}T{number % 24:02d}:00:00Z",
    }
