"""Hand freed heap memory back to the operating system.

glibc's allocator keeps the memory of freed blocks for reuse, so a process that once held a large batch (a long
article's NER arrays, a batch of pickled results) stays that size. ``malloc_trim`` returns what is free, which
keeps a long run's resident memory at what it holds now. A no-op where glibc is not the C library.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import lru_cache
from typing import Any

__all__ = ["release_free_memory"]


@lru_cache(maxsize=1)
def _malloc_trim() -> Any:
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim
        return None


def release_free_memory() -> None:
    """Return the C heap's free memory to the operating system (glibc); does nothing elsewhere."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
