"""Scoring functions shared by bench/ scripts and the regression gates in tests/.

``shingle_scores`` is the Scrapinghub article-extraction-benchmark metric: tokens are ``\\w+`` runs, compared
as multisets of word 4-gram shingles; precision and recall are averaged over pages and F1 is taken of the means.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["PageScore", "CorpusScore", "page_score", "corpus_score"]

_TOKEN = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class PageScore:
    precision: float
    recall: float
    exact: bool


@dataclass(frozen=True, slots=True)
class CorpusScore:
    precision: float
    recall: float
    f1: float
    accuracy: float
    pages: int


def _shingles(tokens: list[str], n: int = 4) -> Counter[tuple[str, ...]]:
    if len(tokens) < n:
        return Counter([tuple(tokens)]) if tokens else Counter()
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def page_score(predicted: str, expected: str) -> PageScore:
    """Shingle precision and recall of one extracted body against its ground truth."""
    predicted_tokens = _TOKEN.findall(predicted or "")
    expected_tokens = _TOKEN.findall(expected or "")
    predicted_shingles = _shingles(predicted_tokens)
    expected_shingles = _shingles(expected_tokens)
    true_positive = sum((predicted_shingles & expected_shingles).values())
    false_positive = sum(predicted_shingles.values()) - true_positive
    false_negative = sum(expected_shingles.values()) - true_positive
    # The benchmark scores an empty prediction of an empty truth as perfect, and anything else against
    # nothing as zero.
    precision = true_positive / (true_positive + false_positive) if (true_positive + false_positive) else (1.0 if not expected_shingles else 0.0)
    recall = true_positive / (true_positive + false_negative) if (true_positive + false_negative) else 1.0
    return PageScore(precision, recall, predicted_tokens == expected_tokens)


def corpus_score(scores: Iterable[PageScore]) -> CorpusScore:
    """Mean precision and recall over pages, F1 of the means, and the share of exact pages."""
    scores = list(scores)
    if not scores:
        return CorpusScore(0.0, 0.0, 0.0, 0.0, 0)
    precision = sum(s.precision for s in scores) / len(scores)
    recall = sum(s.recall for s in scores) / len(scores)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    accuracy = sum(s.exact for s in scores) / len(scores)
    return CorpusScore(precision, recall, f1, accuracy, len(scores))
