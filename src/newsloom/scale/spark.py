"""Archive-scale batch runs with PySpark: the local pipeline's stages over WARC/WET shards, Parquet out.

    spark_ingest(["s3a://.../a.warc.gz", "shards/b.wet.gz"], "out/", SparkIngestOptions(master="local[2]"))

The job, in the order it runs:

1. **Per shard** (one Spark task reads whole shards, in ``mapPartitions``): ``iter_warc`` -> the pipeline's own
   extraction step -> ``DedupStage`` -> ``EnrichStage``, in batches, with the very stage objects the local
   ingest uses (no second implementation). The dedup stage runs against an empty store, so it dedups within the
   partition and hands back each article's signature and partition-local ``duplicate_of``. Local paths are read
   in place; any other URL (``hdfs://``, ``s3a://``, ``file://``...) goes through ``SparkContext.binaryFiles`` and
   is spooled to a local temporary file, since the WARC reader seeks (an executor then holds one whole
   shard in memory while spooling: about 1 GB for a Common Crawl WARC file).
2. **Same page twice** (one URL crawled in two shards): one row per article id is kept, the latest crawl.
3. **Global near-duplicates**: every partition-local canonical's MinHash signature is cut into the dedup module's
   own LSH band keys; a Spark self-join on (band, key) gives candidate pairs (buckets over ``max_bucket_size``
   hold templates and are dropped, as the local index does); each pair is verified exactly by the dedup module
   (``verify_copies``: a two-document ``DuplicateIndex``, so containment, Jaccard floor, shared figures and the
   date window are the local rules).
4. **Groups**: verified pairs and the partition-local links form connected groups (union-find on the driver:
   there is one edge per copy, far fewer than articles). Each group is replayed through a ``DuplicateIndex`` in
   publication order, which picks the earliest-published canonical and refuses look-alike chains that drift
   from it, exactly as a local ingest in publication order would.
5. **Parquet** (``scale/parquet.py`` describes the layout): articles sorted in publication order, so that
   ``load_parquet`` can build stories with the streaming clusterer by reading the files in order.

Runs in Spark ``local[2]`` on a laptop and unchanged under ``spark-submit`` on a cluster (install newsloom with
the ``spark`` and ``sources`` extras on the executors).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any

from ..dedup import DedupOptions, DocumentSignature, DuplicateIndex, band_keys
from ..errors import InputError, MissingExtraError, NewsloomError
from ..model import Article, RawDocument
from ..sources.files import SourceError
from .parquet import ARTICLE_COLUMNS, ARTICLES_DIR, DUPLICATES_DIR, MANIFEST, article_record

__all__ = [
    "SparkIngestOptions",
    "SparkIngestReport",
    "spark_ingest",
    "spark_session",
    "process_shards",
    "band_rows",
    "verify_copies",
    "resolve_group",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True, slots=True)
class SparkIngestOptions:
    """How ``spark_ingest`` runs. ``master`` None keeps whatever spark-submit or an existing session set."""

    master: str | None = None
    partitions: int | None = None  # shard-reading tasks (default: one per shard) and shuffle partitions
    entities: bool | None = None  # None: named entities when spaCy and its model are installed on the executors
    batch_size: int = 200  # articles per stage batch inside a task, as in a local ingest
    dedup: DedupOptions = field(default_factory=DedupOptions)
    overwrite: bool = False
    app_name: str = "newsloom spark-ingest"


@dataclass(slots=True)
class SparkIngestReport:
    """What a run read and found. ``duplicates`` counts articles with a canonical elsewhere in the run."""

    output: str
    shards: int
    articles: int = 0
    errors: int = 0
    error_samples: list[tuple[str, str]] = field(default_factory=list)
    repeated_pages: int = 0  # rows dropped because the same article id was read again
    local_duplicates: int = 0  # links found by the per-partition dedup (copy -> its canonical in the partition)
    candidate_pairs: int = 0  # from the LSH band join
    verified_pairs: int = 0
    duplicates: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ------------------------------------------------------------------------------------------------ the session


def _pyspark() -> Any:
    try:
        import pyspark
    except ImportError as exc:
        raise MissingExtraError("spark-ingest", "spark") from exc
    return pyspark


def _java_available() -> bool:
    java_home = os.environ.get("JAVA_HOME")
    return bool(shutil.which("java") or (java_home and Path(java_home, "bin", "java").exists()))


def spark_session(master: str | None = None, partitions: int | None = None, app_name: str = "newsloom") -> Any:
    """A SparkSession set up for newsloom: UTC dates, microsecond Parquet timestamps, no UI in local mode, and
    executors running this Python (so they import the same newsloom)."""
    _pyspark()
    from pyspark.sql import SparkSession

    if not _java_available():
        raise NewsloomError("Spark needs a Java runtime: install one (Debian: default-jre-headless) or set JAVA_HOME")
    # spark-submit starts the JVM first and passes its port: the master then comes from its command line and its
    # settings are left alone. Run without it and without a master, PySpark runs local[*].
    submitted = "PYSPARK_GATEWAY_PORT" in os.environ
    local = master.startswith("local") if master else not submitted
    if local:
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app_name)
    if master:
        builder = builder.master(master)
    builder = (
        builder.config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        .config("spark.sql.shuffle.partitions", str(partitions or 8))
    )
    if local:
        builder = (
            builder.config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
            .config("spark.driver.bindAddress", "127.0.0.1")
        )
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # noqa: BLE001 - the JVM gateway raises plain exceptions; give one clear message
        raise NewsloomError(f"could not start Spark ({type(exc).__name__}: {exc})") from exc
    session.sparkContext.setLogLevel("ERROR")
    return session


def _session_running() -> bool:
    """Whether this process already has a SparkSession (a notebook, a test): it is used and left running."""
    from pyspark.sql import SparkSession

    return SparkSession.getActiveSession() is not None


# ------------------------------------------------------------------------------------------------ step 1: shards


class _NoStoredSignatures:
    """The store a partition's DedupStage sees: empty, so it dedups within the partition only."""

    def dedup_rows(self, retention_days: float | None = None) -> list[tuple[str, bytes, datetime | None, str | None]]:
        return []


def _is_local(path: str) -> bool:
    return "://" not in path


def _documents(shard: str | tuple[str, bytes]) -> Iterator[RawDocument | SourceError]:
    """The records of one shard: a local path read in place, or (url, content) from binaryFiles spooled to disk
    (PySpark hands the whole file as bytes; the WARC reader wants a seekable file)."""
    from ..sources.warc import warc_items

    if isinstance(shard, str):
        yield from warc_items(shard)
        return
    url, content = shard
    with tempfile.NamedTemporaryFile(prefix="newsloom-shard-", suffix=".warc") as spool:
        spool.write(content)
        del content  # the spooled copy is enough: let the bytes go before extraction starts
        spool.flush()
        for item in warc_items(spool.name):
            # Name the record after the shard's URL, not the temporary file.
            if isinstance(item, RawDocument) and item.source:
                item.source = item.source.replace(spool.name, url, 1)
            elif isinstance(item, SourceError):
                item = SourceError(item.source.replace(spool.name, url, 1), item.message.replace(spool.name, url))
            yield item


def _to_micros(value: datetime | None) -> int | None:
    if value is None:
        return None
    aware = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    delta = aware - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _from_micros(value: int | None) -> datetime | None:
    if value is None:
        return None
    from datetime import timedelta

    return _EPOCH + timedelta(microseconds=int(value))


def process_shards(
    shards: Iterable[str | tuple[str, bytes]], entities: bool | None = None, batch_size: int = 200,
) -> Iterator[tuple]:
    """One Spark task: the local pipeline's stages over whole shards. Yields tagged tuples:

    ("article", record tuple in ARTICLE_COLUMNS order, partition-local duplicate_of, published_at in µs)
    ("edge", article id, id it was re-pointed to)   a group re-pointed to an older copy that arrived later
    ("repeat", article id, source)                  the same article id read again in this task (kept once)
    ("error", source, message)                      a record or shard that could not be read or extracted
    """
    from ..pipeline import extract_item  # the pipeline's own extraction step, errors included
    from ..stages import Batch, DedupStage, EnrichStage

    dedup_stage, enrich_stage = DedupStage(), EnrichStage(entities=entities)
    store = _NoStoredSignatures()
    seen: set[str] = set()
    pending: list[Article] = []

    def run_batch() -> Iterator[tuple]:
        batch = Batch(pending)
        dedup_stage(batch, store)  # type: ignore[arg-type] - only dedup_rows() is read
        enrich_stage(batch)
        signatures = {article_id: signature for article_id, signature, _ in batch.extras.signatures}
        for old_id, new_id in batch.extras.repointed.items():
            if new_id is not None:
                yield ("edge", old_id, new_id)
        for article in batch.articles:
            local_duplicate_of, article.duplicate_of = article.duplicate_of, None  # the global step sets it
            record = article_record(article, signatures.get(article.id))
            yield ("article", tuple(record[c] for c in ARTICLE_COLUMNS), local_duplicate_of,
                   _to_micros(article.published_at))

    for shard in shards:
        for item in _documents(shard):
            extracted = extract_item(item)
            if isinstance(extracted, SourceError):
                yield ("error", extracted.source, extracted.message)
                continue
            if extracted.id in seen:
                yield ("repeat", extracted.id, extracted.source)
                continue
            seen.add(extracted.id)
            pending.append(extracted)
            if len(pending) >= batch_size:
                yield from run_batch()
                pending = []
    if pending:
        yield from run_batch()


# ------------------------------------------------------------------------------------------------ step 3: bands


def band_rows(
    items: Iterable[tuple[str, bytes]], options: DedupOptions | None = None,
) -> Iterator[tuple[int, int, str]]:
    """(band, key, article id) for every LSH band of each signature that takes part in near-duplicate search
    (long enough to have shingles), with the dedup module's own band keys, so Spark buckets are the local ones.
    Keys are 64-bit unsigned values reinterpreted as signed, to fit Spark's LongType."""
    import numpy as np

    options = options or DedupOptions()
    ids: list[str] = []
    minhashes: list[np.ndarray] = []
    for article_id, raw in items:
        signature = DocumentSignature.from_bytes(bytes(raw))
        signature.check_compatible(options)
        if signature.fingerprint is None or not len(signature.shingles):
            continue
        ids.append(article_id)
        minhashes.append(signature.minhash)
        if len(ids) >= 4096:
            yield from _keys_of(ids, minhashes, options)
            ids, minhashes = [], []
    if ids:
        yield from _keys_of(ids, minhashes, options)


def _keys_of(ids: list[str], minhashes: list, options: DedupOptions) -> Iterator[tuple[int, int, str]]:
    import numpy as np

    keys = band_keys(np.stack(minhashes), options).view(np.int64)
    for article_id, row in zip(ids, keys.tolist()):
        for band, key in enumerate(row):
            yield band, key, article_id


def verify_copies(
    first: tuple[str, bytes, datetime | None], second: tuple[str, bytes, datetime | None],
    options: DedupOptions | None = None,
) -> float | None:
    """The containment of two documents when the dedup module's rules call them copies, else None.

    The earlier-published one is indexed first and the other matched against it, through the public
    ``DuplicateIndex`` API: the same MinHash pre-check and exact verification as a local ingest."""
    index = DuplicateIndex(options)
    older, newer = sorted((first, second), key=lambda item: _publication_key(item[2], item[0]))
    index.add_signature(*older)
    match = index.add_signature(*newer)
    return None if match is None else match.similarity


def _publication_key(published_at: datetime | None, article_id: str) -> tuple[int, datetime, str]:
    """Dated before undated, then by date, then by id (deterministic where a local ingest uses arrival order)."""
    if published_at is None:
        return (1, _EPOCH, article_id)
    return (0, published_at if published_at.tzinfo else published_at.replace(tzinfo=timezone.utc), article_id)


def _verify_partition(rows: Iterable[Any], options: DedupOptions) -> Iterator[tuple[str, str]]:
    for row in rows:
        first = (row.left, bytes(row.left_signature), _from_micros(row.left_published))
        second = (row.right, bytes(row.right_signature), _from_micros(row.right_published))
        if verify_copies(first, second, options) is not None:
            yield row.left, row.right


# ------------------------------------------------------------------------------------------------ step 4: groups


def _connected_groups(edges: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Union-find: article id -> a representative id of its connected group (only ids that have an edge)."""
    parent: dict[str, str] = {}

    def root(node: str) -> str:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]  # path halving keeps the trees flat
            node = parent[node]
        return node

    for a, b in edges:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {node: root(node) for node in list(parent)}


def resolve_group(
    members: Iterable[tuple[str, bytes, datetime | None]], options: DedupOptions | None = None,
) -> Iterator[tuple[str, str | None]]:
    """(article id, duplicate_of) for one connected group, replayed through a DuplicateIndex in publication order:
    the earliest-published member becomes the canonical, as in a local ingest of the same articles."""
    ordered = sorted(members, key=lambda member: _publication_key(member[2], member[0]))
    index = DuplicateIndex(options)
    index.add_signatures(ordered)
    for article_id, _, _ in ordered:
        yield article_id, index.duplicate_of(article_id)


def _resolve_partition(
    groups: Iterable[tuple[str, Iterable[Any]]], options: DedupOptions,
) -> Iterator[tuple[str, str | None]]:
    for _, rows in groups:
        members = [(row[0], bytes(row[1]), _from_micros(row[2])) for row in rows]
        yield from resolve_group(members, options)


# ------------------------------------------------------------------------------------------------ the job


def _article_schema() -> Any:
    from pyspark.sql.types import (
        ArrayType, BinaryType, DoubleType, IntegerType, StringType, StructField, StructType, TimestampType,
    )

    teaser = StructType([StructField(n, StringType()) for n in ("title", "excerpt", "url")])
    entity = StructType([StructField("name", StringType()), StructField("type", StringType()),
                         StructField("count", IntegerType())])
    types = {
        "paragraphs": ArrayType(StringType()), "keyphrases": ArrayType(StringType()),
        "published_at": TimestampType(), "fetched_at": TimestampType(), "published_at_confidence": DoubleType(),
        "teasers": ArrayType(teaser), "entities": ArrayType(entity), "signature": BinaryType(),
    }
    return StructType([StructField(name, types.get(name, StringType()), name != "id") for name in ARTICLE_COLUMNS])


def _preferred(a: tuple, b: tuple) -> tuple:
    """Of two rows with the same article id, the later crawl (then the larger source name): deterministic."""
    fetched = ARTICLE_COLUMNS.index("fetched_at")
    source = ARTICLE_COLUMNS.index("source")

    def key(row: tuple) -> tuple:
        record = row[1]
        return (_to_micros(record[fetched]) or 0, record[source] or "")

    return a if key(a) >= key(b) else b


def _shard_rdd(spark: Any, inputs: list[str], partitions: int | None) -> Any:
    context = spark.sparkContext
    local = sorted({path for path in inputs if _is_local(path)})
    remote = sorted({path for path in inputs if not _is_local(path)})
    for path in local:
        if not Path(path).is_file():
            raise InputError(f"{path}: no such WARC/WET file")
    rdds = []
    if local:
        rdds.append(context.parallelize(local, max(1, min(partitions or len(local), len(local)))))
    if remote:
        # One (url, bytes) per shard; binaryFiles reads the URL with Hadoop's file systems on the executor.
        streams = context.binaryFiles(",".join(remote), minPartitions=partitions or len(remote))
        rdds.append(streams)
    return rdds[0] if len(rdds) == 1 else context.union(rdds)


def _check_output(output: str, overwrite: bool) -> None:
    if not _is_local(output):
        return
    target = Path(output)
    if (target / ARTICLES_DIR).exists() and not overwrite:
        raise InputError(f"{output}: already holds a spark-ingest output (pass --overwrite to replace it)")


def spark_ingest(
    inputs: Iterable[str | Path], output: str | Path, options: SparkIngestOptions | None = None, *, spark: Any = None,
) -> SparkIngestReport:
    """Run extraction, enrichment and dedup over WARC/WET shards with Spark and write Parquet to ``output``.

    ``spark``: an existing SparkSession (tests, notebooks); otherwise one is made from ``options`` and stopped after.
    """
    options = options or SparkIngestOptions()
    inputs = [str(path) for path in inputs]
    if not inputs:
        raise InputError("spark-ingest needs at least one WARC/WET shard")
    output = str(output)
    _check_output(output, options.overwrite)
    _pyspark()
    started = time.perf_counter()
    own_session = spark is None and not _session_running()
    if spark is None:
        spark = spark_session(options.master, options.partitions, options.app_name)
    try:
        report = _run(spark, inputs, output, options)
    finally:
        if own_session:
            spark.stop()
    report.seconds = round(time.perf_counter() - started, 2)
    if _is_local(output):
        manifest = {"report": report.to_dict(), "inputs": inputs, "dedup_options": asdict(options.dedup),
                    "entities": options.entities}
        Path(output, MANIFEST).write_text(json.dumps(manifest, indent=2, default=str), encoding="utf-8")
    return report


def _run(spark: Any, inputs: list[str], output: str, options: SparkIngestOptions) -> SparkIngestReport:
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    dedup = options.dedup
    report = SparkIngestReport(output=output, shards=len(set(inputs)))

    # 1. The stages per shard. Persisted: extraction is the expensive part and everything below reads it.
    tagged = _shard_rdd(spark, inputs, options.partitions).mapPartitions(
        partial(process_shards, entities=options.entities, batch_size=options.batch_size)
    ).persist(StorageLevel.MEMORY_AND_DISK)
    kinds = tagged.map(lambda item: item[0]).countByValue()
    report.errors = kinds.get("error", 0)
    if report.errors:
        samples = tagged.filter(lambda item: item[0] == "error").take(20)
        report.error_samples = [(source, message) for _, source, message in samples]

    # 2. One row per article id across partitions.
    id_column = ARTICLE_COLUMNS.index("id")
    articles = (
        tagged.filter(lambda item: item[0] == "article")
        .map(lambda item: (item[1][id_column], item))
        .reduceByKey(_preferred)
        .values()
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    report.articles = articles.count()
    report.repeated_pages = kinds.get("repeat", 0) + kinds.get("article", 0) - report.articles
    signature_column = ARTICLE_COLUMNS.index("signature")
    signatures = spark.createDataFrame(
        articles.filter(lambda item: item[1][signature_column] is not None)
        .map(lambda item: (item[1][id_column], item[1][signature_column], item[3])),
        "id string, signature binary, published_us long",
        verifySchema=False,  # rows made by our own code: checking each one in Python costs more than the work
    )
    # Links found by the per-partition dedup: each local copy to its canonical, and re-pointed groups.
    local_edges = (
        articles.filter(lambda item: item[2] is not None).map(lambda item: (item[1][id_column], item[2]))
        .union(tagged.filter(lambda item: item[0] == "edge").map(lambda item: (item[1], item[2])))
        .collect()
    )
    report.local_duplicates = len(local_edges)

    # 3. LSH band join over the partition-local canonicals, then exact verification of each candidate pair.
    bands = spark.createDataFrame(
        articles.filter(lambda item: item[2] is None and item[1][signature_column] is not None)
        .map(lambda item: (item[1][id_column], item[1][signature_column]))
        .mapPartitions(partial(band_rows, options=dedup)),
        "band int, key long, id string",
        verifySchema=False,
    )
    buckets = bands.groupBy("band", "key").count().filter(
        (F.col("count") >= 2) & (F.col("count") <= dedup.max_bucket_size)
    ).select("band", "key")
    filed = bands.join(buckets, ["band", "key"])
    left, right = filed.alias("l"), filed.alias("r")
    pairs = (
        left.join(right, (F.col("l.band") == F.col("r.band")) & (F.col("l.key") == F.col("r.key"))
                  & (F.col("l.id") < F.col("r.id")))
        .select(F.col("l.id").alias("left"), F.col("r.id").alias("right"))
        .distinct()
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    report.candidate_pairs = pairs.count()
    left_sig = signatures.select(F.col("id").alias("left"), F.col("signature").alias("left_signature"),
                                 F.col("published_us").alias("left_published"))
    right_sig = signatures.select(F.col("id").alias("right"), F.col("signature").alias("right_signature"),
                                  F.col("published_us").alias("right_published"))
    verified = (
        pairs.join(left_sig, "left").join(right_sig, "right").rdd
        .mapPartitions(partial(_verify_partition, options=dedup))
        .collect()
    )
    report.verified_pairs = len(verified)

    # 4. Connected groups (driver), each replayed in publication order on the executors.
    group_of = _connected_groups(verified + local_edges)
    resolved_schema = "id string, duplicate_of string"
    if group_of:
        members = spark.createDataFrame(list(group_of.items()), "id string, grp string")
        resolved = spark.createDataFrame(
            members.join(signatures, "id").rdd
            .map(lambda row: (row.grp, (row.id, row.signature, row.published_us)))
            .groupByKey()
            .mapPartitions(partial(_resolve_partition, options=dedup)),
            resolved_schema,
        )
    else:
        resolved = spark.createDataFrame([], resolved_schema)
    resolved = resolved.filter(F.col("duplicate_of").isNotNull()).persist(StorageLevel.MEMORY_AND_DISK)
    report.duplicates = resolved.count()

    # 5. Parquet, in publication order (undated last; a copy after its canonical; then id).
    frame = spark.createDataFrame(articles.map(lambda item: item[1]), _article_schema(), verifySchema=False)
    final = (
        frame.drop("duplicate_of").join(resolved, "id", "left")
        .select(*ARTICLE_COLUMNS)
        .orderBy(F.col("published_at").asc_nulls_last(), F.col("duplicate_of").isNotNull(), F.col("id"))
    )
    mode = "overwrite" if options.overwrite else "errorifexists"
    final.write.mode(mode).parquet(_join(output, ARTICLES_DIR))
    resolved.orderBy("id").coalesce(1).write.mode(mode).parquet(_join(output, DUPLICATES_DIR))
    for cached in (resolved, pairs, articles, tagged):
        cached.unpersist()
    return report


def _join(base: str, name: str) -> str:
    return base.rstrip("/") + "/" + name
