"""Related articles, with the reason shown.

"More like this" ranks articles by TF-IDF cosine similarity of their whole text; "Related" ranks by the headline's
and the lead's most distinctive terms, so it finds articles on the same subject even when the bodies differ.
Candidates come from the full-text index (articles sharing the query article's most distinctive terms), so the
cost does not grow with the corpus; only the candidates are scored exactly. Each result names the terms that
weighed most in the match: "shares: rafah, netanyahu, gallant".
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

from .model import Article
from .store.base import Store

__all__ = ["RelatedArticle", "more_like_this", "related_articles", "tokenize", "STOP_WORDS"]


# Function words of English plus news furniture: they say nothing about what two articles share.
STOP_WORDS = frozenset(
    """a about above after again against all also am an and any are aren't as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have having he her
    here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not now of
    off on once only or other our ours ourselves out over own said same says she should so some such than that the
    their theirs them themselves then there these they this those through to too under until up very was we were what
    when where which while who whom why will with would you your yours yourself yourselves one two three new would
    told according year years last first mr mrs ms people time week day days may like get got make made many much
    could still even back well way since around including across among per via another however though already yet
    """.split()
)


# Cosine similarity below which two articles are not shown as related (TF-IDF, sublinear TF).
MIN_SIMILARITY = 0.05


@dataclass(slots=True)
class RelatedArticle:
    article: Article
    score: float
    reason: str
    shared_terms: list[str]


def _fold(text: str) -> str:
    # Mirror the FTS5 tokenizer (unicode61, remove_diacritics 2) so our terms are the index's terms.
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def tokenize(text: str) -> list[str]:
    """Content words of ``text``: folded, split the way the full-text index splits them, stop words removed."""
    words = []
    for token in re.findall(r"\w+", _fold(text)):
        if len(token) > 2 and not token.isdigit() and token not in STOP_WORDS:
            words.append(token)
    return words


def _tf(tokens: list[str]) -> dict[str, float]:
    counts = Counter(tokens)
    return {term: 1.0 + math.log(count) for term, count in counts.items()}  # sublinear TF


def _idf(store: Store, terms: list[str], total: int) -> dict[str, float]:
    frequencies = store.document_frequencies(terms)
    return {term: math.log((1 + total) / (1 + frequencies.get(term, 0))) + 1.0 for term in terms}


def _weights(tf: dict[str, float], idf: dict[str, float]) -> dict[str, float]:
    vector = {term: value * idf[term] for term, value in tf.items() if term in idf}
    norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
    return {term: v / norm for term, v in vector.items()}


def _rank(
    store: Store,
    article: Article,
    query_text: str,
    k: int,
    exclude: set[str],
    query_terms: int = 24,
    candidates: int = 60,
) -> list[RelatedArticle]:
    total = max(store.stats().articles, 1)
    tf = _tf(tokenize(query_text))
    if not tf:
        return []
    idf = _idf(store, list(tf), total)
    vector = _weights(tf, idf)
    top_terms = [term for term, _ in sorted(vector.items(), key=lambda item: -item[1])[:query_terms]]
    excluded_ids = sorted(exclude | {article.id})
    pool = store.candidates_sharing_terms(top_terms, exclude=excluded_ids, limit=candidates)
    if not pool:
        return []
    pool_tfs = [_tf(tokenize(candidate.title + "\n" + candidate.text)) for candidate in pool]
    pool_idf = _idf(store, sorted({term for tf_ in pool_tfs for term in tf_} - set(idf)), total) | idf
    results = []
    for candidate, candidate_tf in zip(pool, pool_tfs):
        candidate_vector = _weights(candidate_tf, pool_idf)
        contributions = {term: vector[term] * candidate_vector[term] for term in vector if term in candidate_vector}
        score = sum(contributions.values())
        # One shared word ("fire", "benjamin") is a coincidence, not a relation: ask for two and a real similarity.
        if score < MIN_SIMILARITY or len(contributions) < 2:
            continue
        shared = [term for term, _ in sorted(contributions.items(), key=lambda item: -item[1])[:4]]
        results.append(RelatedArticle(candidate, score, "shares: " + ", ".join(shared), shared))
    results.sort(key=lambda r: -r.score)
    return results[:k]


def more_like_this(store: Store, article: Article, k: int = 5, exclude: set[str] | None = None) -> list[RelatedArticle]:
    """Articles whose whole text is nearest to this one's (TF-IDF cosine), best first."""
    return _rank(store, article, article.title + "\n" + article.text, k, exclude or set())


def related_articles(store: Store, article: Article, k: int = 5, exclude: set[str] | None = None) -> list[RelatedArticle]:
    """Articles on the same subject: ranked by the headline's and the lead paragraph's distinctive terms."""
    lead = article.paragraphs[0] if article.paragraphs else ""
    # The headline is repeated so its terms outweigh the lead's, as an editor would weigh them.
    return _rank(store, article, "\n".join([article.title, article.title, lead]), k, exclude or set(), query_terms=12)
