"""Offline language identification: ``detect_language(text) -> ISO 639-1 code or None``.

The main path is py3langid (langid.py's naive Bayes over byte n-grams, 97 languages, model shipped inside
the package, nothing downloaded). When it is not installed, a small fallback decides from the writing
system (Cyrillic, Arabic, CJK, ...) and, for Latin-script text, from stop-word profiles of the major
European languages. Both abstain (``None``) when the text is too short or the evidence too weak: a wrong
language is worse than an unknown one, since it selects the wrong stop words and skips entity extraction.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from functools import lru_cache
from typing import Any

from newsloom.enrich._stopwords import STOPWORDS
from newsloom.enrich._text import clean_text, fold, word_tokens

__all__ = ["detect_language", "langid_available"]

# Enough to identify the language of an article; reading more only costs time.
_SAMPLE_CHARS = 3000
_MIN_LETTERS = 12
# Calibrated probability below which py3langid's answer is treated as a guess.
_MIN_CONFIDENCE = 0.5


@lru_cache(maxsize=1)
def _langid_identifier() -> Any | None:
    """py3langid's identifier with normalised probabilities, or None when the package is absent."""
    try:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier
    except ImportError:
        return None
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def langid_available() -> bool:
    """Whether the py3langid model is installed (else the stop-word fallback is used)."""
    return _langid_identifier() is not None


def detect_language(text: str) -> str | None:
    """The ISO 639-1 code of ``text``'s language, or None when it cannot be told with confidence."""
    sample = clean_text(text, limit=_SAMPLE_CHARS)
    if sum(ch.isalpha() for ch in sample) < _MIN_LETTERS:
        return None
    identifier = _langid_identifier()
    if identifier is None:
        return _detect_with_profiles(sample)
    language, confidence = identifier.classify(sample)
    if confidence < _MIN_CONFIDENCE or len(language) != 2:
        return None
    return str(language)


# --- fallback without py3langid ------------------------------------------------------------------------------

# Scripts that (nearly) decide the language on their own; Cyrillic defaults to Russian, the most common in news.
_SCRIPT_LANGUAGE = {
    "HIRAGANA": "ja",
    "KATAKANA": "ja",
    "HANGUL": "ko",
    "CJK": "zh",
    "ARABIC": "ar",
    "HEBREW": "he",
    "GREEK": "el",
    "THAI": "th",
    "DEVANAGARI": "hi",
    "CYRILLIC": "ru",
    "ARMENIAN": "hy",
    "GEORGIAN": "ka",
}
_UKRAINIAN_LETTERS = frozenset("іїєґ")


def _script_of(ch: str) -> str:
    name = unicodedata.name(ch, "")
    return name.split(" ", 1)[0] if name else ""


def _detect_with_profiles(sample: str) -> str | None:
    letters = [ch for ch in sample if ch.isalpha()]
    scripts = Counter(_script_of(ch) for ch in letters)
    script, count = scripts.most_common(1)[0]
    if script != "LATIN" and count >= len(letters) / 2:
        if script == "CJK" and (scripts["HIRAGANA"] + scripts["KATAKANA"]) > 0:
            return "ja"  # Japanese mixes kanji with kana; Chinese has no kana
        if script == "CYRILLIC" and any(ch in _UKRAINIAN_LETTERS for ch in sample.lower()):
            return "uk"
        return _SCRIPT_LANGUAGE.get(script)
    words = [fold(word) for word in word_tokens(sample.lower())]
    if len(words) < 4:
        return None
    hits = {lang: sum(fold_word in _FOLDED_STOPWORDS[lang] for fold_word in words) for lang in _FOLDED_STOPWORDS}
    ranked = sorted(hits.items(), key=lambda item: item[1], reverse=True)
    (best, best_hits), (_, runner_up_hits) = ranked[0], ranked[1]
    # Require stop words to be common (they are ~40% of running text) and to single out one language.
    if best_hits < max(2, 0.15 * len(words)) or best_hits < 1.3 * runner_up_hits:
        return None
    return best


_FOLDED_STOPWORDS = {lang: frozenset(fold(word) for word in words) for lang, words in STOPWORDS.items()}
