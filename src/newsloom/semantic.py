"""Semantic and hybrid search over article embeddings (the optional ``semantic`` extra).

    from newsloom.semantic import search_articles
    hits = search_articles(store, "ceasefire talks", mode="hybrid")   # "keyword" | "semantic" | "hybrid"

- **keyword** is the store's full-text search (``Store.search``), unchanged.
- **semantic** embeds the query's words (``enrich.embeddings``) and ranks the stored article vectors by cosine
  similarity, brute force with numpy: exact, no index to build or tune. The vectors are read from the store once and
  kept per store in memory (``VectorIndex``), catching up with new vectors by position on every search. 384 float32
  values an article: 1M articles take 1.5 GiB and are scored in chunks of ``CHUNK_ROWS`` rows (see bench/semantic.py
  for the measured time per query).
- **hybrid** fuses the keyword and semantic rankings by reciprocal rank fusion (``rrf_fuse``, k = 60): a paraphrase
  that shares no word with the query still comes up, and an exact match of a rare name still ranks first.

Duplicates stay collapsed: a vector of an article that has since become a copy counts for its canonical article, and
each canonical article appears once. The query language's filters (site:, lang:, entity:, author:, story:, after:,
before:) and exclusions (-word) apply to semantic results too; the filters are judged by the store
(``Store.ids_passing_filters``), exactly as the keyword search judges them. A semantic search looks through the ``MAX_WINDOW`` nearest vectors at most, so a very narrow filter may leave
fewer hits than asked for. ``sort:date`` orders the best matches newest first.

Vectors are computed at ingest by ``EmbedStage`` (part of ``default_stages`` when the extra is installed) and for
articles stored before that by ``embed_missing`` (``newsloom embed``). Without the extra, semantic and hybrid searches
raise ``MissingExtraError`` with the install hint; keyword search and everything else work as before.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import numpy as np

from .enrich.embeddings import (
    Embedder,
    default_embedder,
    embedding_text,
    semantic_available,
    text_hash,
    vector_from_bytes,
    vector_to_bytes,
)
from .errors import MissingExtraError, QueryError, StoreError
from .model import Article
from .search import Query, Term, parse_query, query_tokens
from .stages import Batch
from .store.base import EmbeddingRecord, SearchHit, Store
from .store.filters import opening_words

__all__ = [
    "RRF_K",
    "SEARCH_MODES",
    "EmbedStage",
    "VectorIndex",
    "embed_missing",
    "embedding_stage",
    "hybrid_search",
    "rrf_fuse",
    "search_articles",
    "semantic_ready",
    "semantic_search",
]

SEARCH_MODES = ("keyword", "semantic", "hybrid")
RRF_K = 60  # the constant of Cormack et al. (2009): ranks past ~60 barely move a fused score
# Each ranking fused by hybrid search holds this many hits (or offset + limit, if more).
HYBRID_WINDOW = 100
CHUNK_ROWS = 65_536  # rows scored per matrix product: 96 MiB of float32 at 384 dimensions
_LOAD_ROWS = 5_000  # vectors read from the store per query while catching up
# Nearest vectors a semantic search looks through for matches of its filters, at most: past that, a filter is better
# served by the keyword search (the store's indexes), and the request stays fast.
MAX_WINDOW = 25_600
_FETCH_CHUNK = 500


# -- ranking ------------------------------------------------------------------------------------------------------
def rrf_fuse(rankings: Sequence[Sequence[str]], k: int = RRF_K) -> list[tuple[str, float]]:
    """Reciprocal rank fusion: each id scores the sum over rankings of 1 / (k + rank), rank counted from 1.

    Best first; ties go to the id with the better single rank, then to the earlier ranking. An id repeated within
    one ranking counts at its first place only, and its repeats take no place.
    """
    if k < 0:
        raise ValueError("k must be >= 0")
    scores: dict[str, float] = {}
    best: dict[str, tuple[int, int]] = {}  # id -> (best rank, index of the ranking that gave it)
    for which, ranking in enumerate(rankings):
        for rank, item in enumerate(dict.fromkeys(ranking), start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
            if item not in best or (rank, which) < best[item]:
                best[item] = (rank, which)
    return sorted(scores.items(), key=lambda pair: (-pair[1], best[pair[0]]))


class VectorIndex:
    """Unit vectors in one float32 matrix, scored exactly by brute force (cosine = dot product of unit vectors)."""

    def __init__(self, dimensions: int) -> None:
        self.dimensions = dimensions
        self.position = 0  # the store position caught up to
        self._ids: list[str] = []
        self._row_of: dict[str, int] = {}
        self._matrix = np.zeros((0, dimensions), dtype=np.float32)
        self.lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        """Add rows, or replace the row of an id already held (an article embedded again)."""
        vectors = np.asarray(vectors, dtype=np.float32).reshape(-1, self.dimensions)
        new = [i for i, article_id in enumerate(ids) if article_id not in self._row_of]
        needed = len(self._ids) + len(new)
        if needed > self._matrix.shape[0]:
            # Grow geometrically, so loading n vectors copies O(n) values in all.
            grown = np.zeros((max(needed, 2 * self._matrix.shape[0], 1024), self.dimensions), dtype=np.float32)
            grown[: len(self._ids)] = self._matrix[: len(self._ids)]
            self._matrix = grown
        for i, article_id in enumerate(ids):
            row = self._row_of.get(article_id)
            if row is None:
                row = len(self._ids)
                self._ids.append(article_id)
                self._row_of[article_id] = row
            self._matrix[row] = vectors[i]

    def top(self, query: np.ndarray, k: int, chunk_rows: int = CHUNK_ROWS) -> list[tuple[str, float]]:
        """The ``k`` ids most similar to the unit vector ``query``, best first, with their cosine similarity."""
        return self.best(self.scores(query, chunk_rows), k)

    def scores(self, query: np.ndarray, chunk_rows: int = CHUNK_ROWS) -> np.ndarray:
        """The cosine similarity of the unit vector ``query`` with every row, in row order (one pass over the
        matrix, in chunks that bound the temporary memory of the product)."""
        query = np.asarray(query, dtype=np.float32).reshape(self.dimensions)
        size = len(self._ids)
        scores = np.empty(size, dtype=np.float32)
        for start in range(0, size, chunk_rows):
            stop = min(size, start + chunk_rows)
            scores[start:stop] = self._matrix[start:stop] @ query
        return scores

    def best(self, scores: np.ndarray, k: int) -> list[tuple[str, float]]:
        """The ``k`` best of ``scores`` (from :meth:`scores`) as (id, similarity), best first."""
        if k <= 0 or scores.size == 0:
            return []
        rows = np.argpartition(-scores, k - 1)[:k] if scores.size > k else np.arange(scores.size)
        order = np.lexsort((rows, -scores[rows]))  # by score, ties by insertion order: stable results
        return [(self._ids[rows[i]], float(scores[rows[i]])) for i in order]

    def catch_up(self, store: Store, model: str) -> None:
        """Load the vectors the store saved since the last call."""
        while True:
            rows = store.embeddings_after(model, self.position, _LOAD_ROWS)
            if not rows:
                return
            vectors = np.stack([vector_from_bytes(vector, self.dimensions) for _, _, vector in rows])
            self.add([article_id for _, article_id, _ in rows], vectors)
            self.position = rows[-1][0]


_indexes: weakref.WeakKeyDictionary[Store, dict[str, VectorIndex]] = weakref.WeakKeyDictionary()
_indexes_lock = threading.Lock()


def _index_for(store: Store, embedder: Embedder) -> VectorIndex:
    with _indexes_lock:
        by_model = _indexes.setdefault(store, {})
        index = by_model.get(embedder.name)
        if index is None:
            index = by_model[embedder.name] = VectorIndex(embedder.dimensions)
    with index.lock:
        index.catch_up(store, embedder.name)
    return index


def semantic_ready(store: Store, model: str | None = None) -> bool:
    """Whether semantic search can run on this store: the extra is installed and some article has a vector."""
    if not semantic_available():
        return False
    from .enrich.embeddings import MODEL_NAME

    try:
        return bool(store.embeddings_after(model or MODEL_NAME, 0, 1))
    except StoreError:
        return False


# -- query-side checks that the store applies in SQL for keyword search ---------------------------------------------
def query_text(query: Query) -> str:
    """The words a semantic search embeds: every term of the query, phrases as written (filters left out)."""
    return " ".join(" ".join(term.tokens) for clause in query.clauses for term in clause)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _mentions_excluded(article: Article, excluded: list[Term]) -> bool:
    if not excluded:
        return False
    text = " " + " ".join(query_tokens(article.title + " " + article.text)) + " "
    return any(" " + " ".join(term.tokens) + " " in text for term in excluded)


# -- searches ------------------------------------------------------------------------------------------------------
def _articles_by_id(store: Store, ids: list[str]) -> dict[str, Article]:
    # In chunks: one IN (...) per chunk keeps under the database's limit on bound parameters.
    found: dict[str, Article] = {}
    for start in range(0, len(ids), _FETCH_CHUNK):
        found.update((a.id, a) for a in store.get_articles(ids[start : start + _FETCH_CHUNK]))
    return found


def _canonical_hits(store: Store, nearest: list[tuple[str, float]]) -> list[tuple[Article, float]]:
    """(article, similarity) for these (id, similarity), each copy replaced by its canonical article, each canonical
    article once, at the best similarity of its group."""
    articles = _articles_by_id(store, [article_id for article_id, _ in nearest])
    canonical = _articles_by_id(store, sorted({a.duplicate_of for a in articles.values() if a.duplicate_of}))
    result: list[tuple[Article, float]] = []
    seen: set[str] = set()
    for article_id, score in nearest:
        article = articles.get(article_id)
        if article is not None and article.duplicate_of is not None:
            article = canonical.get(article.duplicate_of)
        if article is None or article.duplicate_of is not None or article.id in seen:
            continue  # gone from the store, a copy of a copy, or already listed through a better vector
        seen.add(article.id)
        result.append((article, score))
    return result


def semantic_search(
    store: Store, query: str, limit: int = 20, offset: int = 0, embedder: Embedder | None = None
) -> list[SearchHit]:
    """Articles nearest in meaning to the query's words, best first, duplicates collapsed, filters applied.

    A query of filters only has nothing to embed and is answered by the keyword search. Raises ``QueryError`` on a
    malformed query and ``MissingExtraError`` without the ``semantic`` extra.
    """
    parsed = parse_query(query)
    words = query_text(parsed)
    if not words:
        return store.search(query, limit=limit, offset=offset)
    embedder = embedder or default_embedder()
    index = _index_for(store, embedder)
    scores = index.scores(embedder.embed([words])[0])  # once: widening the window below only re-ranks
    wanted = offset + limit
    window = min(max(4 * wanted, 100), MAX_WINDOW)
    while True:
        # Filters and collapsed copies drop some of the nearest vectors: widen the window until enough remain.
        nearest = _canonical_hits(store, index.best(scores, window))
        passing = store.ids_passing_filters([article.id for article, _ in nearest], parsed)
        ranked = [
            (article, score) for article, score in nearest
            if article.id in passing and not _mentions_excluded(article, parsed.excluded)
        ]
        if len(ranked) >= wanted or window >= min(len(index), MAX_WINDOW):
            break  # enough, all of them, or as far as a semantic search looks (a narrow filter may leave fewer)
        window *= 4
    hits = [SearchHit(article, score, opening_words(article.text)) for article, score in ranked]
    if parsed.sort == "date":  # the best matches (as many as hybrid search fuses), newest first
        hits = sorted(hits[: max(wanted, HYBRID_WINDOW)], key=lambda hit: _sort_time(hit.article), reverse=True)
    return hits[offset:wanted]


def _sort_time(article: Article) -> datetime:
    return _utc(article.published_at) if article.published_at else datetime.min.replace(tzinfo=UTC)


def hybrid_search(
    store: Store, query: str, limit: int = 20, offset: int = 0, embedder: Embedder | None = None, k: int = RRF_K
) -> list[SearchHit]:
    """Keyword and semantic rankings fused by reciprocal rank fusion; snippets from the keyword search when it
    matched (its marks show the matched words), else the article's opening words. The score is the fused score."""
    parsed = parse_query(query)
    if not query_text(parsed):
        return store.search(query, limit=limit, offset=offset)
    window = max(HYBRID_WINDOW, offset + limit)
    keyword = store.search(query, limit=window)
    semantic = semantic_search(store, query, limit=window, embedder=embedder)
    hits = {hit.article.id: hit for hit in semantic}
    hits.update({hit.article.id: hit for hit in keyword})  # keyword snippets carry the match marks
    fused = rrf_fuse([[hit.article.id for hit in keyword], [hit.article.id for hit in semantic]], k=k)
    result = [SearchHit(hits[article_id].article, score, hits[article_id].snippet) for article_id, score in fused]
    if parsed.sort == "date":
        result.sort(key=lambda hit: _sort_time(hit.article), reverse=True)
    return result[offset : offset + limit]


def search_articles(
    store: Store, query: str, mode: str = "keyword", limit: int = 20, offset: int = 0,
    embedder: Embedder | None = None,
) -> list[SearchHit]:
    """One entry point for the CLI, the API and the reader: ``mode`` is keyword, semantic or hybrid."""
    if mode == "keyword":
        return store.search(query, limit=limit, offset=offset)
    if mode == "semantic":
        return semantic_search(store, query, limit=limit, offset=offset, embedder=embedder)
    if mode == "hybrid":
        return hybrid_search(store, query, limit=limit, offset=offset, embedder=embedder)
    raise QueryError(f"unknown search mode {mode!r}: use one of {', '.join(SEARCH_MODES)}")


# -- computing vectors: at ingest, and for articles stored before the extra was installed --------------------------
def _records(articles: Sequence[Article], embedder: Embedder) -> list[EmbeddingRecord]:
    texts = [embedding_text(article) for article in articles]
    vectors = embedder.embed(texts)
    return [
        EmbeddingRecord(article.id, embedder.name, embedder.dimensions, vector_to_bytes(vector), text_hash(text))
        for article, text, vector in zip(articles, texts, vectors)
    ]


class EmbedStage:
    """Pipeline stage: vectors of the batch's canonical articles, committed with the batch. An article whose
    embedded text (title and lead) is unchanged since its stored vector is not embedded again."""

    def __init__(self, embedder: Embedder | None = None) -> None:
        self._embedder = embedder

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = default_embedder()  # loaded on the first batch, not when the stages are built
        return self._embedder

    def __call__(self, batch: Batch, store: Store) -> None:
        canonical = [article for article in batch.articles if article.duplicate_of is None]
        if not canonical:
            return
        embedder = self.embedder
        stored = store.embedding_hashes(embedder.name, [article.id for article in canonical])
        changed = [article for article in canonical if stored.get(article.id) != text_hash(embedding_text(article))]
        batch.extras.embeddings.extend(_records(changed, embedder))


def embedding_stage(enabled: bool | None = None) -> EmbedStage | None:
    """The stage for ``default_stages``: None (off) when ``enabled`` is False, or when it is None (the default) and
    the extra is not installed or the environment says ``NEWSLOOM_EMBEDDINGS=0`` (ingest fast now, ``newsloom embed``
    later); ``MissingExtraError`` when asked for (True) without the extra."""
    if enabled is None:
        switched_off = os.environ.get("NEWSLOOM_EMBEDDINGS", "").strip().lower() in ("0", "false", "no", "off")
        enabled = None if switched_off or not semantic_available() else True
    if not enabled:
        return None
    if not semantic_available():
        raise MissingExtraError("embeddings", "semantic")
    return EmbedStage()


def embed_missing(
    store: Store, embedder: Embedder | None = None, batch_size: int = 256,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Compute and save the vectors of canonical articles that have none (``newsloom embed``); returns how many.
    Each batch is saved in its own transaction, so an interrupted backfill resumes where it stopped."""
    embedder = embedder or default_embedder()
    missing = store.articles_without_embedding(embedder.name)
    if progress:
        progress(0, len(missing))
    for start in range(0, len(missing), batch_size):
        articles = store.get_articles(missing[start : start + batch_size])
        store.save_embeddings(_records(articles, embedder))
        if progress:
            progress(min(start + batch_size, len(missing)), len(missing))
    return len(missing)
