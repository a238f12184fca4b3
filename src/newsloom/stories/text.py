"""Text features for story clustering: words, proper-noun entities and TF-IDF sparse vectors.

Everything here is pure Python and deterministic (no per-process hash seeds), so the clusterer's state can be
saved and reloaded. Vectors are plain ``dict[str, float]`` of unit length.

Proper nouns stand in for named entities when the caller has none: capitalised tokens that are not the first
word of a sentence (a sentence-initial word counts only if the same document also capitalises it elsewhere),
grouped into phrases ("Betty Ford Center"), so no NLP model is needed.
"""

from __future__ import annotations

import hashlib
import heapq
import math
import re
import sys
from collections import Counter, _count_elements  # the C helper behind Counter.update
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from itertools import filterfalse, islice, repeat
from operator import add, mul, truediv
from typing import Any

__all__ = [
    "STOPWORDS",
    "DocumentFrequencies",
    "words_of",
    "word_counts",
    "normalise_word",
    "proper_nouns_of",
    "weighted_vector",
    "tf_idf",
    "cosine",
    "top_terms",
    "headline_of",
    "strip_dateline",
    "surface_entry",
    "surface_of",
    "RepeatedLines",
    "forget_token_caches",
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
# The look-behind follows the capital (it then spans it and the character before) so that the regex engine
# can skip ahead to capital letters instead of testing the look-behind at every position: twice as fast.
_CAPITALISED_RUN = re.compile(
    r"[A-Z](?<![\w'’\-].)[\w'’\-]*(?:(?:[ \t]+(?:of|de|del|la|le|van|von|der|al|bin|el|da|du|di))?[ \t]+[A-Z][\w'’\-]*)*"
)
_SENTENCE_END = frozenset(".!?:;\"“”'‘’|•—–-")


# Small: the token tables below keep each token's word, so this cache serves mostly entity names given by a caller.
@lru_cache(maxsize=16_384)
def normalise_word(word: str) -> str:
    """Lower-case, drop possessives and a plural "s" so that "earthquakes" and "earthquake" meet.

    The word is interned: the token tables, the document frequencies and every vector that has it share one string.
    """
    word = word.lower().replace("’", "'").strip("'-")
    if word.endswith("'s"):
        word = word[:-2]
    if len(word) > 4 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    return sys.intern(word)


def _content_word(token: str) -> str:
    """The normalised word, or "" for a stop word or a one-letter token."""
    word = normalise_word(token)
    return word if len(word) > 1 and word not in STOPWORDS else ""


def _name_word(token: str) -> str:
    """The normalised name word of a capitalised token, or "" when it is not name-like ("Monday", "The")."""
    name = normalise_word(token)
    if len(name) <= 1 or name in STOPWORDS or name in _NOT_NAMES or token.lower() in _NOT_NAMES:
        return ""
    return name


class _TokenCache:
    """Token -> its word ("" for none), filled as tokens are met, so that a whole document is mapped by C code
    (``map(table.__getitem__, tokens)``) instead of one Python call per token.

    Past ``limit`` entries the table is replaced by an empty one rather than cleared, so a caller (another
    thread) still mapping through the old table never meets a missing token.
    """

    def __init__(self, compute: Callable[[str], str], limit: int = 500_000) -> None:
        self.compute = compute
        self.limit = limit
        self.table: dict[str, str] = {}

    def lookup(self, tokens: Iterable[str]) -> Callable[[str], str]:
        """``table.__getitem__`` for a table holding all of ``tokens``."""
        table = self.table
        missing = list(filterfalse(table.__contains__, set(tokens)))  # in C, whatever the table's size
        if missing:
            if len(table) + len(missing) > self.limit:
                table = self.table = {}
                missing = list(set(tokens))
            compute = self.compute
            for token in missing:
                table[token] = compute(token)
        return table.__getitem__

    def forget(self) -> None:
        self.table = {}  # replaced, not cleared: see the class docstring


_CONTENT_WORDS = _TokenCache(_content_word)
_NAME_WORDS = _TokenCache(_name_word)


def forget_token_caches() -> None:
    """Empty the token tables (they refill from the next documents): a long stream meets new tokens forever,
    so the tables would otherwise grow up to their limit."""
    _CONTENT_WORDS.forget()
    _NAME_WORDS.forget()


def word_counts(text: str) -> Counter[str]:
    """Occurrences of each content word of ``text``, in order of first occurrence (see ``words_of``)."""
    tokens = _WORD.findall(text)
    try:  # most documents bring no unseen token: skip the look for missing ones
        counts = Counter(map(_CONTENT_WORDS.table.__getitem__, tokens))  # counted in C
    except KeyError:
        counts = Counter(map(_CONTENT_WORDS.lookup(tokens), tokens))
    counts.pop("", None)
    return counts


def words_of(text: str) -> list[str]:
    """Content words of ``text``: normalised, stop words and one-letter tokens removed."""
    tokens = _WORD.findall(text)
    return [word for word in map(_CONTENT_WORDS.lookup(tokens), tokens) if word]


def surface_entry(key: str, surface: str) -> str:
    """What a surfaces table keeps for ``key``: "" when the surface is just ``key.title()`` (the usual case, and
    what a reader falls back to, see ``surface_of``), so that those strings are not kept twice."""
    return "" if surface == key.title() else surface


def surface_of(surfaces: Mapping[str, str], key: str) -> str:
    """The surface form recorded for ``key``, or ``key.title()``."""
    return surfaces.get(key) or key.title()


def proper_nouns_of(text: str, surfaces: dict[str, str] | None = None) -> list[str]:
    """Proper-noun phrases of ``text`` (lower-cased keys), each phrase and its name words listed.

    "Tara Reid checked into Promises Treatment Center" gives ["promises treatment center", "promises",
    "treatment", "center", "tara reid", "tara", "reid"] only when "Tara" is also capitalised mid-sentence
    somewhere in the text; otherwise the sentence-initial "Tara" is dropped as possibly a common word.
    When ``surfaces`` is given, each new key is recorded there with its surface form (see ``surface_entry``).
    Multi-word keys are interned: the vectors of every article naming the same phrase share one string.
    """
    runs: list[tuple[list[str], bool]] = []
    mid_sentence_words: set[str] = set()
    add_mid = mid_sentence_words.add
    update_mid = mid_sentence_words.update
    for match in _CAPITALISED_RUN.finditer(text):
        tokens = match.group().split()
        index = match.start() - 1  # does the run start a sentence? (inline: this loop runs for every capitalised run)
        while index >= 0 and text[index] in " \t":
            index -= 1
        at_start = index < 0 or text[index] in "\n\r" or text[index] in _SENTENCE_END
        if not at_start:
            add_mid(tokens[0])
        if len(tokens) > 1:
            update_mid(tokens[1:])
        runs.append((tokens, at_start))
    name_of = _NAME_WORDS.lookup([token for tokens, _ in runs for token in tokens])
    phrases: list[str] = []
    for tokens, at_start in runs:
        if at_start and tokens[0] not in mid_sentence_words:
            tokens = tokens[1:]
        if len(tokens) == 1:  # the common case: one name word
            name = name_of(tokens[0])
            if name:
                phrases.append(name)
                if surfaces is not None and name not in surfaces:
                    surfaces[name] = surface_entry(name, tokens[0].strip("'’-"))
            continue
        named = [(name, token) for name, token in zip(map(name_of, tokens), tokens) if name]
        if not named:
            continue
        names = [name for name, _ in named]
        if len(names) > 1:
            key = sys.intern(" ".join(names))
            phrases.append(key)
            if surfaces is not None and key not in surfaces:
                surfaces[key] = surface_entry(key, " ".join(token for _, token in named))
        phrases.extend(names)
        if surfaces is not None:
            for name, token in named:
                if name not in surfaces:
                    surfaces[name] = surface_entry(name, token.strip("'’-"))
    return phrases


class DocumentFrequencies:
    """Document frequencies maintained as the stream goes, for IDF weights that need no training pass.

    The vocabulary is bounded: terms seen in a single document are the long tail of typos, one-off numbers and
    passing names, and they are forgotten by ``forget_old_singletons`` (the clusterer calls it every few thousand
    articles) and whenever the vocabulary passes ``max_terms``, which keeps memory flat on endless streams.
    """

    def __init__(self, max_terms: int = 2_000_000) -> None:
        self.documents = 0
        self.counts: dict[str, int] = {}
        self.max_terms = max_terms
        self.old_entries = 0  # counts' first entries that were already there at the last forget_old_singletons

    def add(self, terms: Iterable[str], new_document: bool = True) -> None:
        """Count one document's distinct ``terms``; ``new_document=False`` adds more terms of the same one."""
        counts = self.counts
        _count_elements(counts, terms)  # counts[term] += 1 for each term, in C
        if new_document:
            self.documents += 1
        if len(counts) > self.max_terms:  # every singleton goes, however recent
            self.counts, self.old_entries = _forget_old_singletons(counts, len(counts), _in_several_documents)

    def forget_old_singletons(self) -> None:
        """Forget the terms seen in one document only that were already known at the previous call. A dict keeps
        insertion order, so those are among its first ``old_entries`` entries."""
        self.counts, self.old_entries = _forget_old_singletons(self.counts, self.old_entries, _in_several_documents)

    def idf(self, term: str) -> float:
        """Smoothed IDF, as in scikit-learn: ln((1 + N) / (1 + df)) + 1."""
        return math.log((1 + self.documents) / (1 + self.counts.get(term, 0))) + 1.0


def weighted_vector(
    term_counts: Mapping[str, float], frequencies: DocumentFrequencies, max_terms: int
) -> dict[str, float]:
    """Sublinear TF-IDF of ``term_counts``, pruned to its ``max_terms`` heaviest terms, unit length."""
    if term_counts and min(term_counts.values()) <= 0:
        term_counts = {term: count for term, count in term_counts.items() if count > 0}
    weights = tf_idf(term_counts, frequencies)
    if len(weights) > max_terms:
        weights = {term: weights[term] for term in top_terms(weights, max_terms)}
    return unit(weights)


def tf_idf(
    term_counts: Mapping[str, float],
    frequencies: DocumentFrequencies,
    prefix: str = "",
    keys: Iterable[str] | None = None,
) -> dict[str, float]:
    """``{term: (1 + ln count) * idf(prefix + term)}`` for positive counts, with the IDF of ``idf``; ``keys``, when
    given, are the terms' keys in the frequency table (``prefix + term`` for each term, already made by the caller).

    The arithmetic runs in chained C iterators (no Python step per term), with the same operations in the same
    order as the one-line formula, so the weights are bit for bit the same.
    """
    counts = frequencies.counts
    if keys is None:
        keys = map(prefix.__add__, term_counts) if prefix else term_counts
    document_frequencies = map(counts.get, keys, repeat(0))
    ratios = map(truediv, repeat(1 + frequencies.documents), map(add, repeat(1), document_frequencies))
    idfs = map(add, map(math.log, ratios), repeat(1.0))
    tf_weights = map(add, repeat(1.0), map(math.log, term_counts.values()))
    return dict(zip(term_counts, map(mul, tf_weights, idfs)))


def unit(vector: Mapping[str, float]) -> dict[str, float]:
    """``vector`` scaled to length 1 (an empty vector stays empty)."""
    weights = vector.values()
    norm = math.sqrt(sum(map(mul, weights, weights)))  # map() keeps the loop in C; same sum, same order
    if norm == 0.0:
        return {}
    return dict(zip(vector.keys(), map(truediv, weights, repeat(norm, len(vector)))))


def cosine(left: Mapping[str, float], right: Mapping[str, float]) -> float:
    """Dot product of two unit vectors (iterates over the shorter one)."""
    if len(left) > len(right):
        left, right = right, left
    return sum([left[term] * right[term] for term in left.keys() & right.keys()])  # the set meet runs in C


def top_terms(vector: Mapping[str, float], count: int) -> list[str]:
    """The ``count`` heaviest terms, heaviest first (ties keep the vector's order: deterministic, as dicts are)."""
    if len(vector) > max(2_000, 20 * count):  # a partial selection (in Python) pays off only on long vectors
        return heapq.nlargest(count, vector, key=vector.__getitem__)  # same order as the sort below, ties included
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


_blake2b = hashlib.blake2b  # a module global: one look-up less per line


class RepeatedLines:
    """Lines of page text met in the articles of several different stories: page furniture ("Please enable
    JavaScript to watch this video", a sign-in box, a site's name after its headlines), learned as the stream goes.

    A line repeated within one story is news (a syndicated wire, a quoted statement), so what counts is how many
    different stories a line was assigned to, not how many articles: ``record`` is told each article's story once
    it is decided. Lines are kept as 64-bit digests, each with one int packing the last story's digest and the
    number of story changes seen. Lines seen in one story only are forgotten by ``forget_old_singletons`` (every
    few thousand articles, those already known at the previous call) and past ``max_lines`` entries, which keeps
    memory flat (a line must then be met again to count).
    """

    def __init__(self, stories_for_boilerplate: int = 2, max_lines: int = 100_000) -> None:
        self.stories_for_boilerplate = stories_for_boilerplate
        self.max_lines = max_lines
        self.lines: dict[int, int] = {}  # line digest -> (story digest << 8) | distinct stories seen (capped)
        self.old_entries = 0  # lines' first entries that were already there at the last forget_old_singletons

    def forget_old_singletons(self) -> None:
        """Forget the lines met in one story only that were already known at the previous call."""
        self.lines, self.old_entries = _forget_old_singletons(self.lines, self.old_entries, _in_several_stories)

    @staticmethod
    def key_of(line: str) -> int:
        """Digest of a line worth tracking (three words or more, case and white space ignored), else 0."""
        words = line.lower().split()
        if len(words) < 3:
            return 0
        return int.from_bytes(_blake2b(" ".join(words).encode(), digest_size=8).digest(), "big") or 1

    def without_boilerplate(self, lines: list[str]) -> tuple[list[str], list[int]]:
        """``lines`` without the repeated ones, and the digests of all tracked lines (for ``record``)."""
        keys = list(map(self.key_of, lines))
        known, threshold = self.lines, self.stories_for_boilerplate
        kept = [line for line, key in zip(lines, keys) if not key or known.get(key, 0) & 0xFF < threshold]
        return kept, [key for key in keys if key]

    def record(self, keys: Iterable[int], story_id: str) -> None:
        """Count the lines ``keys`` of an article assigned to story ``story_id``."""
        lines = self.lines
        story = int.from_bytes(_blake2b(story_id.encode("utf-8"), digest_size=6).digest(), "big") << 8
        for key in keys:
            entry = lines.get(key)
            if entry is None:
                lines[key] = story | 1
            elif entry >> 8 != story >> 8:
                lines[key] = story | min((entry & 0xFF) + 1, 0xFF)
        if len(lines) > self.max_lines:
            kept = [(key, entry) for key, entry in lines.items() if _in_several_stories(entry)]
            self.lines = dict(kept[-(self.max_lines // 2) :])  # the most recently added repeated lines
            self.old_entries = len(self.lines)


def _in_several_documents(count: int) -> bool:
    return count > 1


def _in_several_stories(entry: int) -> bool:
    return entry & 0xFF > 1


def _forget_old_singletons(
    table: dict[Any, int], old_entries: int, keep: Callable[[int], bool]
) -> tuple[dict[Any, int], int]:
    """``table`` without those of its first ``old_entries`` entries whose value fails ``keep``, and the number of
    entries of the result (all of them old at the next call). Entries added since the last call all stay: a term
    or line gets at least one full period to be met again."""
    if old_entries:
        entries = iter(table.items())
        kept = {key: value for key, value in islice(entries, old_entries) if keep(value)}
        kept.update(entries)
        table = kept
    return table, len(table)
