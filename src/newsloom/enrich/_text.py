"""Text helpers shared by the enrichment modules: sanitising hostile input, sentences and word tokens.

Everything here is pure and cheap. Enrichment must never crash on what extraction let through (binary
junk, control characters, lone surrogates, megabytes of text), so each public entry point first passes
its input through :func:`clean_text`, which also caps its length.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["clean_text", "split_sentences", "word_tokens", "fold", "MAX_CHARS"]

# More than any real article (the longest Reuters wire is ~13k characters); past this we only read the head.
MAX_CHARS = 200_000

# C0/C1 controls except tab and newline, plus lone surrogates and non-characters that break encoders.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u202f\u205f\u3000]+")


def clean_text(text: object, limit: int = MAX_CHARS) -> str:
    """``text`` as a safe string: non-strings become "", controls and lone surrogates are dropped, runs of
    spaces are collapsed, and only the first ``limit`` characters are kept."""
    if not isinstance(text, str):
        return ""
    text = text[: limit * 2]  # bound the work of the regexes below before the exact cut
    text = _CONTROL.sub(" ", text)
    text = _SPACES.sub(" ", text)
    return text[:limit].strip()


# Abbreviations after which a full stop does not end a sentence (news style).
_ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof sen rep gov gen col lt sgt capt adm st jr sr co corp inc ltd bros no vs etc
    jan feb mar apr jun jul aug sep sept oct nov dec u.s u.k u.n e.u a.m p.m approx dept est fig mt ft""".split()
)
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9À-ÖØ-Þ])")


def split_sentences(text: str) -> list[str]:
    """Split a paragraph into sentences on ., ! or ? followed by a capitalised word, except after common
    abbreviations and single initials ("U.S. officials", "Mr. Smith", "John F. Kennedy")."""
    sentences: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        candidate = text[start : match.start()].rstrip()
        last_word = candidate.rsplit(None, 1)[-1] if candidate.split() else ""
        stem = last_word.rstrip(".!?…\"'”’)]").lower()
        is_initial = len(stem) == 1 and stem.isalpha()
        if last_word.endswith(".") and (stem in _ABBREVIATIONS or is_initial):
            continue
        sentence = text[start : match.end()].strip()
        if sentence:
            sentences.append(sentence)
        start = match.end()
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


_WORD = re.compile(r"\w+(?:[-'’.]\w+)*", re.UNICODE)


def word_tokens(text: str) -> list[str]:
    """Word-like tokens (letters/digits, keeping inner hyphens, apostrophes and dots as in "U.S")."""
    return _WORD.findall(text)


def fold(text: str) -> str:
    """Case- and accent-insensitive key for comparing words."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))
