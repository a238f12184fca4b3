"""Enrichment stage: language, named entities, keyphrases and an extractive summary for each article.

    from newsloom.enrich import enrich
    articles = enrich(articles)                 # entities when spaCy is installed, else skipped
    articles = enrich(articles, entities=True)  # MissingExtraError when spaCy is not installed

    # a long run: workers started once, the next batch enriched while the caller stores the last one
    with EnrichmentPool(n_process=2, run_entities=True) as pool:
        pending = start_enrich(batch, entities=True, pool=pool)   # returns at once
        ...
        articles = pending.result()

Each part is also a plain function of its own module (``detect_language``, ``extract_entities``,
``extract_keyphrases``, ``summarize``). Language identification and keyphrases need no model download;
entities need the ``nlp`` extra (spaCy and its small English model).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace

from newsloom.enrich.entities import (
    AliasTable,
    SurnameResolver,
    article_mentions,
    entities_available,
    extract_entities,
    resolve_corpus,
)
from newsloom.enrich.keyphrases import extract_keyphrases
from newsloom.enrich.language import detect_language
from newsloom.enrich.pool import EnrichmentPool
from newsloom.enrich.summary import reading_time_minutes, summarize
from newsloom.errors import MissingExtraError
from newsloom.model import Article

__all__ = [
    "AliasTable",
    "EnrichmentCache",
    "EnrichmentPool",
    "PendingEnrichment",
    "SurnameResolver",
    "detect_language",
    "enrich",
    "entities_available",
    "extract_entities",
    "extract_keyphrases",
    "reading_time_minutes",
    "start_enrich",
    "summarize",
]

# The NER model is English: on other languages it finds noise, so those articles get no entities.
_NER_LANGUAGES = frozenset({"en", None})
_LANGUAGE_SAMPLE_CHARS = 3000
# Below this many articles per worker, starting worker processes costs more than it saves.
_MIN_CHUNK = 32


def _language_of(article: Article) -> str | None:
    """Language found in the text; the extractor's guess (often an HTML lang attribute) when the text
    cannot tell."""
    sample = (article.title or "") + "\n\n" + article.text[:_LANGUAGE_SAMPLE_CHARS]
    return detect_language(sample) or article.language


@dataclass(frozen=True, slots=True)
class _Options:
    run_entities: bool
    keyphrase_count: int
    summary_sentences: int
    batch_size: int


@dataclass(slots=True)
class _Partial:
    """What one article gets before the corpus-level step (surname resolution needs every article)."""

    language: str | None
    mentions: list[tuple[str, str]] | None  # None: NER not run on this article
    keyphrases: list[str]
    summary: str | None


def _enrich_chunk(articles: Sequence[Article], options: _Options) -> list[_Partial]:
    """Everything per article: language, canonical mentions (steps 1-3), keyphrases, summary."""
    languages = [_language_of(article) for article in articles]
    mentions: dict[int, list[tuple[str, str]]] = {}
    if options.run_entities:
        ner_indexes = [i for i, language in enumerate(languages) if language in _NER_LANGUAGES]
        found = article_mentions([articles[i] for i in ner_indexes], batch_size=options.batch_size)
        mentions = dict(zip(ner_indexes, found))
    return [
        _Partial(
            language=language,
            mentions=mentions.get(index),
            keyphrases=extract_keyphrases(
                article.text, title=article.title, k=options.keyphrase_count, language=language
            ),
            summary=summarize(article.paragraphs, title=article.title, max_sentences=options.summary_sentences) or None,
        )
        for index, (article, language) in enumerate(zip(articles, languages))
    ]


def _enrichment_key(article: Article) -> bytes:
    """A digest of everything the per-article work reads (title, paragraphs, the extractor's language guess):
    equal keys give equal results."""
    digest = hashlib.blake2b(digest_size=16)
    for part in (article.title or "", "\x1e".join(article.paragraphs), article.language or ""):
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    return digest.digest()


class EnrichmentCache:
    """The per-article results of the last ``size`` distinct articles, by content.

    An exact copy (a wire sent twice, a page under two URLs) then costs nothing: it gets the very result computed
    for the first, since the key covers every input of the per-article work. Bounded, so memory stays flat.
    """

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self.hits = 0
        self._partials: OrderedDict[bytes, _Partial] = OrderedDict()

    def get(self, key: bytes) -> _Partial | None:
        partial = self._partials.get(key)
        if partial is not None:
            self._partials.move_to_end(key)
            self.hits += 1
        return partial

    def put(self, key: bytes, partial: _Partial) -> None:
        self._partials[key] = partial
        self._partials.move_to_end(key)
        while len(self._partials) > self.size:
            self._partials.popitem(last=False)


@dataclass(slots=True)
class PendingEnrichment:
    """Enrichment under way (in worker processes, or already done here); :meth:`result` finishes it."""

    articles: Sequence[Article]
    run_entities: bool
    options: _Options
    resolver: SurnameResolver | None
    keys: list[bytes]  # one per article
    known: dict[bytes, _Partial]  # found in the cache
    todo_keys: list[bytes]  # distinct keys to compute, in first-seen order
    todo: list[Article]  # one article per key of todo_keys
    cache: EnrichmentCache | None = None
    pool: EnrichmentPool | None = None
    submitted: list[tuple[Sequence[Article], Future[list[_Partial]]]] | None = None
    computed: list[_Partial] | None = field(default=None)

    @property
    def reused(self) -> int:
        """Articles that got another article's result (an identical one in the batch, or in the cache)."""
        return len(self.articles) - len(self.todo)

    def result(self) -> list[Article]:
        """New Article records with language, entities, keyphrases and summary (blocks until the workers are done)."""
        if self.computed is None:
            assert self.pool is not None and self.submitted is not None
            self.computed = self.pool.gather(self.submitted, _enrich_chunk, self.options)
        by_key = dict(self.known)
        for key, partial in zip(self.todo_keys, self.computed):
            by_key[key] = partial
            if self.cache is not None:
                self.cache.put(key, partial)
        return _finish(self.articles, [by_key[key] for key in self.keys], self.run_entities, self.resolver)


def start_enrich(
    articles: Sequence[Article],
    entities: bool | None = None,
    *,
    keyphrase_count: int = 8,
    summary_sentences: int = 3,
    batch_size: int = 64,
    resolver: SurnameResolver | None = None,
    pool: EnrichmentPool | None = None,
    cache: EnrichmentCache | None = None,
) -> PendingEnrichment:
    """Start enriching ``articles``: in ``pool``'s workers when given (returns at once), else here and now.
    Articles with identical inputs (within the list, or found in ``cache``) are enriched once.
    ``.result()`` finishes the job; see :func:`enrich` for the parameters."""
    run_entities = entities_available() if entities is None else entities
    if run_entities and not entities_available():
        raise MissingExtraError("entities", "nlp")
    options = _Options(run_entities, keyphrase_count, summary_sentences, batch_size)
    keys = [_enrichment_key(article) for article in articles]
    known: dict[bytes, _Partial] = {}
    todo: dict[bytes, Article] = {}
    for key, article in zip(keys, articles):
        if key in known or key in todo:
            continue
        cached = cache.get(key) if cache is not None else None
        if cached is not None:
            known[key] = cached
        else:
            todo[key] = article
    pending = PendingEnrichment(
        articles, run_entities, options, resolver, keys, known, list(todo), list(todo.values()), cache=cache
    )
    if pool is not None and pool.alive and pending.todo:
        pending.pool = pool
        pending.submitted = pool.submit(pending.todo, _enrich_chunk, options)
    else:
        pending.computed = _enrich_chunk(pending.todo, options) if pending.todo else []
    return pending


def _finish(
    articles: Sequence[Article], partials: list[_Partial], run_entities: bool, resolver: SurnameResolver | None
) -> list[Article]:
    """The corpus-level step (bare surnames, over the articles in order), then the new Article records."""
    ner_indexes = [i for i, partial in enumerate(partials) if partial.mentions is not None]
    resolved = resolve_corpus([partials[i].mentions or [] for i in ner_indexes], resolver)
    entities_of = dict(zip(ner_indexes, resolved))
    return [
        replace(
            article,
            language=partial.language,
            entities=entities_of.get(index, [] if run_entities else article.entities),
            keyphrases=list(partial.keyphrases),
            summary=partial.summary,
        )
        for index, (article, partial) in enumerate(zip(articles, partials))
    ]


def enrich(
    articles: Sequence[Article],
    entities: bool | None = None,
    *,
    keyphrase_count: int = 8,
    summary_sentences: int = 3,
    n_process: int = 1,
    batch_size: int = 64,
    resolver: SurnameResolver | None = None,
) -> list[Article]:
    """New Article records with language, entities, keyphrases and summary filled in (inputs untouched).

    ``entities``: None runs NER when spaCy and the model are installed and skips it otherwise; True
    requires it (MissingExtraError when missing); False skips it. ``n_process`` > 1 spreads the work over
    that many worker processes for this call (for many calls, keep one :class:`EnrichmentPool` and use
    :func:`start_enrich`); ``batch_size`` goes to spaCy's ``nlp.pipe``. Keep ``resolver`` across calls to
    resolve bare surnames against the whole corpus, not only this batch.
    """
    run_entities = entities_available() if entities is None else entities
    options = {"keyphrase_count": keyphrase_count, "summary_sentences": summary_sentences, "batch_size": batch_size}
    if n_process > 1 and len(articles) >= 2 * _MIN_CHUNK:
        with EnrichmentPool(n_process, run_entities) as pool:
            return start_enrich(articles, run_entities, resolver=resolver, pool=pool, **options).result()
    return start_enrich(articles, run_entities, resolver=resolver, **options).result()
