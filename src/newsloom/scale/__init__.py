"""Scale-out: the pipeline's stages over WARC/WET shards with PySpark, and a bulk loader for its Parquet output.

    from newsloom.scale import SparkIngestOptions, spark_ingest, load_parquet
    report = spark_ingest(["a.warc.gz", "b.wet.gz"], "out/", SparkIngestOptions(master="local[2]"))
    load_parquet("out/", open_store("postgresql://..."))

``spark_ingest`` needs the ``spark`` extra (pyspark, and a Java runtime); ``load_parquet`` only pyarrow. Both
import their heavy dependencies when called, so importing this package costs nothing. See docs/scale.md.
"""

from __future__ import annotations

from typing import Any

from .parquet import LoadReport, iter_parquet_articles, load_parquet

__all__ = [
    "SparkIngestOptions",
    "SparkIngestReport",
    "spark_ingest",
    "LoadReport",
    "load_parquet",
    "iter_parquet_articles",
]


def __getattr__(name: str) -> Any:
    # The Spark module imports numpy-heavy dedup code; load it on first use only.
    if name in ("SparkIngestOptions", "SparkIngestReport", "spark_ingest"):
        from . import spark

        return getattr(spark, name)
    raise AttributeError(name)
