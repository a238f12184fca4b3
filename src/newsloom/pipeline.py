"""The pipeline: sources -> extract -> (dedup -> enrich -> stories) -> store, in committed batches.

Each batch is one store transaction, so a crash loses at most the batches in flight and a rerun upserts the same ids:
nothing committed is lost and nothing is duplicated. When enrichment runs in worker processes, the next batch is read,
deduplicated and handed to the workers before the current one is finished and committed (batches still commit one by
one, in order), so the workers do not wait while the main process clusters stories and writes to the store. Progress is reported through a callback so the CLI can draw a
bar and the library stays free of terminal code.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ._memory import release_free_memory
from .errors import NewsloomError
from .extract import extract
from .model import Article, RawDocument
from .sources.files import SourceError, is_archive, iter_input_files, read_path
from .stages import (
    Batch,
    EnrichStage,
    Stage,
    close_stages,
    default_stages,
    finish_stages,
)
from .store.base import Store, UpsertResult

__all__ = [
    "IngestReport",
    "ProgressCallback",
    "Stage",
    "analyze_paths",
    "default_stages",
    "extract_item",
    "extract_paths",
    "ingest_articles",
    "ingest_paths",
]

# Called with (units done, units in total) as the pipeline goes; a unit is one input file.
ProgressCallback = Callable[[int, int], None]


@dataclass(slots=True)
class IngestReport:
    read: int = 0
    stored: UpsertResult = field(default_factory=UpsertResult)
    errors: list[SourceError] = field(default_factory=list)

    @property
    def inserted(self) -> int:
        return self.stored.inserted


def extract_item(item: RawDocument | Article | SourceError) -> Article | SourceError:
    """One item through extraction: an Article, or a SourceError naming the input (a failed page never raises)."""
    if isinstance(item, (Article, SourceError)):
        return item
    try:
        return extract(item)
    except NewsloomError as exc:
        return SourceError(item.source or item.url or "(input)", str(exc))
    except (ValueError, RecursionError, MemoryError) as exc:
        # A parser failing on a hostile page must not stop the run: report it with its source and go on.
        return SourceError(item.source or item.url or "(input)", f"extraction failed: {type(exc).__name__}: {exc}")


def extract_paths(paths: list[str | Path], progress: ProgressCallback | None = None) -> Iterator[Article | SourceError]:
    """Extract every input under ``paths`` without a store: the ``newsloom extract`` command."""
    files = list(iter_input_files(paths))
    for done, path in enumerate(files, start=1):
        for item in read_path(path):
            yield extract_item(item)
        if progress:
            progress(done, len(files))


def analyze_paths(
    paths: list[str | Path], *, entities: bool | None = None, batch_size: int = 64,
    progress: ProgressCallback | None = None,
) -> Iterator[Article | SourceError]:
    """Extract and enrich every input under ``paths`` without a store: the ``newsloom analyze`` command."""
    stage = EnrichStage(entities=entities)
    pending: list[Article] = []
    for item in extract_paths(paths, progress):
        if isinstance(item, SourceError):
            yield item
            continue
        pending.append(item)
        if len(pending) >= batch_size:
            batch = Batch(pending)
            stage(batch)
            yield from batch.articles
            pending = []
    if pending:
        batch = Batch(pending)
        stage(batch)
        yield from batch.articles


# Batches handed to the background stage before the oldest is finished. With one, the workers idle while the main
# process stores a batch and reads the next; two keep them busy (+13% articles/s measured on 2 cores). A crash
# loses only uncommitted batches, which a rerun reads again.
_BATCHES_AHEAD = 2


class _BatchRunner:
    """Runs batches through the stages and commits each one, in the order submitted.

    The stage list is split at the first stage that works in the background (``runs_in_background``: enrichment
    in worker processes). ``submit`` runs the stages before it, hands the batch to it and returns; the oldest batch
    is finished (the stages after it, then the commit) once ``_BATCHES_AHEAD`` newer ones are in the background
    stage's hands. With no such stage every batch is finished at once, exactly as a plain loop would.
    """

    def __init__(self, store: Store, stages: list[Stage]) -> None:
        self.store = store
        split = next((i for i, stage in enumerate(stages) if getattr(stage, "runs_in_background", False)), None)
        self._before = stages if split is None else stages[:split]
        self._background = None if split is None else stages[split]
        self._after: list[Stage] = [] if split is None else stages[split + 1 :]
        self._in_flight: deque[tuple[Batch, object, tuple[str, str] | None]] = deque()

    def submit(self, articles: list[Article], checkpoint: tuple[str, str] | None = None) -> UpsertResult:
        """Start a batch; returns what the batches finished meanwhile stored."""
        # Within one batch the same page may appear twice (a file given twice); keep the last copy of each id.
        work = Batch(list({article.id: article for article in articles}.values()))
        handle = None
        if work.articles:
            for stage in self._before:
                stage(work, self.store)
            if self._background is not None:
                handle = self._background.start(work, self.store)  # type: ignore[attr-defined]
        self._in_flight.append((work, handle, checkpoint))
        keep = _BATCHES_AHEAD if self._background is not None else 0
        result = UpsertResult()
        while len(self._in_flight) > keep:
            result += self._finish_oldest()
        return result

    def drain(self) -> UpsertResult:
        """Finish and commit every batch still in flight."""
        result = UpsertResult()
        while self._in_flight:
            result += self._finish_oldest()
        return result

    def _finish_oldest(self) -> UpsertResult:
        work, handle, checkpoint = self._in_flight.popleft()
        if work.articles:
            if self._background is not None:
                self._background.complete(work, handle)  # type: ignore[attr-defined]
            for stage in self._after:
                stage(work, self.store)
        result = self.store.upsert_articles(work.articles, checkpoint=checkpoint, extras=work.extras)
        release_free_memory()  # the batch is gone: a long run stays the size of what it keeps, not of its peaks
        return result


def ingest_articles(
    articles: Iterable[Article], store: Store, stages: list[Stage] | None = None, batch_size: int = 200
) -> UpsertResult:
    """Run already-extracted articles through the later stages into the store, one transaction per batch.
    ``stages`` defaults to ``default_stages()``; pass ``[]`` to store articles as they are."""
    stages = default_stages() if stages is None else stages
    runner = _BatchRunner(store, stages)
    result = UpsertResult()
    try:
        batch: list[Article] = []
        for article in articles:
            batch.append(article)
            if len(batch) >= batch_size:
                result += runner.submit(batch)
                batch = []
        if batch:
            result += runner.submit(batch)
        result += runner.drain()
        finish_stages(stages, store)
    finally:
        close_stages(stages)
    return result


def _archive_key(path: Path) -> str:
    return "archive:" + str(path.resolve())


def _ingest_archive(path: Path, runner: _BatchRunner, batch_size: int, report: IngestReport) -> None:
    """A WARC/WET file, resumable: each batch commits with the offset of its last record, and a rerun (after a
    crash, or of a finished file) starts after the last committed record, so nothing is lost or read twice."""
    from .sources.warc import iter_warc

    key = _archive_key(path)
    done = runner.store.get_checkpoint(key)
    batch: list[Article] = []
    offset: int | None = None
    try:
        records = iter_warc(path, int(done), include_start=False) if done else iter_warc(path)
        for offset, item in records:
            extracted = extract_item(item)
            if isinstance(extracted, SourceError):
                report.errors.append(extracted)
            else:
                report.read += 1
                batch.append(extracted)
            if len(batch) >= batch_size:
                report.stored += runner.submit(batch, (key, str(offset)))
                batch = []
    except NewsloomError as exc:
        report.errors.append(SourceError(str(path), str(exc)))
    if offset is not None:
        report.stored += runner.submit(batch, (key, str(offset)))


def ingest_paths(
    paths: list[str | Path],
    store: Store,
    *,
    stages: list[Stage] | None = None,
    batch_size: int = 200,
    progress: ProgressCallback | None = None,
) -> IngestReport:
    """Ingest files and folders (HTML, flattened text, JSONL/CSV) into ``store``. Rerunning adds nothing new.
    ``stages`` defaults to ``default_stages()``; pass ``[]`` to store extracted articles as they are."""
    stages = default_stages() if stages is None else stages
    report = IngestReport()
    runner = _BatchRunner(store, stages)
    try:
        files = list(iter_input_files(paths))
        batch: list[Article] = []
        for done, path in enumerate(files, start=1):
            if is_archive(path):
                if batch:  # submit what came before, so the archive's checkpoints only cover its own records
                    report.stored += runner.submit(batch)
                    batch = []
                _ingest_archive(path, runner, batch_size, report)
                if progress:
                    progress(done, len(files))
                continue
            for item in read_path(path):
                extracted = extract_item(item)
                if isinstance(extracted, SourceError):
                    report.errors.append(extracted)
                    continue
                report.read += 1
                batch.append(extracted)
                if len(batch) >= batch_size:
                    report.stored += runner.submit(batch)
                    batch = []
            if progress:
                progress(done, len(files))
        if batch:
            report.stored += runner.submit(batch)
        report.stored += runner.drain()
        finish_stages(stages, store)
    finally:
        close_stages(stages)
    return report
