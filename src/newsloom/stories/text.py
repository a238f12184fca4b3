"""Text features for story clustering: words, proper-noun entities and TF-IDF sparse vectors.

Everything here is pure Python and deterministic (no per-process hash seeds), so the clusterer's state can be
saved and reloaded. Vectors are plain ``dict[str, float]`` of unit length.

Proper nouns stand in for named entities when the caller has none: capitalised tokens that are not the first
word of a sentence (a sentence-initial word counts only if the same document also capitalises it elsewhere),
grouped into phrases ("Betty Ford Center"), so no NLP model is needed.
"""

from __future__ import annotations

import heapq
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from functools import lru_cache

__all__ = [
    "STOPWORDS",
    "DocumentFrequencies",
    "words_of",
    "normalise_word",
    "proper_nouns_of",
    "weighted_vector",
    "cosine",
    "top_terms",
    "headline_of",
    "strip_dateline",
]

# Common English function words plus news filler ("said", "told") that every story shares.
STOPWORDS = frozenset(
    """a about above after again against all almost also although always am among an and another any are aren't
    around as at away back be became because become been before being below between both but by can cannot could
    couldn't did didn't do does doesn't doing don't done down during each either else even ever every few for
    from further get gets got had hadn't has hasn't have haven't having he he'd he'll he's her here here's hers
    herself him himself his how how's however i i'd i'll i'm i've if in into is isn't it it's its itself just
    last least less let's like made make many may me might more most much must mustn't my myself near need neither
    never new next no nor not now of off often on once one only onto or other others ought our ours ourselves out
    over own per perhaps put rather really s said same say says saying see seen several shall shan't she she'd
    she'll she's should shouldn't since so some still such t than that that's the their theirs them themselves
    then there there's these they they'd they'll they're they've thing things this those though three through
    thus to told too took two under until up upon us use used very via was wasn't we we'd we'll we're we've were
    weren't what what's when when's where where's whether which while who who's whom whose why why's will with
    within without won't would wouldn't yet you you'd you'll you're you've your yours yourself yourselves
    according added across already around asked can't come comes could days day going know later likely long
    mr mrs ms dr old part re reported reports year years week weeks time times way well went year's""".split()
)

# Capitalised but not names: weekdays, months and words capitalised by habit in headlines and datelines.
_NOT_NAMES = frozenset(
    """monday tuesday wednesday thursday friday saturday sunday january february march april may june july august
    september october november december today yesterday tomorrow photo video image advertisement advertisements
    read more share comments update updated breaking news story ap reuters afp copyright click""".split()
)

_WORD = re.compile(r"[^\W_][\w'’\-]*")
# A run of capitalised words, possibly joined by a few lower-case particles ("Bank of England").
_CAPITALISED_RUN = re.compile(
    r"(?<![\w'’\-])[A-Z][\w'’\-]*(?:(?:[ \t]+(?:of|de|del|la|le|van|von|der|al|bin|el|da|du|di))?[ \t]+[A-Z][\w'’\-]*)*"
)
_SENTENCE_END = frozenset(".!?:;\"“”'‘’|•—–-")


@lru_cache(maxsize=262_144)  # words repeat a lot: the cache makes tokenising several times faster
def normalise_word(word: str) -> str:
    """Lower-case, drop possessives and a plural "s" so that "earthquakes" and "earthquake" meet."""
    word = word.lower().replace("’", "'").strip("'-")
    if word.endswith("'s"):
        word = word[:-2]
    if len(word) > 4 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    return word


@lru_cache(maxsize=262_144)
def _content_word(token: str) -> str:
    """The normalised word, or "" for a stop word or a one-letter token (one cached look-up per token)."""
    word = normalise_word(token)
    return word if len(word) > 1 and word not in STOPWORDS else ""


def words_of(text: str) -> list[str]:
    """Content words of ``text``: normalised, stop words and one-letter tokens removed."""
    return [word for word in map(_content_word, _WORD.findall(text)) if word]


def _starts_sentence(text: str, position: int) -> bool:
    """True when the character run before ``position`` ends a sentence (or there is none)."""
    index = position - 1
    while index >= 0 and text[index] in " \t":
        index -= 1
    if index < 0 or text[index] in "\n\r":
        return True
    return text[index] in _SENTENCE_END


def proper_nouns_of(text: str, surfaces: dict[str, str] | None = None) -> list[str]:
    """Proper-noun phrases of ``text`` (lower-cased keys), each phrase and its name words listed.

    "Tara Reid checked into Promises Treatment Center" gives ["promises treatment center", "promises",
    "treatment", "center", "tara reid", "tara", "reid"] only when "Tara" is also capitalised mid-sentence
    somewhere in the text; otherwise the sentence-initial "Tara" is dropped as possibly a common word.
    When ``surfaces`` is given, each new multi-word key is recorded there with its surface form.
    """
    runs: list[tuple[list[str], bool]] = []
    mid_sentence_words: set[str] = set()
    for match in _CAPITALISED_RUN.finditer(text):
        tokens = match.group(0).split()
        at_start = _starts_sentence(text, match.start())
        if not at_start:
            mid_sentence_words.add(tokens[0])
        for token in tokens[1:]:
            mid_sentence_words.add(token)
        runs.append((tokens, at_start))
    phrases: list[str] = []
    for tokens, at_start in runs:
        if at_start and tokens[0] not in mid_sentence_words:
            tokens = tokens[1:]
        named = [(normalise_word(token), token) for token in tokens]
        named = [
            (name, token)
            for name, token in named
            if len(name) > 1 and name not in STOPWORDS and name not in _NOT_NAMES and token.lower() not in _NOT_NAMES
        ]
        if not named:
            continue
        names = [name for name, _ in named]
        if len(names) > 1:
            key = " ".join(names)
            phrases.append(key)
            if surfaces is not None and key not in surfaces:
                surfaces[key] = " ".join(token for _, token in named)
        phrases.extend(names)
        if surfaces is not None:
            for name, token in named:
                if name not in surfaces:
                    surfaces[name] = token.strip("'’-")
    return phrases


class DocumentFrequencies:
    """Document frequencies maintained as the stream goes, for IDF weights that need no training pass.

    The vocabulary is bounded: past ``max_terms`` entries, terms seen in a single document are forgotten
    (they are the long tail of typos and one-off numbers), which keeps memory flat on endless streams.
    """

    def __init__(self, max_terms: int = 2_000_000) -> None:
        self.documents = 0
        self.counts: dict[str, int] = {}
        self.max_terms = max_terms

    def add(self, terms: Iterable[str]) -> None:
        counts = self.counts
        for term in terms:
            counts[term] = counts.get(term, 0) + 1
        self.documents += 1
        if len(counts) > self.max_terms:
            self.counts = {term: count for term, count in counts.items() if count > 1}

    def idf(self, term: str) -> float:
        """Smoothed IDF, as in scikit-learn: ln((1 + N) / (1 + df)) + 1."""
        return math.log((1 + self.documents) / (1 + self.counts.get(term, 0))) + 1.0


def weighted_vector(
    term_counts: Mapping[str, float], frequencies: DocumentFrequencies, max_terms: int
) -> dict[str, float]:
    """Sublinear TF-IDF of ``term_counts``, pruned to its ``max_terms`` heaviest terms, unit length."""
    documents = frequencies.documents
    counts = frequencies.counts
    log = math.log
    weights = {
        term: (1.0 + log(count)) * (log((1 + documents) / (1 + counts.get(term, 0))) + 1.0)
        for term, count in term_counts.items()
        if count > 0
    }
    if len(weights) > max_terms:
        weights = {term: weights[term] for term in top_terms(weights, max_terms)}
    return unit(weights)


def unit(vector: Mapping[str, float]) -> dict[str, float]:
    """``vector`` scaled to length 1 (an empty vector stays empty)."""
    norm = math.sqrt(sum(weight * weight for weight in vector.values()))
    if norm == 0.0:
        return {}
    return {term: weight / norm for term, weight in vector.items()}


def cosine(left: Mapping[str, float], right: Mapping[str, float]) -> float:
    """Dot product of two unit vectors (iterates over the shorter one)."""
    if len(left) > len(right):
        left, right = right, left
    return sum([left[term] * right[term] for term in left.keys() & right.keys()])  # the set meet runs in C


def top_terms(vector: Mapping[str, float], count: int) -> list[str]:
    """The ``count`` heaviest terms, heaviest first (ties keep the vector's order: deterministic, as dicts are)."""
    if len(vector) > 4 * count:  # a partial selection is cheaper than sorting everything
        return heapq.nlargest(count, vector, key=vector.__getitem__)
    return sorted(vector, key=vector.__getitem__, reverse=True)[:count]


def count_terms(terms: Iterable[str], weight: float = 1.0, into: Counter[str] | None = None) -> Counter[str]:
    """Add ``weight`` per occurrence of each term to a counter (title words count more than body words)."""
    counter: Counter[str] = into if into is not None else Counter()
    for term in terms:
        counter[term] += weight
    return counter


# A wire dateline opening a line: "WASHINGTON (Reuters) -", "SEOUL, South Korea —", "PARIS, March 3 (AFP) -".
_DATELINE = re.compile(
    r"^\s*(?:[A-Z][A-Z.'’\-]+(?:[ /][A-Z][A-Z.'’\-]+)*(?:,[ \w.]{2,30}?)?[ \t]*(?:\([\w .&/-]{2,30}\))?|\([\w .&/-]{2,30}\))"
    r"[ \t]+[-–—]+(?:[ \t]+|$)"
)
_MIN_HEADLINE_WORDS = 3


def strip_dateline(title: str) -> str:
    """``title`` with white space collapsed and without a leading wire dateline ("WASHINGTON (Reuters) - ")."""
    text = " ".join(title.split())
    match = _DATELINE.match(text)
    return text[match.end() :] if match else text


def headline_of(title: str) -> str:
    """``title`` without a leading wire dateline, or "" when nothing headline-like is left.

    Extractors sometimes take the first line of a wire ("WASHINGTON (Reuters) -") for the title; such a line
    names a place and an agency, not the story, so it must never become a story's title.
    """
    text = strip_dateline(title)
    return text if len(_WORD.findall(text)) >= _MIN_HEADLINE_WORDS else ""
