"""Exact and near-duplicate articles, and the earliest source of each group of copies.

    text ──normalise──► words ──k-word shingles──► 32-bit shingle hashes ──MinHash──► signature ──LSH bands──► candidates
                                       │                                                                        │
                                       └──────────────── exact containment / Jaccard check ◄─────────────────────┘

* Exact copies share a fingerprint of ``model.normalize_text_for_hash`` (quotes, dashes, case and line breaks
  do not matter).
* Near copies (syndicated with boilerplate added, paragraphs dropped or reordered, sentences edited, a new
  headline) are proposed by MinHash + LSH banding and confirmed on the exact shingle sets. The measure is the
  *containment* of the smaller text in the larger one, because a shortened copy is contained in its original
  even when their Jaccard similarity is low; a Jaccard floor keeps a short story from being swallowed by a
  long round-up that quotes it.
* Each group of copies has one canonical article: the earliest published (dated before undated; ties and
  missing dates: first seen). When a later-ingested copy turns out to be older, the group is re-pointed to it
  and the re-pointing is reported so the store can update its rows.

Everything here is a pure function or an in-memory index; persistence is the store's job. A text's
:class:`DocumentSignature` serialises to bytes (``to_bytes``/``from_bytes``) and :meth:`DuplicateIndex.load`
rebuilds an index from stored rows without the texts.

Hashing is deterministic across processes and machines (BLAKE2b for words, fixed constants and a fixed seed
for the rest), so stored signatures stay valid. Permutations are Dietzfelbinger's multiply-add-shift hashes,
``((a * x + b) mod 2**64) >> 32``, computed with numpy over all shingles of a batch of documents at once.
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Literal, NamedTuple

import numpy as np

from .errors import InputError, InputTooLargeError
from .model import Article, normalize_text_for_hash

__all__ = [
    "DedupOptions",
    "DocumentSignature",
    "DuplicateMatch",
    "IndexRow",
    "DuplicateIndex",
    "DedupSummary",
    "signature_of",
    "signatures_of",
    "exact_fingerprint",
    "shingle_hashes",
    "containment",
    "find_duplicates",
    "dedup_jsonl",
]

DuplicateKind = Literal["exact", "near"]


@dataclass(frozen=True, slots=True)
class DedupOptions:
    """How texts are compared. The first four fields are baked into signatures (stored ones must match).

    ``threshold`` is the containment of the smaller shingle set in the larger one above which two texts are
    copies; ``min_jaccard`` is the Jaccard floor that keeps a story apart from a much longer text quoting it.
    """

    shingle_size: int = 3
    num_perm: int = 128
    bands: int = 32
    seed: int = 1
    threshold: float = 0.5
    min_jaccard: float = 0.2
    min_words: int = 5
    max_words: int = 20_000  # shingles come from the first max_words words; the fingerprint covers all
    max_text_chars: int = 5_000_000
    max_candidates: int = 64  # candidates verified per document, most band collisions first
    max_bucket_size: int = 1_000  # an LSH bucket this full holds a template, not a story

    def __post_init__(self) -> None:
        problems = []
        if not 1 <= self.shingle_size <= 16:
            problems.append("shingle_size must be between 1 and 16")
        if self.num_perm < 1 or self.bands < 1 or self.num_perm % self.bands:
            problems.append("num_perm must be a positive multiple of bands")
        if not 0 <= self.seed < 2**32:
            problems.append("seed must fit in 32 bits")
        if not 0.0 < self.threshold <= 1.0 or not 0.0 <= self.min_jaccard <= 1.0:
            problems.append("threshold must be in (0, 1] and min_jaccard in [0, 1]")
        if self.min_words < 1 or self.max_words < self.min_words or self.max_text_chars < 1:
            problems.append("need 1 <= min_words <= max_words and max_text_chars >= 1")
        if self.max_candidates < 1 or self.max_bucket_size < 1:
            problems.append("max_candidates and max_bucket_size must be positive")
        if problems:
            raise InputError("invalid dedup options: " + "; ".join(problems))

    @property
    def rows_per_band(self) -> int:
        return self.num_perm // self.bands


# ---------------------------------------------------------------------------------------------------- hashing

_MASK64 = (1 << 64) - 1
# Odd 64-bit constants (from splitmix64 / golden ratio) used to mix word hashes into shingle hashes.
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)
_POSITION_MULTIPLIERS = np.array(
    [(0x9E3779B97F4A7C15 * (2 * i + 1)) & _MASK64 for i in range(16)], dtype=np.uint64
)
_SHIFT_29, _SHIFT_30, _SHIFT_31, _SHIFT_32 = (np.uint64(s) for s in (29, 30, 31, 32))


class _WordHashes(dict[str, int]):
    """word -> stable 64-bit hash, computed once per distinct word (BLAKE2b; Python's hash() is salted)."""

    max_size = 2_000_000

    def __missing__(self, word: str) -> int:
        if len(self) >= self.max_size:  # bounded memory on endless streams
            self.clear()
        value = int.from_bytes(hashlib.blake2b(word.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")
        self[word] = value
        return value


_WORD_HASHES = _WordHashes()


def _finalize64(values: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, in place: spreads every input bit over the high bits we keep."""
    values ^= values >> _SHIFT_30
    values *= _MIX_1
    values ^= values >> _SHIFT_29
    values *= _MIX_2
    values ^= values >> _SHIFT_31
    return values


def _normalized(text: str, options: DedupOptions) -> str:
    if not isinstance(text, str):
        raise InputError(f"dedup needs text as str, got {type(text).__name__}")
    if len(text) > options.max_text_chars:
        raise InputTooLargeError(
            f"text of {len(text):,} characters is over the dedup limit of {options.max_text_chars:,}"
        )
    return normalize_text_for_hash(text)


def _fingerprint_of_normalized(normalized: str) -> bytes:
    return hashlib.blake2b(normalized.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def exact_fingerprint(text: str, options: DedupOptions | None = None) -> bytes:
    """16-byte fingerprint of the normalised text: equal for copies that differ only in case, punctuation or spacing."""
    return _fingerprint_of_normalized(_normalized(text, options or DedupOptions()))


def _shingles_of_words(words: list[str], shingle_size: int) -> np.ndarray:
    """Sorted unique 32-bit hashes of the k-word shingles (a text shorter than k words is one shingle)."""
    if not words:
        return np.empty(0, dtype=np.uint32)
    word_hashes = np.fromiter(map(_WORD_HASHES.__getitem__, words), dtype=np.uint64, count=len(words))
    width = min(shingle_size, len(words))
    count = len(words) - width + 1
    mixed = word_hashes[:count] * _POSITION_MULTIPLIERS[0]
    for offset in range(1, width):
        mixed += word_hashes[offset : offset + count] * _POSITION_MULTIPLIERS[offset]
    return np.unique((_finalize64(mixed) >> _SHIFT_32).astype(np.uint32))


def shingle_hashes(text: str, options: DedupOptions | None = None) -> np.ndarray:
    """The text's set of word shingles as sorted unique uint32 hashes."""
    options = options or DedupOptions()
    words = _normalized(text, options).split()
    return _shingles_of_words(words[: options.max_words], options.shingle_size)


def containment(shingles_a: np.ndarray, shingles_b: np.ndarray) -> tuple[float, float]:
    """(containment of the smaller set in the larger, Jaccard) of two sorted unique uint32 shingle arrays."""
    if len(shingles_a) > len(shingles_b):
        shingles_a, shingles_b = shingles_b, shingles_a
    if len(shingles_a) == 0:
        return 0.0, 0.0
    positions = np.searchsorted(shingles_b, shingles_a)
    positions[positions == len(shingles_b)] = 0
    shared = int(np.count_nonzero(shingles_b[positions] == shingles_a))
    return shared / len(shingles_a), shared / (len(shingles_a) + len(shingles_b) - shared)


class _Permutations:
    """The num_perm multiply-add-shift hash functions, drawn once per (num_perm, seed)."""

    _cache: dict[tuple[int, int], _Permutations] = {}

    def __init__(self, num_perm: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.multipliers = rng.integers(0, 2**64, size=num_perm, dtype=np.uint64, endpoint=False) | np.uint64(1)
        self.increments = rng.integers(0, 2**64, size=num_perm, dtype=np.uint64, endpoint=False)

    @classmethod
    def get(cls, num_perm: int, seed: int) -> _Permutations:
        key = (num_perm, seed)
        if key not in cls._cache:
            cls._cache[key] = cls(num_perm, seed)
        return cls._cache[key]


_CHUNK_SHINGLES = 8_192  # columns per numpy pass: the (chunk, num_perm) uint64 matrix stays cache-friendly


def _minhash_many(shingle_sets: Sequence[np.ndarray], options: DedupOptions) -> np.ndarray:
    """MinHash signatures (len(shingle_sets), num_perm) uint32; an empty set gets all 0xFFFFFFFF."""
    perms = _Permutations.get(options.num_perm, options.seed)
    signatures = np.full((len(shingle_sets), options.num_perm), 0xFFFFFFFF, dtype=np.uint32)
    start = 0
    while start < len(shingle_sets):
        # Group consecutive documents into one numpy pass of at most _CHUNK_SHINGLES shingles (at least one doc).
        stop, total = start, 0
        while stop < len(shingle_sets) and (stop == start or total + len(shingle_sets[stop]) <= _CHUNK_SHINGLES):
            total += len(shingle_sets[stop])
            stop += 1
        members = [i for i in range(start, stop) if len(shingle_sets[i])]
        if members:
            values = np.concatenate([shingle_sets[i] for i in members]).astype(np.uint64)
            hashed = values[:, None] * perms.multipliers[None, :]
            hashed += perms.increments[None, :]
            hashed >>= _SHIFT_32
            lengths = np.fromiter((len(shingle_sets[i]) for i in members), dtype=np.int64, count=len(members))
            offsets = np.concatenate(([0], np.cumsum(lengths)[:-1]))
            signatures[members] = np.minimum.reduceat(hashed, offsets, axis=0)
        start = stop
    return signatures


def _band_keys(signatures: np.ndarray, options: DedupOptions) -> np.ndarray:
    """One 64-bit key per (document, band): a hash of the band's rows salted with the band number."""
    rows = options.rows_per_band
    banded = signatures.reshape(len(signatures), options.bands, rows).astype(np.uint64)
    keys = (banded * _POSITION_MULTIPLIERS[:rows]).sum(axis=2, dtype=np.uint64)
    keys += np.arange(options.bands, dtype=np.uint64) * _MIX_2
    return _finalize64(keys)


# ---------------------------------------------------------------------------------------------------- signatures

_MAGIC = b"NLD1"
_HEADER = struct.Struct("<4sBBHII?")  # magic, version, shingle_size, num_perm, seed, shingle count, has fingerprint
_VERSION = 1


@dataclass(frozen=True, slots=True, eq=False)
class DocumentSignature:
    """What dedup keeps of a text: exact fingerprint, MinHash signature and the shingle set for verification.

    ``fingerprint`` is None when the text is too short to be called a copy of anything (under ``min_words``).
    """

    fingerprint: bytes | None
    minhash: np.ndarray  # (num_perm,) uint32
    shingles: np.ndarray  # sorted unique uint32
    shingle_size: int
    seed: int

    def to_bytes(self) -> bytes:
        """Little-endian, self-describing: header, fingerprint (16 bytes when present), minhash, shingles."""
        header = _HEADER.pack(
            _MAGIC, _VERSION, self.shingle_size, len(self.minhash), self.seed, len(self.shingles),
            self.fingerprint is not None,
        )
        return b"".join(
            (
                header,
                self.fingerprint or b"",
                self.minhash.astype("<u4").tobytes(),
                self.shingles.astype("<u4").tobytes(),
            )
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> DocumentSignature:
        """Parse ``to_bytes`` output; raises InputError on anything truncated or foreign."""
        if not isinstance(data, (bytes, bytearray, memoryview)) or len(data) < _HEADER.size:
            raise InputError("not a newsloom dedup signature (too short)")
        magic, version, shingle_size, num_perm, seed, count, has_fingerprint = _HEADER.unpack_from(data)
        if magic != _MAGIC or version != _VERSION:
            raise InputError("not a newsloom dedup signature (bad magic or version)")
        fingerprint_size = 16 if has_fingerprint else 0
        expected = _HEADER.size + fingerprint_size + 4 * (num_perm + count)
        if len(data) != expected:
            raise InputError(f"corrupt dedup signature: {len(data)} bytes, expected {expected}")
        offset = _HEADER.size
        fingerprint = bytes(data[offset : offset + fingerprint_size]) if has_fingerprint else None
        offset += fingerprint_size
        minhash = np.frombuffer(data, dtype="<u4", count=num_perm, offset=offset).astype(np.uint32)
        shingles = np.frombuffer(data, dtype="<u4", count=count, offset=offset + 4 * num_perm).astype(np.uint32)
        if count > 1 and not bool(np.all(shingles[1:] > shingles[:-1])):
            raise InputError("corrupt dedup signature: shingles not sorted")
        return cls(fingerprint, minhash, shingles, shingle_size, seed)

    def check_compatible(self, options: DedupOptions) -> None:
        if (self.shingle_size, len(self.minhash), self.seed) != (options.shingle_size, options.num_perm, options.seed):
            raise InputError(
                f"dedup signature made with shingle_size={self.shingle_size}, num_perm={len(self.minhash)}, "
                f"seed={self.seed}; this index uses {options.shingle_size}, {options.num_perm}, {options.seed}"
            )


def signatures_of(texts: Iterable[str], options: DedupOptions | None = None) -> list[DocumentSignature]:
    """Signatures of many texts; MinHash runs vectorised over the whole batch (much faster than one by one)."""
    options = options or DedupOptions()
    fingerprints: list[bytes | None] = []
    shingle_sets: list[np.ndarray] = []
    for text in texts:
        normalized = _normalized(text, options)
        words = normalized.split()
        if len(words) < options.min_words:
            fingerprints.append(None)
            shingle_sets.append(np.empty(0, dtype=np.uint32))
            continue
        fingerprints.append(_fingerprint_of_normalized(normalized))
        shingle_sets.append(_shingles_of_words(words[: options.max_words], options.shingle_size))
    minhashes = _minhash_many(shingle_sets, options)
    return [
        DocumentSignature(fingerprint, minhashes[i], shingles, options.shingle_size, options.seed)
        for i, (fingerprint, shingles) in enumerate(zip(fingerprints, shingle_sets))
    ]


def signature_of(text: str, options: DedupOptions | None = None) -> DocumentSignature:
    """The signature of one text (``.to_bytes()`` for storage)."""
    return signatures_of([text], options)[0]


# ---------------------------------------------------------------------------------------------------- the index


@dataclass(frozen=True, slots=True)
class DuplicateMatch:
    """What :meth:`DuplicateIndex.add` found for a new document.

    ``duplicate_of`` is the group's canonical article after the add, or None when the new document is older
    than the group's previous canonical and became the canonical itself; ``repointed`` then maps every other
    member of the group (the old canonical included) to the new canonical, for the store to update.
    ``matched_id`` is the already-indexed document the new one was found to copy, ``similarity`` the
    containment of the smaller text in the larger (1.0 for exact copies).
    """

    doc_id: str
    duplicate_of: str | None
    matched_id: str
    similarity: float
    kind: DuplicateKind
    repointed: dict[str, str] = field(default_factory=dict)


class IndexRow(NamedTuple):
    """One stored document: what the store persists and :meth:`DuplicateIndex.load` reads back."""

    doc_id: str
    signature: bytes
    published_at: datetime | None = None
    duplicate_of: str | None = None


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise InputError(f"published_at must be a datetime or None, got {type(value).__name__}")
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


class _Group:
    __slots__ = ("canonical", "members")

    def __init__(self, canonical: int) -> None:
        self.canonical = canonical
        self.members = [canonical]


class DuplicateIndex:
    """A streaming duplicate index: add documents one at a time (or in batches), learn which earlier one each copies.

    Groups never merge: a new document joins the group of its best match. A repeated ``doc_id`` is not added
    again; ``add`` then reports its current status.
    """

    def __init__(self, options: DedupOptions | None = None) -> None:
        self.options = options or DedupOptions()
        self._ids: list[str] = []
        self._ordinal_of: dict[str, int] = {}
        self._published: list[datetime | None] = []
        self._signatures: list[DocumentSignature] = []
        self._group_of: list[_Group | None] = []
        self._matches: dict[int, tuple[int, float, DuplicateKind]] = {}
        self._by_fingerprint: dict[bytes, int] = {}
        self._buckets: dict[int, list[int]] = {}

    # ------------------------------------------------------------------------------------------- reading

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._ordinal_of

    def duplicate_of(self, doc_id: str) -> str | None:
        """The canonical article of ``doc_id``'s group, or None when it is canonical (or alone)."""
        ordinal = self._require(doc_id)
        group = self._group_of[ordinal]
        if group is None or group.canonical == ordinal:
            return None
        return self._ids[group.canonical]

    def group_of(self, doc_id: str) -> list[str]:
        """All documents in ``doc_id``'s group, canonical first."""
        ordinal = self._require(doc_id)
        group = self._group_of[ordinal]
        if group is None:
            return [doc_id]
        return [self._ids[group.canonical]] + [self._ids[m] for m in group.members if m != group.canonical]

    def signature(self, doc_id: str) -> bytes:
        """The stored form of ``doc_id``'s signature."""
        return self._signatures[self._require(doc_id)].to_bytes()

    def rows(self) -> Iterator[IndexRow]:
        """Everything needed to rebuild this index with :meth:`load`, in insertion order."""
        for ordinal, doc_id in enumerate(self._ids):
            yield IndexRow(doc_id, self._signatures[ordinal].to_bytes(), self._published[ordinal], self.duplicate_of(doc_id))

    def _require(self, doc_id: str) -> int:
        try:
            return self._ordinal_of[doc_id]
        except KeyError:
            raise KeyError(f"unknown document id {doc_id!r}") from None

    # ------------------------------------------------------------------------------------------- adding

    def add(self, doc_id: str, text: str, published_at: datetime | None = None) -> DuplicateMatch | None:
        """Index one document; return what it duplicates (None when it copies nothing indexed)."""
        if doc_id in self._ordinal_of:
            return self._status(self._ordinal_of[doc_id])
        return self.add_signature(doc_id, signature_of(text, self.options), published_at)

    def add_many(self, items: Iterable[tuple[str, str, datetime | None]]) -> list[DuplicateMatch | None]:
        """``add`` over (doc_id, text, published_at) items in order, hashing them in vectorised batches."""
        results: list[DuplicateMatch | None] = []
        for batch in _batched(items, 512):
            signatures = signatures_of((text for _, text, _ in batch), self.options)
            for (doc_id, _, published_at), signature in zip(batch, signatures):
                results.append(self.add_signature(doc_id, signature, published_at))
        return results

    def add_signature(
        self, doc_id: str, signature: DocumentSignature | bytes, published_at: datetime | None = None
    ) -> DuplicateMatch | None:
        """``add`` for a precomputed (or stored) signature."""
        if not isinstance(doc_id, str) or not doc_id:
            raise InputError("a document id must be a non-empty string")
        if doc_id in self._ordinal_of:
            return self._status(self._ordinal_of[doc_id])
        if not isinstance(signature, DocumentSignature):
            signature = DocumentSignature.from_bytes(signature)
        signature.check_compatible(self.options)
        published_at = _utc(published_at)

        match = self._find_match(signature)
        ordinal = self._append(doc_id, signature, published_at)
        if match is None:
            return None
        matched, similarity, kind = match
        self._matches[ordinal] = match
        return self._join(ordinal, matched, similarity, kind)

    def _append(self, doc_id: str, signature: DocumentSignature, published_at: datetime | None) -> int:
        ordinal = len(self._ids)
        self._ids.append(doc_id)
        self._ordinal_of[doc_id] = ordinal
        self._published.append(published_at)
        self._signatures.append(signature)
        self._group_of.append(None)
        if signature.fingerprint is None:
            return ordinal
        if signature.fingerprint in self._by_fingerprint:
            return ordinal  # an exact copy: its twin already stands for it in the LSH buckets
        self._by_fingerprint[signature.fingerprint] = ordinal
        if len(signature.shingles):
            for key in _band_keys(signature.minhash[None, :], self.options)[0].tolist():
                bucket = self._buckets.setdefault(key, [])
                if len(bucket) < self.options.max_bucket_size:
                    bucket.append(ordinal)
        return ordinal

    def _find_match(self, signature: DocumentSignature) -> tuple[int, float, DuplicateKind] | None:
        if signature.fingerprint is None:
            return None
        twin = self._by_fingerprint.get(signature.fingerprint)
        if twin is not None:
            return twin, 1.0, "exact"
        if not len(signature.shingles):
            return None
        hits: Counter[int] = Counter()
        for key in _band_keys(signature.minhash[None, :], self.options)[0].tolist():
            bucket = self._buckets.get(key)
            if bucket:
                hits.update(bucket)
        best: tuple[int, float, DuplicateKind] | None = None
        for candidate, _ in hits.most_common(self.options.max_candidates):
            contained, jaccard = containment(signature.shingles, self._signatures[candidate].shingles)
            if contained >= self.options.threshold and jaccard >= self.options.min_jaccard:
                if best is None or contained > best[1]:
                    best = (candidate, contained, "near")
        return best

    def _sort_key(self, ordinal: int) -> tuple[int, datetime, int]:
        published = self._published[ordinal]
        if published is None:
            return (1, datetime.min.replace(tzinfo=timezone.utc), ordinal)
        return (0, published, ordinal)

    def _join(self, ordinal: int, matched: int, similarity: float, kind: DuplicateKind) -> DuplicateMatch:
        group = self._group_of[matched]
        if group is None:
            group = _Group(matched)
            self._group_of[matched] = group
        group.members.append(ordinal)
        self._group_of[ordinal] = group
        doc_id = self._ids[ordinal]
        if self._sort_key(ordinal) < self._sort_key(group.canonical):
            group.canonical = ordinal
            repointed = {self._ids[m]: doc_id for m in group.members if m != ordinal}
            return DuplicateMatch(doc_id, None, self._ids[matched], similarity, kind, repointed)
        return DuplicateMatch(doc_id, self._ids[group.canonical], self._ids[matched], similarity, kind)

    def _status(self, ordinal: int) -> DuplicateMatch | None:
        group = self._group_of[ordinal]
        if group is None or group.canonical == ordinal or ordinal not in self._matches:
            return None
        matched, similarity, kind = self._matches[ordinal]
        return DuplicateMatch(self._ids[ordinal], self._ids[group.canonical], self._ids[matched], similarity, kind)

    # ------------------------------------------------------------------------------------------- loading

    @classmethod
    def load(
        cls, rows: Iterable[IndexRow | tuple], options: DedupOptions | None = None, *, rematch: bool = False
    ) -> DuplicateIndex:
        """Rebuild an index from stored rows (doc_id, signature bytes, published_at[, duplicate_of]).

        By default the stored groups are restored as they were: ``duplicate_of`` None means canonical or unique.
        With ``rematch=True`` the stored ``duplicate_of`` is ignored and the rows are matched like new
        documents, in the order given (for rows written before dedup ran, or after a change of options).
        """
        index = cls(options)
        links: list[tuple[int, str]] = []
        for row in rows:
            doc_id, signature, published_at, duplicate_of = (tuple(row) + (None, None))[:4]
            if rematch:
                index.add_signature(doc_id, signature, published_at)
                continue
            if not isinstance(doc_id, str) or not doc_id:
                raise InputError("a stored row needs a non-empty string id")
            if doc_id in index._ordinal_of:
                continue
            parsed = signature if isinstance(signature, DocumentSignature) else DocumentSignature.from_bytes(signature)
            parsed.check_compatible(index.options)
            ordinal = index._append(doc_id, parsed, _utc(published_at))
            if duplicate_of is not None:
                links.append((ordinal, duplicate_of))
        for ordinal, duplicate_of in links:
            canonical = index._ordinal_of.get(duplicate_of)
            if canonical is None or canonical == ordinal:
                raise InputError(f"stored row {index._ids[ordinal]!r} points at unknown canonical {duplicate_of!r}")
            group = index._group_of[canonical]
            if group is None:
                group = _Group(canonical)
                index._group_of[canonical] = group
            group.members.append(ordinal)
            index._group_of[ordinal] = group
            index._matches[ordinal] = index._recorded_match(ordinal, canonical)
        return index

    def _recorded_match(self, ordinal: int, canonical: int) -> tuple[int, float, DuplicateKind]:
        """How a stored duplicate relates to its canonical, recomputed from the two signatures."""
        mine, theirs = self._signatures[ordinal], self._signatures[canonical]
        if mine.fingerprint is not None and mine.fingerprint == theirs.fingerprint:
            return canonical, 1.0, "exact"
        return canonical, containment(mine.shingles, theirs.shingles)[0], "near"


def _batched(items: Iterable, size: int) -> Iterator[list]:
    batch: list = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


# ---------------------------------------------------------------------------------------------------- batch API


def _dedup_text(title: str | None, text: str) -> str:
    """The text compared for duplicates: headline and body (a headline is part of what a copy shares)."""
    return f"{title}\n\n{text}" if title else text


def _item_parts(item: Article | tuple) -> tuple[str, str, datetime | None]:
    if isinstance(item, Article):
        return item.id, _dedup_text(item.title, item.text), item.published_at
    try:
        doc_id, text, *rest = item
    except (TypeError, ValueError):
        raise InputError("find_duplicates needs Articles or (id, text[, published_at]) tuples") from None
    return doc_id, text, (rest[0] if rest else None)


def find_duplicates(
    items: Iterable[Article | tuple], options: DedupOptions | None = None
) -> dict[str, str | None]:
    """Map every id to the canonical article of its group of copies (None for canonical and unique articles).

    Documents are matched in publication order (undated last, ties in input order), so each group's canonical
    is its earliest published member.
    """
    parts = [_item_parts(item) for item in items]
    order = sorted(range(len(parts)), key=lambda i: _date_key(parts[i][2], i))
    index = DuplicateIndex(options)
    index.add_many(parts[i] for i in order)
    return {doc_id: index.duplicate_of(doc_id) for doc_id, _, _ in parts}


def _date_key(published_at: datetime | None, position: int) -> tuple[int, datetime, int]:
    aware = _utc(published_at)
    if aware is None:
        return (1, datetime.min.replace(tzinfo=timezone.utc), position)
    return (0, aware, position)


# ---------------------------------------------------------------------------------------------------- JSONL contract


@dataclass(frozen=True, slots=True)
class DedupSummary:
    """What ``dedup_jsonl`` did: lines written, and how many of them are duplicates."""

    articles: int
    duplicates: int


def _parse_date(value: object, line_number: int) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InputError(f"line {line_number}: published_at must be an ISO 8601 string or null")
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        raise InputError(f"line {line_number}: published_at {value[:40]!r} is not an ISO 8601 date") from None


def _parse_line(raw: bytes, line_number: int) -> tuple[str, str, datetime | None] | None:
    """(id, text to compare, published_at), or None for a blank line."""
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(f"line {line_number}: not UTF-8 ({error.reason} at byte {error.start})") from None
    if not line.strip():
        return None
    try:
        record = json.loads(line)
    except (json.JSONDecodeError, RecursionError) as error:
        raise InputError(f"line {line_number}: not JSON ({getattr(error, 'msg', 'nested too deeply')})") from None
    if not isinstance(record, dict):
        raise InputError(f"line {line_number}: expected a JSON object")
    doc_id = record.get("id")
    if isinstance(doc_id, int) and not isinstance(doc_id, bool):
        doc_id = str(doc_id)
    if not isinstance(doc_id, str) or not doc_id:
        raise InputError(f"line {line_number}: 'id' must be a non-empty string")
    text, title = record.get("text"), record.get("title")
    if not isinstance(text, str):
        raise InputError(f"line {line_number}: 'text' must be a string")
    if title is not None and not isinstance(title, str):
        raise InputError(f"line {line_number}: 'title' must be a string or null")
    return doc_id, _dedup_text(title, text), _parse_date(record.get("published_at"), line_number)


def _open_binary(path: str | Path, mode: str) -> IO[bytes]:
    if str(path) == "-":
        return sys.stdin.buffer if "r" in mode else sys.stdout.buffer
    try:
        return open(path, mode + "b")
    except OSError as error:
        raise InputError(f"cannot open {path}: {error.strerror}") from None


def dedup_jsonl(in_path: str | Path, out_path: str | Path, options: DedupOptions | None = None) -> DedupSummary:
    """The ``newsloom dedup`` command: read {id, url?, title?, text, published_at?} lines, write {id, duplicate_of}.

    One output line per input article, in input order (blank lines are skipped); ``duplicate_of`` is null for
    canonical articles. The input is validated in full before anything is written: a bad line raises
    ``InputError`` naming its line number. ``"-"`` means stdin / stdout.
    """
    options = options or DedupOptions()
    ids: list[str] = []
    published: list[datetime | None] = []
    signatures: list[DocumentSignature] = []
    source = _open_binary(in_path, "r")
    try:
        for batch in _batched(enumerate(source, start=1), 512):
            parsed = []
            for line_number, raw in batch:
                item = _parse_line(raw, line_number)
                if item is None:
                    continue
                try:
                    _normalized(item[1], options)  # size check with the line number attached
                except InputError as error:
                    raise type(error)(f"line {line_number}: {error}") from None
                parsed.append(item)
            signatures.extend(signatures_of((text for _, text, _ in parsed), options))
            ids.extend(doc_id for doc_id, _, _ in parsed)
            published.extend(published_at for _, _, published_at in parsed)
    finally:
        if source is not sys.stdin.buffer:
            source.close()

    order = sorted(range(len(ids)), key=lambda i: _date_key(published[i], i))
    index = DuplicateIndex(options)
    for i in order:
        index.add_signature(ids[i], signatures[i], published[i])

    output = io.StringIO()
    duplicates = 0
    for doc_id in ids:
        canonical = index.duplicate_of(doc_id)
        duplicates += canonical is not None
        output.write(json.dumps({"id": doc_id, "duplicate_of": canonical}, ensure_ascii=False) + "\n")
    sink = _open_binary(out_path, "w")
    try:
        sink.write(output.getvalue().encode("utf-8"))
        sink.flush()
    finally:
        if sink is not sys.stdout.buffer:
            sink.close()
    return DedupSummary(articles=len(ids), duplicates=duplicates)
