"""Extractive summaries and reading time.

``summarize(paragraphs, title=None, max_sentences=3)`` picks whole sentences from the article and returns
them in their original order. A sentence scores by

* centrality: TF-IDF cosine similarity to the whole article (sentences as the documents), so it speaks
  of what the article is about rather than a side detail;
* position: news is written as an inverted pyramid, so the lead sentence and each paragraph's first
  sentence get a bonus that decays down the article;
* the title: overlap with the headline's words.

Very short sentences (datelines, "Share post:") and very long ones (run-on lists, tables flattened to
text) are not picked. ``reading_time_minutes(text)`` counts about 230 words per minute.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

from newsloom.enrich._stopwords import STOPWORDS
from newsloom.enrich._text import clean_text, split_sentences, word_tokens

__all__ = ["summarize", "reading_time_minutes", "WORDS_PER_MINUTE"]

WORDS_PER_MINUTE = 230
# Only the head of a huge document is summarised: the cost is linear in sentences, and the head is the news.
_MAX_SENTENCES_READ = 400
_MAX_CHARS = 100_000
_MIN_WORDS, _MAX_WORDS = 6, 60
_POSITION_WEIGHT = 0.35
_TITLE_WEIGHT = 0.25
_MAX_SIMILARITY = 0.7
# Sentences that are mostly figures (price lists, tables flattened to text) read badly as a summary.
_MAX_NUMERIC_SHARE = 0.3
_ENGLISH_STOPWORDS = STOPWORDS["en"]


def reading_time_minutes(text: str) -> int:
    """Minutes to read ``text`` at about 230 words per minute: 0 for no words, else at least 1."""
    words = len(clean_text(text).split())
    if words == 0:
        return 0
    return max(1, round(words / WORDS_PER_MINUTE))


def _terms(sentence: str) -> list[str]:
    lowered = (token.lower() for token in word_tokens(sentence))
    return [word for word in lowered if word not in _ENGLISH_STOPWORDS and not word.isdigit()]


def _numeric_share(sentence: str) -> float:
    tokens = sentence.split()
    return sum(any(ch.isdigit() for ch in token) for token in tokens) / len(tokens) if tokens else 0.0


def _tfidf(term_lists: list[list[str]]) -> tuple[list[dict[str, float]], dict[str, float]]:
    """TF-IDF vector of each sentence, and the idf table (sentences as the documents)."""
    document_frequency: Counter[str] = Counter()
    for terms in term_lists:
        document_frequency.update(set(terms))
    total = len(term_lists)
    idf = {term: math.log((1 + total) / (1 + df)) + 1.0 for term, df in document_frequency.items()}
    vectors = [{term: (1 + math.log(tf)) * idf[term] for term, tf in Counter(terms).items()} for terms in term_lists]
    return vectors, idf


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if not a or not b:
        return 0.0
    dot = sum(weight * b.get(term, 0.0) for term, weight in a.items())
    norm = math.sqrt(sum(w * w for w in a.values())) * math.sqrt(sum(w * w for w in b.values()))
    return dot / norm if norm else 0.0


def _sentences_with_positions(paragraphs: Sequence[str]) -> list[tuple[str, int, int]]:
    """(sentence, paragraph index, index within the paragraph), head of the article only."""
    found: list[tuple[str, int, int]] = []
    budget = _MAX_CHARS
    for paragraph_index, paragraph in enumerate(paragraphs):
        text = clean_text(paragraph, limit=budget)
        budget -= len(text)
        for sentence_index, sentence in enumerate(split_sentences(text)):
            found.append((sentence, paragraph_index, sentence_index))
            if len(found) >= _MAX_SENTENCES_READ:
                return found
        if budget <= 0:
            break
    return found


def summarize(paragraphs: Sequence[str], title: str | None = None, max_sentences: int = 3) -> str:
    """An extractive summary of at most ``max_sentences`` sentences, in article order ("" when the text
    holds no usable sentence)."""
    if isinstance(paragraphs, str):  # a whole text given as one string: treat blank lines as paragraph breaks
        paragraphs = paragraphs.split("\n\n")
    if max_sentences <= 0:
        return ""
    sentences = _sentences_with_positions([p for p in paragraphs if isinstance(p, str)])
    if not sentences:
        return ""
    term_lists = [_terms(sentence) for sentence, _, _ in sentences]
    vectors, idf = _tfidf(term_lists)
    centroid: Counter[str] = Counter()
    for vector in vectors:
        centroid.update(vector)
    title_terms = set(_terms(clean_text(title or "", limit=1000).lower()))
    title_vector = {term: idf.get(term, 1.0) for term in title_terms}

    scored: list[tuple[float, int]] = []
    for index, ((sentence, paragraph_index, sentence_index), vector) in enumerate(zip(sentences, vectors)):
        word_count = len(sentence.split())
        if not _MIN_WORDS <= word_count <= _MAX_WORDS or _numeric_share(sentence) > _MAX_NUMERIC_SHARE:
            continue
        position = 1.0 / (1.0 + paragraph_index) * (1.0 if sentence_index == 0 else 0.5)
        score = _cosine(vector, centroid) + _POSITION_WEIGHT * position + _TITLE_WEIGHT * _cosine(vector, title_vector)
        scored.append((score, index))
    if not scored:
        # Only very short or very long sentences: fall back to the lead, cut to a readable length.
        lead = sentences[0][0]
        return lead if len(lead.split()) <= _MAX_WORDS else " ".join(lead.split()[:_MAX_WORDS]) + " …"
    chosen: list[int] = []
    for _, index in sorted(scored, reverse=True):
        # A wire story often repeats its lead almost verbatim further down: skip near-copies.
        if all(_cosine(vectors[index], vectors[other]) < _MAX_SIMILARITY for other in chosen):
            chosen.append(index)
        if len(chosen) == max_sentences:
            break
    return " ".join(sentences[index][0] for index in sorted(chosen))
