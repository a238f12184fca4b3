"""Keyphrases without a model: ``extract_keyphrases(text, title=None, k=8) -> list[str]``.

A RAKE-style method. Candidates are runs of content words between stop words, punctuation and numbers
("humanitarian disaster", "cease-fire resolution"), cut into n-grams of at most three words. A word
scores by how often it occurs, more when it is in the title or appears early (news puts the point first);
a phrase scores by its own frequency times the mean score of its words, with a bonus for two and three
words since those say more than one. The top phrases are kept without repeats: a phrase already
covered by a better-ranked one ("resolution" after "cease-fire resolution") is skipped.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field

from newsloom.enrich._stopwords import NEWS_FILLER, STOPWORDS
from newsloom.enrich._text import clean_text

__all__ = ["extract_keyphrases"]

# Keyphrases come from the head of a long text; more only costs time.
_MAX_CHARS = 50_000
_MAX_WORDS_PER_PHRASE = 3
_LENGTH_BONUS = {1: 1.0, 2: 1.6, 3: 1.8}
_TITLE_BOOST = 1.5
# Token stream: words (with inner hyphens/apostrophes/dots like "U.S." or "cease-fire") or single breakers.
_TOKEN = re.compile(r"(?:[^\W\d_]\.){2,}|[^\W\d_](?:\w|[-'’.](?=\w))*|\d[\w.,%]*|[^\w\s]", re.UNICODE)
_POSSESSIVE = re.compile(r"'s$|(?<=s)'$", re.IGNORECASE)


@dataclass(slots=True)
class _Candidate:
    count: int = 0
    first_position: int = 0
    surfaces: Counter[str] = field(default_factory=Counter)


def _stopwords_for(language: str | None) -> frozenset[str]:
    base = STOPWORDS.get(language or "en", STOPWORDS["en"])
    return base | NEWS_FILLER if (language or "en") == "en" else base


def _chunks(text: str, stopwords: frozenset[str]) -> list[list[str]]:
    """Runs of content words; stop words, numbers and punctuation end a run."""
    chunks: list[list[str]] = []
    current: list[str] = []
    for token in _TOKEN.findall(text):
        token = _POSSESSIVE.sub("", token.replace("’", "'"))
        lowered = token.lower()
        is_word = token[:1].isalpha()
        if not is_word or lowered in stopwords or len(lowered) < 2:
            if current:
                chunks.append(current)
            current = []
            continue
        current.append(token)
    if current:
        chunks.append(current)
    return chunks


def _is_capitalised(word: str) -> bool:
    return word[:1].isupper()


def _ngrams(chunk: list[str]) -> list[tuple[str, ...]]:
    """The chunk's n-grams of 1-3 words, except those that cut a capitalised run (a name) in two:
    "Michael Wilson" may be a phrase, "Minister Michael" may not."""
    grams: list[tuple[str, ...]] = []
    for size in range(1, min(_MAX_WORDS_PER_PHRASE, len(chunk)) + 1):
        for start in range(len(chunk) - size + 1):
            end = start + size
            cuts_left = start > 0 and _is_capitalised(chunk[start - 1]) and _is_capitalised(chunk[start])
            cuts_right = end < len(chunk) and _is_capitalised(chunk[end - 1]) and _is_capitalised(chunk[end])
            if not (cuts_left or cuts_right):
                grams.append(tuple(chunk[start:end]))
    return grams


def _is_poor_phrase(words: tuple[str, ...], count: int) -> bool:
    """Lone words seen once, and phrases starting or ending with a past participle or an adverb
    ("revised", "sharply"): without a part-of-speech tagger, these suffixes are the cheap tell."""
    if len(words) == 1 and (count < 2 or len(words[0]) < 3):
        return True
    edges = {words[0], words[-1]}
    return any(len(word) > 4 and word.endswith(("ed", "ly")) and not _is_capitalised(word) for word in edges)


def _collect(chunks: list[list[str]]) -> tuple[dict[tuple[str, ...], _Candidate], Counter[str], dict[str, int]]:
    candidates: dict[tuple[str, ...], _Candidate] = {}
    word_counts: Counter[str] = Counter()
    word_first: dict[str, int] = {}
    position = 0
    for chunk in chunks:
        for word in chunk:
            key = word.lower()
            word_counts[key] += 1
            word_first.setdefault(key, position)
            position += 1
        for gram in _ngrams(chunk):
            key_gram = tuple(word.lower() for word in gram)
            candidate = candidates.get(key_gram)
            if candidate is None:
                candidate = candidates[key_gram] = _Candidate(first_position=position)
            candidate.count += 1
            candidate.surfaces[" ".join(gram)] += 1
    return candidates, word_counts, word_first


def _surface(candidate: _Candidate) -> str:
    """Lower case when the phrase is ever written so; else (a name) its commonest spelling."""
    lowered = next((form for form in candidate.surfaces if form == form.lower()), None)
    return lowered if lowered is not None else candidate.surfaces.most_common(1)[0][0]


def _covered(words: tuple[str, ...], chosen: list[tuple[str, ...]]) -> bool:
    """Whether ``words`` repeats a chosen phrase: contained in it, or containing it."""
    text = " " + " ".join(words) + " "
    for other in chosen:
        other_text = " " + " ".join(other) + " "
        if text in other_text or other_text in text:
            return True
    return False


def extract_keyphrases(text: str, title: str | None = None, k: int = 8, language: str | None = None) -> list[str]:
    """The ``k`` best keyphrases of ``text`` (best first), helped by ``title`` when given.

    ``language`` (ISO 639-1) picks the stop words; English is assumed when it is None or unknown.
    """
    body = clean_text(text, limit=_MAX_CHARS)
    if k <= 0 or not body:
        return []
    stopwords = _stopwords_for(language)
    candidates, word_counts, word_first = _collect(_chunks(body, stopwords))
    if not candidates:
        return []
    total_words = max(1, sum(word_counts.values()))
    title_words = {token.lower() for token in _TOKEN.findall(clean_text(title or "", limit=1000))}

    def word_score(word: str) -> float:
        early = 1.0 + 1.0 / (1.0 + 10.0 * word_first[word] / total_words)  # 2.0 at the start, ~1.1 at the end
        in_title = _TITLE_BOOST if word in title_words else 1.0
        return math.log1p(word_counts[word]) * early * in_title

    scored: list[tuple[float, tuple[str, ...]]] = []
    for words, candidate in candidates.items():
        if _is_poor_phrase(words, candidate.count):
            continue
        mean_word = sum(word_score(word) for word in words) / len(words)
        score = math.log1p(candidate.count) * mean_word * _LENGTH_BONUS[len(words)]
        scored.append((score, words))
    scored.sort(key=lambda item: (-item[0], candidates[item[1]].first_position))

    chosen: list[tuple[str, ...]] = []
    for _, words in scored:
        if not _covered(words, chosen):
            chosen.append(words)
        if len(chosen) == k:
            break
    return [_surface(candidates[words]) for words in chosen]
