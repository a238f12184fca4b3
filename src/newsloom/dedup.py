"""Exact and near-duplicate articles, and the earliest source of each group of copies.

    text ──normalise──► words ──k-word shingles──► 32-bit shingle hashes ──MinHash──► signature ──LSH bands──► candidates
                                       │                                                                        │
                                       └──────────── exact containment / Jaccard / figures check ◄──────────────┘

* Exact copies share a fingerprint of ``model.normalize_text_for_hash`` (quotes, dashes, case and line breaks
  do not matter).
* Near copies (syndicated with boilerplate added, paragraphs dropped or reordered, sentences edited, a new
  headline) are proposed by MinHash + LSH banding and confirmed on the exact shingle sets. The measure is the
  *containment* of the smaller text in the larger one, because a shortened copy is contained in its original
  even when their Jaccard similarity is low; a Jaccard floor keeps a short story from being swallowed by a
  long round-up that quotes it, and checks on shared figures, shared length and publication dates keep
  templated reports (dividend notices, daily market figures) apart. See :class:`DedupOptions`.
* Each group of copies has one canonical article: the earliest published (dated before undated; ties and
  missing dates: first seen). A new document joins a group only when it also passes the checks against the
  group's canonical. When a later-ingested copy turns out to be older, the group is re-pointed to it and the
  re-pointing is reported so the store can update its rows.

Everything here is a pure function or an in-memory index; persistence is the store's job. A text's
:class:`DocumentSignature` serialises to bytes (``to_bytes``/``from_bytes``) and :meth:`DuplicateIndex.load`
rebuilds an index from stored rows without the texts.

Speed comes from doing each step for a whole batch of documents in numpy: words are hashed with a polynomial
over their bytes from prefix sums, MinHash permutations ``(a*x + b) mod 2**32`` (a odd) run over all shingles
of a batch at once, and the LSH buckets are sorted numpy runs searched for all band keys of a batch together.
Hashing is deterministic across processes and machines (no salted ``hash()``, fixed constants and seed), so
stored signatures stay valid.
"""
from __future__ import annotations

import hashlib
import heapq
import io
import math
import re
import json
import struct
import sys
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Literal, NamedTuple

import numpy as np

from .errors import InputError, InputTooLargeError
from .model import Article

__all__ = [
    "DedupOptions",
    "DocumentSignature",
    "DuplicateMatch",
    "IndexRow",
    "DuplicateIndex",
    "DedupSummary",
    "signature_of",
    "dedup_text",
    "band_keys",
    "signatures_of",
    "exact_fingerprint",
    "normalized_words",
    "shingle_hashes",
    "containment",
    "find_duplicates",
    "dedup_jsonl",
    "RETIRED_PREFIX_SIZE",
]

DuplicateKind = Literal["exact", "near"]


@dataclass(frozen=True, slots=True)
class DedupOptions:
    """How texts are compared. The first four fields are baked into signatures (stored ones must match).

    Two texts are copies when the *containment* of the smaller shingle set in the larger is at least
    ``threshold`` and their Jaccard similarity at least ``min_jaccard`` (which keeps a story apart from a much
    longer text quoting it), and they share at least ``min_shared`` shingles, or, when the smaller text has
    too few for that, ``short_threshold`` of them (short templated notices differ only in a name or a figure).
    Figures must agree too: when both carry at least ``min_numbers`` numeric tokens and less than
    ``number_agreement`` of the smaller set appears in the other, they are two reports of a recurring kind
    (weekly money-market figures, dividend notices) rather than copies. For the same reason near copies must be
    published within ``max_days_apart`` days of each other when both dates are known (syndication takes hours
    or days; a look-alike months later is a recurring report). Exact copies are copies whatever the dates.

    ``retention_days`` and ``max_live_documents`` bound a long-running index's memory; they are not part of a
    signature and change no answer for a stream that arrives within ``retention_days - max_days_apart`` days of
    publication order.
    """

    shingle_size: int = 3
    num_perm: int = 128
    bands: int = 64
    seed: int = 1
    threshold: float = 0.5
    min_jaccard: float = 0.3
    number_agreement: float = 0.5
    min_numbers: int = 2
    min_shared: int = 20
    short_threshold: float = 0.8
    max_days_apart: float | None = 7.0
    min_words: int = 5
    max_words: int = 20_000  # shingles come from the first max_words words; the fingerprint covers all
    max_text_chars: int = 5_000_000
    max_candidates: int = 32  # candidates verified exactly per document, best MinHash estimate first
    max_bucket_size: int = 1_000  # an LSH bucket this full holds a template, not a story
    # Memory bound of a streaming index (see DuplicateIndex): near-copy data is kept for documents within
    # retention_days of the newest publication date seen, and for at most max_live_documents of them.
    retention_days: float | None = 30.0
    max_live_documents: int = 200_000

    def __post_init__(self) -> None:
        problems = []
        if not 1 <= self.shingle_size <= 16:
            problems.append("shingle_size must be between 1 and 16")
        if self.num_perm < 1 or self.bands < 1 or self.num_perm % self.bands or self.num_perm > 65_535:
            problems.append("num_perm must be a positive multiple of bands, at most 65535")
        if not 0 <= self.seed < 2**32:
            problems.append("seed must fit in 32 bits")
        if not 0.0 < self.threshold <= 1.0 or not 0.0 <= self.min_jaccard <= 1.0:
            problems.append("threshold must be in (0, 1] and min_jaccard in [0, 1]")
        if not 0.0 <= self.number_agreement <= 1.0 or self.min_numbers < 1:
            problems.append("number_agreement must be in [0, 1] and min_numbers positive")
        if self.min_shared < 1 or not 0.0 < self.short_threshold <= 1.0:
            problems.append("min_shared must be positive and short_threshold in (0, 1]")
        if self.max_days_apart is not None and not self.max_days_apart >= 0:
            problems.append("max_days_apart must be None or >= 0")
        if not self.shingle_size <= self.min_words <= self.max_words or self.max_text_chars < 1:
            problems.append("need shingle_size <= min_words <= max_words and max_text_chars >= 1")
        if self.max_candidates < 1 or self.max_bucket_size < 1:
            problems.append("max_candidates and max_bucket_size must be positive")
        if self.retention_days is not None and not self.retention_days > 0:
            problems.append("retention_days must be None or positive")
        if self.max_live_documents < 1:
            problems.append("max_live_documents must be positive")
        if problems:
            raise InputError("invalid dedup options: " + "; ".join(problems))

    @property
    def rows_per_band(self) -> int:
        return self.num_perm // self.bands


# ---------------------------------------------------------------------------------------------------- words

# model.normalize_text_for_hash keeps \w runs, case-folded. For ASCII (most wire text) one bytes.translate
# does the same job ~10x faster: word bytes are lower-cased, every other byte becomes a space.
_NON_WORD = re.compile(r"[^\w\s]")  # the model's definition of what is not part of a word
_ASCII_WORDS = bytes(
    (ord(chr(c).lower()) if chr(c).isalnum() or chr(c) == "_" else 32) if c < 128 else c for c in range(256)
)


def _words(text: str, options: DedupOptions) -> list[bytes]:
    """The words of ``normalize_text_for_hash(text)``, UTF-8 encoded (tested to agree with it exactly)."""
    if not isinstance(text, str):
        raise InputError(f"dedup needs text as str, got {type(text).__name__}")
    if len(text) > options.max_text_chars:
        raise InputTooLargeError(
            f"text of {len(text):,} characters is over the dedup limit of {options.max_text_chars:,}"
        )
    if text.isascii():
        return text.encode("ascii").translate(_ASCII_WORDS).split()
    # Same steps as the model's normaliser, with the regex run only on the few words that are not ASCII
    # (curly quotes, dashes, accented letters): most of a modern article is still ASCII.
    folded = unicodedata.normalize("NFKC", text).casefold().encode("utf-8", "surrogatepass")
    words: list[bytes] = []
    for word in folded.translate(_ASCII_WORDS).split():
        if word.isascii():
            words.append(word)
        else:
            cleaned = _NON_WORD.sub(" ", word.decode("utf-8", "surrogatepass"))
            words.extend(part.encode("utf-8", "surrogatepass") for part in cleaned.split())  # Unicode spaces too
    return words


def normalized_words(text: str, options: DedupOptions | None = None) -> list[bytes]:
    """The UTF-8 words dedup shingles: those of ``normalize_text_for_hash(text)``."""
    return _words(text, options or DedupOptions())


def exact_fingerprint(text: str, options: DedupOptions | None = None) -> bytes:
    """16-byte BLAKE2b of ``normalize_text_for_hash(text)``: equal for copies differing only in case, punctuation
    or spacing."""
    return _fingerprint(b" ".join(_words(text, options or DedupOptions())))


def _fingerprint(normalized: bytes) -> bytes:
    return hashlib.blake2b(normalized, digest_size=16).digest()


# ---------------------------------------------------------------------------------------------------- hashing

_MASK64 = (1 << 64) - 1
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)  # splitmix64 multipliers
_MIX_2 = np.uint64(0x94D049BB133111EB)
_POSITION_MULTIPLIERS = np.array(
    [(0x9E3779B97F4A7C15 * (2 * i + 1)) & _MASK64 for i in range(64)], dtype=np.uint64
)
_SHIFT_29, _SHIFT_30, _SHIFT_31, _SHIFT_32 = (np.uint64(s) for s in (29, 30, 31, 32))
_BYTE_BASE = 0x100000001B3  # FNV-1a's 64-bit prime: odd, so invertible modulo 2**64
_BYTE_BASE_INVERSE = pow(_BYTE_BASE, -1, 1 << 64)


def _finalize64(values: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, in place: every input bit reaches the high bits that are kept."""
    values ^= values >> _SHIFT_30
    values *= _MIX_1
    values ^= values >> _SHIFT_29
    values *= _MIX_2
    values ^= values >> _SHIFT_31
    return values


class _Powers:
    """BASE**i and BASE**-i modulo 2**64 for i < capacity, grown on demand (word hashing needs them)."""

    def __init__(self) -> None:
        self.forward = np.empty(0, dtype=np.uint64)
        self.inverse = np.empty(0, dtype=np.uint64)

    def ensure(self, size: int) -> None:
        if size <= len(self.forward):
            return
        capacity = max(size, 2 * len(self.forward), 1 << 16)
        self.forward = np.cumprod(np.full(capacity, _BYTE_BASE, dtype=np.uint64)) * np.uint64(_BYTE_BASE_INVERSE)
        self.inverse = np.cumprod(np.full(capacity, _BYTE_BASE_INVERSE, dtype=np.uint64)) * np.uint64(_BYTE_BASE)


_POWERS = _Powers()


def _word_hashes(buffer: bytes) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hashes of the single-space separated words in ``buffer``, and which words hold a digit.

    A word's hash is a polynomial over its bytes computed from prefix sums (so all words of a batch are
    hashed in a few numpy passes), made independent of the word's position by the inverse power, then mixed.
    """
    data = np.frombuffer(buffer, dtype=np.uint8)
    _POWERS.ensure(len(data) + 1)
    spaces = np.flatnonzero(data == 32)
    starts = np.concatenate(([0], spaces + 1))
    ends = np.concatenate((spaces, [len(data)]))
    prefix = np.empty(len(data) + 1, dtype=np.uint64)
    prefix[0] = 0
    np.cumsum(data * _POWERS.forward[: len(data)], out=prefix[1:])
    hashes = (prefix[ends] - prefix[starts]) * _POWERS.inverse[starts]
    hashes += (ends - starts).astype(np.uint64) * _MIX_2  # length, so no word is a prefix-collision of another
    digits = np.concatenate(([0], np.cumsum((data >= 48) & (data <= 57))))
    return _finalize64(hashes), digits[ends] > digits[starts]


def _per_document_sets(values: np.ndarray, documents: np.ndarray, count: int) -> list[np.ndarray]:
    """Split (document, value) pairs into one sorted unique uint32 array per document."""
    keys = np.sort((documents.astype(np.uint64) << _SHIFT_32) | values.astype(np.uint64))
    if len(keys) > 1:  # np.unique is several times slower than sort + mask here
        keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]
    sizes = np.bincount((keys >> _SHIFT_32).astype(np.int64), minlength=count)
    return np.split((keys & np.uint64(0xFFFFFFFF)).astype(np.uint32), np.cumsum(sizes)[:-1])


def _shingle_and_number_sets(
    documents: list[bytes], word_counts: list[int], shingle_size: int
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per document (its words joined by single spaces, and how many there are): sorted unique 32-bit hashes of
    its k-word shingles, and of its words holding a digit."""
    if not documents:
        return [], []
    word_counts = np.asarray(word_counts, dtype=np.int64)
    hashes, has_digit = _word_hashes(b" ".join(documents))
    word_document = np.repeat(np.arange(len(documents), dtype=np.int64), word_counts)
    position = np.arange(len(hashes), dtype=np.int64) - np.repeat(np.cumsum(word_counts) - word_counts, word_counts)

    # Shingle i covers words i..i+k-1 and is kept when they all belong to one document.
    last = len(hashes) - shingle_size + 1
    mixed = hashes[:last] * _POSITION_MULTIPLIERS[0]
    for offset in range(1, shingle_size):
        mixed += hashes[offset : offset + last] * _POSITION_MULTIPLIERS[offset]
    valid = position[:last] <= (word_counts - shingle_size)[word_document[:last]]
    shingles = (_finalize64(mixed[valid]) >> _SHIFT_32).astype(np.uint32)
    shingle_sets = _per_document_sets(shingles, word_document[:last][valid], len(documents))

    # Figures: runs of consecutive words holding a digit, so "5-1/2" or "36.25" (split by normalisation into
    # "5 1 2", "36 25") stay one figure instead of matching any other text's "1" or "25".
    digit_words = np.flatnonzero(has_digit)
    if not len(digit_words):
        return shingle_sets, [_EMPTY] * len(documents)
    previous_is_digit = np.concatenate(([False], has_digit[:-1]))[digit_words]
    run_starts = ~previous_is_digit | (position[digit_words] == 0)
    ranks = np.arange(len(digit_words)) - np.maximum.accumulate(np.where(run_starts, np.arange(len(digit_words)), 0))
    weighted = hashes[digit_words] * _POSITION_MULTIPLIERS[ranks % len(_POSITION_MULTIPLIERS)]
    figures = np.add.reduceat(weighted, np.flatnonzero(run_starts))
    numbers = (_finalize64(figures) >> _SHIFT_32).astype(np.uint32)
    number_sets = _per_document_sets(numbers, word_document[digit_words][run_starts], len(documents))
    return shingle_sets, number_sets


class _Permutations:
    """The num_perm hash functions h(x) = (a*x + b) mod 2**32, a odd (a bijection), drawn once per seed.

    Shingle hashes are already well mixed, so affine maps suffice (datasketch's default "affine32" scheme);
    in uint32 they run three times faster than 64-bit multiply-shift.
    """

    _cache: dict[tuple[int, int], _Permutations] = {}

    def __init__(self, num_perm: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.multipliers = (rng.integers(0, 2**32, size=num_perm, dtype=np.uint64) | np.uint64(1)).astype(np.uint32)
        self.increments = rng.integers(0, 2**32, size=num_perm, dtype=np.uint64).astype(np.uint32)

    @classmethod
    def get(cls, num_perm: int, seed: int) -> _Permutations:
        key = (num_perm, seed)
        if key not in cls._cache:
            cls._cache[key] = cls(num_perm, seed)
        return cls._cache[key]


_CHUNK_SHINGLES = 6_000  # shingles per numpy pass: the (num_perm, chunk) uint32 matrix stays in cache


def _minhash_many(shingle_sets: Sequence[np.ndarray], options: DedupOptions) -> np.ndarray:
    """MinHash signatures (len(shingle_sets), num_perm) uint32; an empty set gets all 0xFFFFFFFF."""
    perms = _Permutations.get(options.num_perm, options.seed)
    signatures = np.full((len(shingle_sets), options.num_perm), 0xFFFFFFFF, dtype=np.uint32)
    members = [i for i, shingles in enumerate(shingle_sets) if len(shingles)]
    start = 0
    while start < len(members):
        stop, total = start, 0
        while stop < len(members) and (stop == start or total + len(shingle_sets[members[stop]]) <= _CHUNK_SHINGLES):
            total += len(shingle_sets[members[stop]])
            stop += 1
        chunk = members[start:stop]
        values = np.concatenate([shingle_sets[i] for i in chunk])
        hashed = np.multiply(perms.multipliers[:, None], values[None, :])
        hashed += perms.increments[:, None]
        lengths = np.fromiter((len(shingle_sets[i]) for i in chunk), dtype=np.int64, count=len(chunk))
        offsets = np.cumsum(lengths) - lengths
        signatures[chunk] = np.minimum.reduceat(hashed, offsets, axis=1).T
        start = stop
    return signatures


def band_keys(signatures: np.ndarray, options: DedupOptions) -> np.ndarray:
    """One 64-bit key per (document, band): a hash of the band's rows salted with the band number."""
    rows = options.rows_per_band
    banded = signatures.reshape(len(signatures), options.bands, rows).astype(np.uint64)
    keys = banded[:, :, 0] * _POSITION_MULTIPLIERS[0]
    for row in range(1, rows):
        keys += banded[:, :, row] * _POSITION_MULTIPLIERS[row % 64] + np.uint64(row)
    keys += np.arange(options.bands, dtype=np.uint64) * _MIX_2
    return _finalize64(keys)


def _shared(small: np.ndarray, large: np.ndarray) -> int:
    """How many values of sorted unique ``small`` are in sorted unique ``large``."""
    if not len(small) or not len(large):
        return 0
    positions = np.searchsorted(large, small)
    positions[positions == len(large)] = 0
    return int(np.count_nonzero(large[positions] == small))


def containment(shingles_a: np.ndarray, shingles_b: np.ndarray) -> tuple[float, float]:
    """(containment of the smaller set in the larger, Jaccard) of two sorted unique uint32 arrays."""
    if len(shingles_a) > len(shingles_b):
        shingles_a, shingles_b = shingles_b, shingles_a
    if len(shingles_a) == 0:
        return 0.0, 0.0
    shared = _shared(shingles_a, shingles_b)
    return shared / len(shingles_a), shared / (len(shingles_a) + len(shingles_b) - shared)


# ---------------------------------------------------------------------------------------------------- signatures

_MAGIC = b"NLD1"
# magic, version, shingle_size, num_perm, seed, shingle count, number count, has fingerprint
_HEADER = struct.Struct("<4sBBHIII?")
_VERSION = 1
_EMPTY = np.empty(0, dtype=np.uint32)
# What a store needs to return of a signature past the retention window: header and exact fingerprint.
RETIRED_PREFIX_SIZE = _HEADER.size + 16


@dataclass(frozen=True, slots=True, eq=False)
class DocumentSignature:
    """What dedup keeps of a text: exact fingerprint, MinHash signature, and the shingle and number sets used to
    verify candidates. ``fingerprint`` is None when the text is too short to be called a copy (``min_words``)."""

    fingerprint: bytes | None
    minhash: np.ndarray  # (num_perm,) uint32
    shingles: np.ndarray  # sorted unique uint32
    numbers: np.ndarray  # sorted unique uint32 hashes of the figures (runs of words holding a digit)
    shingle_size: int
    seed: int

    def to_bytes(self) -> bytes:
        """Little-endian and self-describing: header, fingerprint (16 bytes when present), minhash, shingles,
        numbers."""
        header = _HEADER.pack(
            _MAGIC, _VERSION, self.shingle_size, len(self.minhash), self.seed, len(self.shingles),
            len(self.numbers), self.fingerprint is not None,
        )
        arrays = (self.minhash, self.shingles, self.numbers)
        return b"".join((header, self.fingerprint or b"", *(a.astype("<u4").tobytes() for a in arrays)))

    @classmethod
    def from_bytes(cls, data: bytes) -> DocumentSignature:
        """Parse ``to_bytes`` output; raises InputError on anything truncated or foreign."""
        if not isinstance(data, (bytes, bytearray, memoryview)) or len(data) < _HEADER.size:
            raise InputError("not a newsloom dedup signature (too short)")
        magic, version, shingle_size, num_perm, seed, shingle_count, number_count, has_fingerprint = (
            _HEADER.unpack_from(data)
        )
        if magic != _MAGIC or version != _VERSION:
            raise InputError("not a newsloom dedup signature (bad magic or version)")
        fingerprint_size = 16 if has_fingerprint else 0
        expected = _HEADER.size + fingerprint_size + 4 * (num_perm + shingle_count + number_count)
        if len(data) != expected:
            raise InputError(f"corrupt dedup signature: {len(data)} bytes, expected {expected}")
        offset = _HEADER.size + fingerprint_size
        fingerprint = bytes(data[_HEADER.size : offset]) if has_fingerprint else None
        arrays = []
        for count in (num_perm, shingle_count, number_count):
            arrays.append(np.frombuffer(data, dtype="<u4", count=count, offset=offset).astype(np.uint32))
            offset += 4 * count
        minhash, shingles, numbers = arrays
        for values in (shingles, numbers):
            if len(values) > 1 and not bool(np.all(values[1:] > values[:-1])):
                raise InputError("corrupt dedup signature: sets not sorted")
        return cls(fingerprint, minhash, shingles, numbers, shingle_size, seed)

    @staticmethod
    def retired_fingerprint(data: bytes) -> bytes | None | bool:
        """For the stored prefix of a signature (header and fingerprint only, ``RETIRED_PREFIX_SIZE`` bytes: what
        a store returns for a document past the retention window) its fingerprint or None; False when ``data``
        is a whole signature instead."""
        if len(data) < _HEADER.size:
            raise InputError("not a newsloom dedup signature (too short)")
        magic, version, _, num_perm, _, shingle_count, number_count, has_fingerprint = _HEADER.unpack_from(data)
        if magic != _MAGIC or version != _VERSION:
            raise InputError("not a newsloom dedup signature (bad magic or version)")
        fingerprint_size = 16 if has_fingerprint else 0
        if len(data) == _HEADER.size + fingerprint_size + 4 * (num_perm + shingle_count + number_count):
            return False
        if len(data) not in (_HEADER.size + fingerprint_size, RETIRED_PREFIX_SIZE):
            raise InputError(f"corrupt dedup signature: {len(data)} bytes")
        return bytes(data[_HEADER.size : _HEADER.size + 16]) if has_fingerprint else None

    def check_compatible(self, options: DedupOptions) -> None:
        if (self.shingle_size, len(self.minhash), self.seed) != (options.shingle_size, options.num_perm, options.seed):
            raise InputError(
                f"dedup signature made with shingle_size={self.shingle_size}, num_perm={len(self.minhash)}, "
                f"seed={self.seed}; this index uses {options.shingle_size}, {options.num_perm}, {options.seed}"
            )


def _signature_batch(texts: Iterable[str], options: DedupOptions) -> tuple[list[DocumentSignature], np.ndarray]:
    """Signatures of a batch, and their MinHash matrix (len, num_perm)."""
    fingerprints: list[bytes | None] = []
    long_enough: list[int] = []
    joined: list[bytes] = []  # the words shingled, single-space separated
    word_counts: list[int] = []
    for i, text in enumerate(texts):
        words = _words(text, options)
        if len(words) < options.min_words:
            fingerprints.append(None)
            continue
        normalized = b" ".join(words)
        fingerprints.append(_fingerprint(normalized))
        long_enough.append(i)
        if len(words) > options.max_words:
            words = words[: options.max_words]
            normalized = b" ".join(words)
        joined.append(normalized)
        word_counts.append(len(words))
    shingle_sets: list[np.ndarray] = []
    number_sets: list[np.ndarray] = []
    start = 0
    while start < len(joined):  # bounded buffers: the word hashing needs 16 bytes per byte of text
        stop, size = start + 1, len(joined[start])
        while stop < len(joined) and size + len(joined[stop]) <= _CHUNK_BYTES:
            size += len(joined[stop]) + 1
            stop += 1
        shingles, numbers = _shingle_and_number_sets(joined[start:stop], word_counts[start:stop], options.shingle_size)
        shingle_sets.extend(shingles)
        number_sets.extend(numbers)
        start = stop
    all_shingles = [_EMPTY] * len(fingerprints)
    all_numbers = [_EMPTY] * len(fingerprints)
    for position, i in enumerate(long_enough):
        all_shingles[i], all_numbers[i] = shingle_sets[position], number_sets[position]
    minhashes = _minhash_many(all_shingles, options)
    signatures = [
        DocumentSignature(fingerprint, minhashes[i], all_shingles[i], all_numbers[i], options.shingle_size, options.seed)
        for i, fingerprint in enumerate(fingerprints)
    ]
    return signatures, minhashes


def signatures_of(texts: Iterable[str], options: DedupOptions | None = None) -> list[DocumentSignature]:
    """Signatures of many texts, hashed in vectorised batches (much faster than one by one)."""
    options = options or DedupOptions()
    signatures: list[DocumentSignature] = []
    for batch in _batched(texts, _BATCH):
        signatures.extend(_signature_batch(batch, options)[0])
    return signatures


def signature_of(text: str, options: DedupOptions | None = None) -> DocumentSignature:
    """The signature of one text (``.to_bytes()`` for storage)."""
    return _signature_batch([text], options or DedupOptions())[0][0]


def shingle_hashes(text: str, options: DedupOptions | None = None) -> np.ndarray:
    """The text's set of word shingles as sorted unique uint32 hashes (empty under ``min_words`` words)."""
    return signature_of(text, options).shingles


_BATCH = 1024
_DAY = 86_400.0
_CHUNK_BYTES = 4 << 20


def _batched(items: Iterable, size: int) -> Iterator[list]:
    batch: list = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


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


def _expand(starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For ranges [starts[i], starts[i] + counts[i]): (i per element, position per element), vectorised."""
    total = int(counts.sum())
    owners = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    offsets = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    return owners, np.repeat(starts, counts) + offsets


class _BandIndex:
    """The LSH buckets: sorted runs of (band key, ordinal), merged like an LSM tree.

    A dict of lists costs one Python operation per band and document; sorted numpy runs answer a whole batch
    of documents with a few searchsorted calls. Within equal keys, older documents come first, and at most
    ``cap`` of them are used (a bucket that full holds a template, not a story).
    """

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.runs: list[tuple[np.ndarray, np.ndarray]] = []  # oldest (largest) first

    def __len__(self) -> int:
        return sum(len(keys) for keys, _ in self.runs)

    def query(self, sorted_keys: np.ndarray, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(index into the unsorted keys, ordinal) for every stored entry sharing a key. Sorted needles let
        searchsorted walk each run in order (cache-friendly); ``order`` maps them back."""
        found_at, found = [], []
        for run_keys, run_ordinals in self.runs:
            low = np.searchsorted(run_keys, sorted_keys, side="left")
            hits = np.flatnonzero(run_keys[np.minimum(low, len(run_keys) - 1)] == sorted_keys)
            if not len(hits):
                continue
            low = low[hits]
            counts = np.minimum(np.searchsorted(run_keys, sorted_keys[hits], side="right") - low, self.cap)
            owners, positions = _expand(low, counts)
            found_at.append(order[hits[owners]])
            found.append(run_ordinals[positions])
        if not found:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        return np.concatenate(found_at), np.concatenate(found).astype(np.int64)

    def insert(self, sorted_keys: np.ndarray, ordinals: np.ndarray) -> None:
        """Add a run: keys sorted, their ordinals in the same order (ascending within equal keys)."""
        self.runs.append((sorted_keys, ordinals.astype(np.uint32)))
        # Merge while the newest run is at least half the size of the one before: O(log n) runs in all.
        while len(self.runs) > 1 and 2 * len(self.runs[-1][0]) >= len(self.runs[-2][0]):
            (older_keys, older_ordinals), (newer_keys, newer_ordinals) = self.runs[-2], self.runs[-1]
            # A linear merge: each newer entry goes after the older ones with the same key.
            positions = np.searchsorted(older_keys, newer_keys, side="right")
            self.runs[-2:] = [
                (np.insert(older_keys, positions, newer_keys), np.insert(older_ordinals, positions, newer_ordinals))
            ]


def _pairs_within(sorted_keys: np.ndarray, sorted_documents: np.ndarray, cap: int) -> tuple[np.ndarray, np.ndarray]:
    """(later document, earlier document) for every two documents of one batch that share a band key
    (keys sorted, documents ascending within equal keys)."""
    positions = np.arange(len(sorted_keys), dtype=np.int64)
    is_first = np.concatenate(([True], sorted_keys[1:] != sorted_keys[:-1]))
    first_of_key = np.maximum.accumulate(np.where(is_first, positions, 0))
    earlier = np.minimum(positions - first_of_key, cap)
    later, earlier_positions = _expand(first_of_key, earlier)
    return sorted_documents[later], sorted_documents[earlier_positions]


class DuplicateIndex:
    """A streaming duplicate index: add documents one at a time (or in batches), learn which earlier one each copies.

    Groups never merge: a new document joins the group of its best match. A repeated ``doc_id`` is not added
    again; ``add`` then reports its current status. Adding in batches (``add_many``) gives the same answers
    as adding one by one, only faster.

    Memory stays flat in a long stream: near copies are published within days of each other
    (``max_days_apart``), so a group whose newest member is more than ``retention_days`` older than the newest
    publication date seen is *retired*: its MinHash rows, LSH entries and shingle sets are dropped, and only its
    ids, dates and exact fingerprints stay (a few hundred bytes per document), so an exact copy still joins it
    however late it comes. ``max_live_documents`` caps the documents kept in full (oldest retired first), which
    also bounds undated streams. Retiring happens at the start of each ``add*`` call, never to documents of the
    call itself.
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
        self._bands = _BandIndex(self.options.max_bucket_size)
        # MinHash rows of the live documents (by slot), for a vectorised similarity estimate of LSH candidates.
        self._minhashes = np.empty((0, self.options.num_perm), dtype=np.uint32)
        self._slot_of: dict[int, int] = {}
        self._free_slots: list[int] = []
        # Retiring: (time key, ordinal) of every live document; the time key is the publication date, or for
        # an undated document the stream's clock (newest date seen) when it arrived, +inf before any date.
        self._clock = -math.inf
        self._retire_heap: list[tuple[float, int]] = []
        self._time_of: dict[int, float] = {}
        self._retired_since_purge = 0
        self.retired = 0  # documents retired so far

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
        """The stored form of ``doc_id``'s signature (documents of the latest ``add*`` call are never retired)."""
        signature = self._signatures[self._require(doc_id)]
        if signature is None:
            raise KeyError(f"document {doc_id!r} was retired from the index; its signature is in the store")
        return signature.to_bytes()

    @property
    def live(self) -> int:
        """Documents held in full (not retired)."""
        return len(self._time_of)

    def rows(self) -> Iterator[IndexRow]:
        """Everything needed to rebuild this index with :meth:`load`, in insertion order (live documents)."""
        for ordinal, doc_id in enumerate(self._ids):
            signature = self._signatures[ordinal]
            if signature is not None:
                yield IndexRow(doc_id, signature.to_bytes(), self._published[ordinal], self.duplicate_of(doc_id))

    def _require(self, doc_id: str) -> int:
        try:
            return self._ordinal_of[doc_id]
        except KeyError:
            raise KeyError(f"unknown document id {doc_id!r}") from None

    # ------------------------------------------------------------------------------------------- adding

    def add(self, doc_id: str, text: str, published_at: datetime | None = None) -> DuplicateMatch | None:
        """Index one document; return what it duplicates (None when it copies nothing indexed)."""
        _check_id(doc_id)
        if doc_id in self._ordinal_of:
            return self._status(self._ordinal_of[doc_id])
        self.retire()
        signatures, minhashes = _signature_batch([text], self.options)
        return self._add_batch([doc_id], signatures, [published_at], minhashes)[0]

    def add_article(self, article: Article) -> DuplicateMatch | None:
        """``add`` for an Article: its headline and body are compared, its publication date decides canonicals."""
        return self.add(*_item_parts(article))

    def add_many(self, items: Iterable[tuple[str, str, datetime | None]]) -> list[DuplicateMatch | None]:
        """``add`` over (doc_id, text, published_at) items in order, hashed and matched in vectorised batches."""
        results: list[DuplicateMatch | None] = []
        self.retire()
        for batch in _batched(items, _BATCH):
            signatures, minhashes = _signature_batch([text for _, text, _ in batch], self.options)
            ids = [doc_id for doc_id, _, _ in batch]
            results.extend(self._add_batch(ids, signatures, [published for _, _, published in batch], minhashes))
        return results

    def add_signature(
        self, doc_id: str, signature: DocumentSignature | bytes, published_at: datetime | None = None
    ) -> DuplicateMatch | None:
        """``add`` for a precomputed (or stored) signature."""
        return self.add_signatures([(doc_id, signature, published_at)])[0]

    def add_signatures(
        self, items: Iterable[tuple[str, DocumentSignature | bytes, datetime | None]]
    ) -> list[DuplicateMatch | None]:
        """``add_signature`` over many items, matched in vectorised batches."""
        results: list[DuplicateMatch | None] = []
        self.retire()
        for batch in _batched(items, _BATCH):
            signatures = [self._parsed(signature) for _, signature, _ in batch]
            minhashes = np.stack([s.minhash for s in signatures])
            ids = [doc_id for doc_id, _, _ in batch]
            results.extend(self._add_batch(ids, signatures, [published for _, _, published in batch], minhashes))
        return results

    def _parsed(self, signature: DocumentSignature | bytes) -> DocumentSignature:
        if not isinstance(signature, DocumentSignature):
            signature = DocumentSignature.from_bytes(signature)
        signature.check_compatible(self.options)
        return signature

    def _add_batch(
        self,
        doc_ids: list[str],
        signatures: list[DocumentSignature],
        published: list[datetime | None],
        minhashes: np.ndarray,
    ) -> list[DuplicateMatch | None]:
        """Match and record a batch, in order. Candidate search is vectorised over the batch; joining groups
        runs in order, so the answers are those of adding the documents one at a time."""
        for doc_id in doc_ids:
            _check_id(doc_id)
        published = [_utc(value) for value in published]
        # 1. Which documents are new, exact copies, or to be matched by LSH (in batch order).
        base = len(self._ids)
        new_positions: list[int] = []
        seen_in_batch: set[str] = set()
        twins: dict[int, int] = {}
        lsh_positions: list[int] = []
        for position, (doc_id, signature) in enumerate(zip(doc_ids, signatures)):
            if doc_id in self._ordinal_of or doc_id in seen_in_batch:
                continue
            seen_in_batch.add(doc_id)
            ordinal = base + len(new_positions)
            new_positions.append(position)
            if signature.fingerprint is None:
                continue
            twin = self._by_fingerprint.get(signature.fingerprint)
            if twin is not None:
                twins[ordinal] = twin  # its twin already stands for it in the fingerprint map and the buckets
                continue
            self._by_fingerprint[signature.fingerprint] = ordinal
            if len(signature.shingles):
                lsh_positions.append(position)
        ordinal_of_position = {position: base + i for i, position in enumerate(new_positions)}
        for position in new_positions:
            self._append(doc_ids[position], signatures[position], published[position])

        # 2. LSH candidates for the whole batch, then the MinHash estimate, all in numpy.
        candidates = self._candidates([ordinal_of_position[p] for p in lsh_positions], minhashes[lsh_positions])

        # 3. In order: verify the best candidates, join groups.
        results: list[DuplicateMatch | None] = []
        for position, doc_id in enumerate(doc_ids):
            ordinal = ordinal_of_position.get(position)
            if ordinal is None:  # a repeated id: report its current status
                results.append(self._status(self._ordinal_of[doc_id]))
                continue
            match: tuple[int, float, DuplicateKind] | None = None
            if ordinal in twins:
                match = (twins[ordinal], 1.0, "exact")
            elif ordinal in candidates:
                match = self._best_verified(ordinal, candidates[ordinal])
            if match is None:
                results.append(None)
                continue
            self._matches[ordinal] = match
            results.append(self._join(ordinal, *match))
        return results

    def _append(self, doc_id: str, signature: DocumentSignature, published_at: datetime | None) -> int:
        """Record a live document: what every document keeps, plus its MinHash row and its place in the
        retiring order."""
        ordinal = self._append_record(doc_id, published_at)
        self._signatures[ordinal] = signature
        if self._free_slots:
            slot = self._free_slots.pop()
        else:
            slot = len(self._slot_of)
            if slot == len(self._minhashes):  # grow by doubling
                grown = np.empty((max(1024, 2 * len(self._minhashes)), self.options.num_perm), dtype=np.uint32)
                grown[:slot] = self._minhashes[:slot]
                self._minhashes = grown
        self._slot_of[ordinal] = slot
        self._minhashes[slot] = signature.minhash
        if published_at is not None:
            time_key = published_at.timestamp()
        else:
            time_key = self._clock if self._clock > -math.inf else math.inf
        self._time_of[ordinal] = time_key
        heapq.heappush(self._retire_heap, (time_key, ordinal))
        return ordinal

    def _slots(self, ordinals: np.ndarray) -> np.ndarray:
        """The MinHash rows of ``ordinals`` (-1 for a retired document)."""
        get = self._slot_of.get
        return np.fromiter((get(o, -1) for o in ordinals.tolist()), dtype=np.int64, count=len(ordinals))

    # ------------------------------------------------------------------------------------------- retiring

    def retire(self) -> int:
        """Retire groups past ``retention_days`` (and the oldest beyond ``max_live_documents``); returns how
        many documents were retired. Called by every ``add*``; call it after :meth:`load` to apply the bound."""
        options = self.options
        cutoff = self._clock - options.retention_days * _DAY if options.retention_days is not None else -math.inf
        heap, time_of = self._retire_heap, self._time_of
        retired = 0
        while heap and (heap[0][0] < cutoff or len(time_of) > options.max_live_documents):
            time_key, ordinal = heapq.heappop(heap)
            if time_of.get(ordinal) != time_key:
                continue  # retired with its group already
            group = self._group_of[ordinal]
            members = [ordinal] if group is None else [m for m in group.members if m in time_of]
            newest = max(time_of[m] for m in members)
            if newest > time_key and len(time_of) <= options.max_live_documents:
                continue  # a newer member keeps the group: its own heap entry retires it later
            for member in members:
                self._retire_one(member)
            retired += len(members)
        self.retired += retired
        self._retired_since_purge += retired
        if self._retired_since_purge > max(4_096, len(time_of)):
            self._purge_bands()
        return retired

    def _retire_one(self, ordinal: int) -> None:
        del self._time_of[ordinal]
        self._free_slots.append(self._slot_of.pop(ordinal))
        self._signatures[ordinal] = None  # the fingerprint map keeps what exact matching needs

    def _purge_bands(self) -> None:
        """Drop the LSH entries of retired documents (queries already skip them; this frees their memory)."""
        alive = np.zeros(len(self._ids), dtype=bool)
        alive[np.fromiter(self._slot_of, dtype=np.int64, count=len(self._slot_of))] = True
        self._bands.runs = [(keys[alive[ordinals]], ordinals[alive[ordinals]]) for keys, ordinals in self._bands.runs]
        self._bands.runs = [run for run in self._bands.runs if len(run[0])]
        self._retired_since_purge = 0

    def _candidates(self, ordinals: list[int], minhashes: np.ndarray) -> dict[int, list[int]]:
        """For each new ordinal, the earlier documents worth verifying, best MinHash estimate first; files the
        new documents in the LSH buckets."""
        if not ordinals:
            return {}
        bands = self.options.bands
        keys = band_keys(minhashes, self.options).ravel()
        new = np.asarray(ordinals, dtype=np.int64)
        key_owner = np.repeat(np.arange(len(ordinals), dtype=np.int64), bands)
        order = np.argsort(keys, kind="stable")  # stable: documents stay in batch order within a key
        sorted_keys = keys[order]
        found_at, earlier = self._bands.query(sorted_keys, order)
        later_in_batch, earlier_in_batch = _pairs_within(sorted_keys, key_owner[order], self._bands.cap)
        self._bands.insert(sorted_keys, new[key_owner[order]])
        documents = np.concatenate((new[key_owner[found_at]], new[later_in_batch]))
        earlier = np.concatenate((earlier, new[earlier_in_batch]))
        if not len(documents):
            return {}
        pairs = np.sort((documents << 32) | earlier)  # ordinals stay far below 2**32
        pairs = pairs[np.concatenate(([True], pairs[1:] != pairs[:-1]))]
        documents, earlier = pairs >> 32, pairs & 0xFFFFFFFF
        earlier_slots = self._slots(earlier)
        live = earlier_slots >= 0  # retired documents' LSH entries linger until the next purge
        documents, earlier, earlier_slots = documents[live], earlier[live], earlier_slots[live]
        # Estimated Jaccard (share of equal MinHash rows) ranks the candidates; about three standard
        # deviations of slack below min_jaccard keeps true copies while chance collisions go unverified.
        equal_rows = np.count_nonzero(self._minhashes[self._slots(documents)] == self._minhashes[earlier_slots], axis=1)
        estimates = equal_rows / self.options.num_perm
        keep = estimates >= self.options.min_jaccard - 0.1
        documents, earlier, estimates = documents[keep], earlier[keep], estimates[keep]
        order = np.lexsort((-estimates, documents))
        candidates: dict[int, list[int]] = {}
        for document, candidate in zip(documents[order].tolist(), earlier[order].tolist()):
            found = candidates.setdefault(document, [])
            if len(found) < self.options.max_candidates:
                found.append(candidate)
        return candidates

    def _best_verified(self, ordinal: int, candidates: list[int]) -> tuple[int, float, DuplicateKind] | None:
        """The most similar candidate that passes verification, against it and against its group's canonical:
        copies of one story all resemble its original, while a chain of look-alikes (templated notices,
        each a little different from the last) would drift from it."""
        best: tuple[int, float, DuplicateKind] | None = None
        for candidate in candidates:
            contained = self._verified_similarity(ordinal, candidate)
            if contained is None or (best is not None and contained <= best[1]):
                continue
            group = self._group_of[candidate]
            # A retired canonical (an old group an exact copy revived) is no longer checked against.
            if group is not None and group.canonical != candidate and self._signatures[group.canonical] is not None:
                if self._verified_similarity(ordinal, group.canonical, against_canonical=True) is None:
                    continue
            best = (candidate, contained, "near")
        return best

    def _verified_similarity(self, ordinal: int, other: int, against_canonical: bool = False) -> float | None:
        """The containment of two documents' texts when they pass every test for copies (see DedupOptions).

        Against a group's canonical only the drift tests apply (containment, shared length, figures): the
        Jaccard floor and the date window concern the document matched, and a group may span more than either.
        """
        options = self.options
        if not against_canonical and options.max_days_apart is not None:
            mine_at, theirs_at = self._published[ordinal], self._published[other]
            if mine_at is not None and theirs_at is not None:
                if abs((mine_at - theirs_at).total_seconds()) > options.max_days_apart * 86_400:
                    return None
        mine, theirs = self._signatures[ordinal], self._signatures[other]
        small, large = sorted((mine.shingles, theirs.shingles), key=len)
        if not len(small):
            return None
        shared = _shared(small, large)
        contained, jaccard = shared / len(small), shared / (len(small) + len(large) - shared)
        if contained < options.threshold or (jaccard < options.min_jaccard and not against_canonical):
            return None
        if shared < options.min_shared and contained < options.short_threshold:
            return None
        if min(len(mine.numbers), len(theirs.numbers)) >= options.min_numbers:
            agreement, _ = containment(mine.numbers, theirs.numbers)
            if agreement < options.number_agreement:
                return None  # same wording, different figures: another report of a recurring kind
        return contained

    def _sort_key(self, ordinal: int) -> tuple[int, datetime, int]:
        published = self._published[ordinal]
        if published is None:
            return (1, _NO_DATE, ordinal)
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
        if rematch:
            index.add_signatures((tuple(row) + (None,))[:3] for row in rows)
            return index
        links: list[tuple[int, str]] = []
        indexed: list[int] = []
        retired_fingerprints: dict[int, bytes | None] = {}  # for the links below; dropped after loading
        for row in rows:
            doc_id, signature, published_at, duplicate_of = (tuple(row) + (None, None))[:4]
            _check_id(doc_id)
            if doc_id in index._ordinal_of:
                continue
            fingerprint = DocumentSignature.retired_fingerprint(signature) if isinstance(signature, bytes) else False
            if fingerprint is not False:  # a document past the window: only what exact matching needs
                ordinal = index._append_record(doc_id, _utc(published_at))
                retired_fingerprints[ordinal] = fingerprint
                index.retired += 1
                has_shingles = False
            else:
                parsed = index._parsed(signature)
                ordinal = index._append(doc_id, parsed, _utc(published_at))
                fingerprint, has_shingles = parsed.fingerprint, len(parsed.shingles) > 0
            if duplicate_of is not None:
                links.append((ordinal, duplicate_of))
            if fingerprint is not None and fingerprint not in index._by_fingerprint:
                index._by_fingerprint[fingerprint] = ordinal
                if has_shingles:
                    indexed.append(ordinal)
        for chunk in _batched(indexed, 65_536):
            keys = band_keys(index._minhashes[index._slots(np.asarray(chunk, dtype=np.int64))], index.options).ravel()
            order = np.argsort(keys, kind="stable")
            index._bands.insert(keys[order], np.repeat(np.asarray(chunk, dtype=np.int64), index.options.bands)[order])
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
            index._matches[ordinal] = index._recorded_match(ordinal, canonical, retired_fingerprints)
        index.retire()
        return index

    def _append_record(self, doc_id: str, published_at: datetime | None) -> int:
        """Record what every document keeps, retired or live: id, date, group (and the stream's clock)."""
        ordinal = len(self._ids)
        self._ids.append(doc_id)
        self._ordinal_of[doc_id] = ordinal
        self._published.append(published_at)
        self._signatures.append(None)
        self._group_of.append(None)
        if published_at is not None:
            self._clock = max(self._clock, published_at.timestamp())
        return ordinal

    def _recorded_match(
        self, ordinal: int, canonical: int, retired_fingerprints: dict[int, bytes | None]
    ) -> tuple[int, float, DuplicateKind]:
        """How a stored duplicate relates to its canonical, recomputed from the two signatures. When one was
        loaded retired only fingerprints compare; a near copy's containment is then reported as ``threshold``,
        the least it had when it was matched."""
        mine, theirs = self._signatures[ordinal], self._signatures[canonical]
        fingerprints = [
            signature.fingerprint if signature is not None else retired_fingerprints.get(number)
            for signature, number in ((mine, ordinal), (theirs, canonical))
        ]
        if fingerprints[0] is not None and fingerprints[0] == fingerprints[1]:
            return canonical, 1.0, "exact"
        if mine is None or theirs is None:
            return canonical, self.options.threshold, "near"
        return canonical, containment(mine.shingles, theirs.shingles)[0], "near"


_NO_DATE = datetime.min.replace(tzinfo=timezone.utc)


def _check_id(doc_id: object) -> None:
    if not isinstance(doc_id, str) or not doc_id:
        raise InputError(f"a document id must be a non-empty string, got {doc_id!r}")


# ---------------------------------------------------------------------------------------------------- batch API


def dedup_text(title: str | None, text: str) -> str:
    """The text compared for duplicates: headline and body (a headline is part of what a copy shares)."""
    return f"{title}\n\n{text}" if title else text


def _item_parts(item: Article | tuple) -> tuple[str, str, datetime | None]:
    if isinstance(item, Article):
        return item.id, dedup_text(item.title, item.text), item.published_at
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
        return (1, _NO_DATE, position)
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
    return doc_id, dedup_text(title, text), _parse_date(record.get("published_at"), line_number)


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
        for batch in _batched(enumerate(source, start=1), _BATCH):
            parsed = [(line_number, item) for line_number, raw in batch if (item := _parse_line(raw, line_number))]
            for line_number, (_, text, _) in parsed:
                if len(text) > options.max_text_chars:
                    raise InputTooLargeError(
                        f"line {line_number}: text of {len(text):,} characters is over the dedup limit of "
                        f"{options.max_text_chars:,}"
                    )
            signatures.extend(_signature_batch([text for _, (_, text, _) in parsed], options)[0])
            ids.extend(doc_id for _, (doc_id, _, _) in parsed)
            published.extend(_utc(published_at) for _, (_, _, published_at) in parsed)
    finally:
        if source is not sys.stdin.buffer:
            source.close()

    order = sorted(range(len(ids)), key=lambda i: _date_key(published[i], i))
    index = DuplicateIndex(options)
    index.add_signatures((ids[i], signatures[i], published[i]) for i in order)

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
