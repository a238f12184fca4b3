"""A long-lived pool of enrichment worker processes, started once per run.

    pool = EnrichmentPool(n_process=2, run_entities=True)
    futures = pool.submit(articles, work)   # returns at once: the workers start on it
    results = pool.gather(futures)           # one result per article, in order
    pool.close()

Each worker is a fresh (spawned) interpreter that loads the spaCy model once and keeps it, so a run pays the model
load n_process times in total instead of forking per batch, and the parent keeps its own CPU for what must run in
order (dedup, stories, store writes) while the workers enrich the next batch. Workers are spawned, never forked:
the parent may hold threads and SQLite connections, which a fork would copy in an undefined state. Workers never
import torch (see ``_keep_torch_out``), which keeps each at ~140 MB instead of ~400 MB once the model is loaded.

Workers limit BLAS to one thread: two workers on two cores with multi-threaded BLAS spend CPU on spinning threads
(measured: NER 12.2 instead of 14.5 ms of CPU per Reuters wire). A worker exits when its parent dies (a SIGKILLed
ingest must not leave model-sized orphans behind).
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from newsloom._memory import release_free_memory

__all__ = ["EnrichmentPool", "limit_blas_threads"]

_LOG = logging.getLogger(__name__)
_Item = TypeVar("_Item")
_Result = TypeVar("_Result")

# Articles per task: small enough that both workers get a share of every batch, large enough that nlp.pipe
# batches well and the per-task overhead (pickling, queueing) stays a small fraction.
CHUNK_SIZE = 48
_PARENT_POLL_SECONDS = 1.0
_BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")


def limit_blas_threads() -> None:
    """One BLAS thread in this process (through threadpoolctl when present, else the environment, which counts
    only before numpy is imported)."""
    for name in _BLAS_THREAD_VARIABLES:
        os.environ[name] = "1"
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(limits=1)


def _exit_when_orphaned(parent_pid: int) -> None:
    while True:
        time.sleep(_PARENT_POLL_SECONDS)
        if os.getppid() != parent_pid:
            os._exit(0)


def _keep_torch_out() -> None:
    """spaCy's thinc imports torch whenever it is installed (the ``semantic`` extra brings it): ~240 MB and seconds
    per process, for a small English model that never uses it. A None entry makes ``import torch`` fail, so thinc
    takes its no-torch path; workers run nothing else."""
    if "torch" not in sys.modules:
        sys.modules["torch"] = None  # type: ignore[assignment]


def _init_worker(parent_pid: int, load_model: bool) -> None:
    # Ctrl-C goes to the whole process group: the parent handles it and closes the pool.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _keep_torch_out()
    threading.Thread(target=_exit_when_orphaned, args=(parent_pid,), daemon=True).start()
    limit_blas_threads()
    if load_model:
        from newsloom.enrich.entities import _load_ner

        _load_ner()


def _work_then_release(
    work: Callable[[Sequence[_Item], Any], list[_Result]], chunk: Sequence[_Item], options: Any
) -> list[_Result]:
    """``work(chunk, options)`` in a worker, then the memory it freed goes back to the system, so that a worker
    stays the size of the model plus one chunk, not of the largest chunk it ever met."""
    try:
        return work(chunk, options)
    finally:
        release_free_memory()


def _chunks(items: Sequence[_Item], size: int) -> list[Sequence[_Item]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


class EnrichmentPool:
    """``n_process`` spawned workers, each with the NER model loaded once (when ``run_entities``)."""

    def __init__(self, n_process: int, run_entities: bool, chunk_size: int = CHUNK_SIZE) -> None:
        self.n_process = n_process
        self.chunk_size = chunk_size
        context = multiprocessing.get_context("spawn")
        self._executor: ProcessPoolExecutor | None = ProcessPoolExecutor(
            max_workers=n_process, mp_context=context, initializer=_init_worker,
            initargs=(os.getpid(), run_entities),
        )

    @property
    def alive(self) -> bool:
        return self._executor is not None

    def submit(
        self, items: Sequence[_Item], work: Callable[[Sequence[_Item], Any], list[_Result]], options: Any
    ) -> list[tuple[Sequence[_Item], Future[list[_Result]]]]:
        """Queue ``work(chunk, options)`` for every chunk of ``items``; returns at once."""
        if self._executor is None:
            raise BrokenProcessPool("the enrichment pool is closed")
        # Spread small batches over every worker; big ones go in CHUNK_SIZE pieces so no worker idles at the end.
        size = max(1, min(self.chunk_size, math.ceil(len(items) / self.n_process)))
        executor = self._executor
        return [(chunk, executor.submit(_work_then_release, work, chunk, options)) for chunk in _chunks(items, size)]

    def gather(
        self,
        submitted: list[tuple[Sequence[_Item], Future[list[_Result]]]],
        work: Callable[[Sequence[_Item], Any], list[_Result]],
        options: Any,
    ) -> list[_Result]:
        """The results of :meth:`submit`, in order. A worker that died (killed, out of memory) breaks the pool:
        the missing chunks are then computed here, and the pool is closed for the rest of the run."""
        results: list[_Result] = []
        for chunk, future in submitted:
            try:
                results.extend(future.result())
            except BrokenProcessPool:
                if self._executor is not None:
                    _LOG.warning("an enrichment worker died; enriching in the main process from here on")
                    self.close()
                results.extend(work(chunk, options))
        return results

    def close(self) -> None:
        """Stop the workers (idempotent)."""
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> EnrichmentPool:  # noqa: PYI034
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
