"""Enrichment stage: language, named entities, keyphrases and an extractive summary for each article.

    from newsloom.enrich import enrich
    articles = enrich(articles)                 # entities when spaCy is installed, else skipped
    articles = enrich(articles, entities=True)  # MissingExtraError when spaCy is not installed

Each part is also a plain function of its own module (``detect_language``, ``extract_entities``,
``extract_keyphrases``, ``summarize``). Language identification and keyphrases need no model download;
entities need the ``nlp`` extra (spaCy and its small English model).
"""

from __future__ import annotations

import math
import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace

from newsloom.enrich.entities import (
    AliasTable,
    SurnameResolver,
    _load_ner,
    article_mentions,
    entities_available,
    extract_entities,
    resolve_corpus,
)
from newsloom.enrich.keyphrases import extract_keyphrases
from newsloom.enrich.language import detect_language
from newsloom.enrich.summary import reading_time_minutes, summarize
from newsloom.errors import MissingExtraError
from newsloom.model import Article

__all__ = [
    "enrich",
    "entities_available",
    "detect_language",
    "extract_entities",
    "extract_keyphrases",
    "summarize",
    "reading_time_minutes",
    "AliasTable",
    "SurnameResolver",
]

# The NER model is English: on other languages it finds noise, so those articles get no entities.
_NER_LANGUAGES = frozenset({"en", None})
_LANGUAGE_SAMPLE_CHARS = 3000
# Below this many articles per worker, forking costs more than it saves.
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


def _enrich_in_processes(articles: Sequence[Article], options: _Options, n_process: int) -> list[_Partial]:
    """The per-article work spread over ``n_process`` forked workers (they inherit the loaded model)."""
    if options.run_entities:
        _load_ner()  # load once in the parent: forked workers share it instead of loading it each
    chunk_size = max(_MIN_CHUNK, math.ceil(len(articles) / (n_process * 4)))
    chunks = [articles[start : start + chunk_size] for start in range(0, len(articles), chunk_size)]
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=n_process, mp_context=context) as pool:
        results = pool.map(_enrich_chunk, chunks, [options] * len(chunks))
        return [partial for chunk_result in results for partial in chunk_result]


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
    forked worker processes (where the platform forks); ``batch_size`` goes to spaCy's ``nlp.pipe``. Keep
    ``resolver`` across calls to resolve bare surnames against the whole corpus, not only this batch.
    """
    run_entities = entities_available() if entities is None else entities
    if run_entities and not entities_available():
        raise MissingExtraError("entities", "nlp")
    options = _Options(run_entities, keyphrase_count, summary_sentences, batch_size)
    parallel = n_process > 1 and len(articles) >= 2 * _MIN_CHUNK and "fork" in multiprocessing.get_all_start_methods()
    partials = _enrich_in_processes(articles, options, n_process) if parallel else _enrich_chunk(articles, options)

    ner_indexes = [i for i, partial in enumerate(partials) if partial.mentions is not None]
    resolved = resolve_corpus([partials[i].mentions or [] for i in ner_indexes], resolver)
    entities_of = dict(zip(ner_indexes, resolved))
    return [
        replace(
            article,
            language=partial.language,
            entities=entities_of.get(index, [] if run_entities else article.entities),
            keyphrases=partial.keyphrases,
            summary=partial.summary,
        )
        for index, (article, partial) in enumerate(zip(articles, partials))
    ]
