"""The newsloom command line: each command is a thin wrapper over one library call.

Library errors become one-line messages on stderr with the exit code of their branch of the error tree
(see ``newsloom.errors``); progress bars go to stderr so stdout stays clean for JSON.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from . import __version__
from .errors import NewsloomError
from .extract import analysis_record, extraction_record
from .pipeline import ProgressCallback, analyze_paths, default_stages, extract_paths, ingest_paths
from .sources.files import SourceError
from .store import open_store

F = TypeVar("F", bound=Callable[..., Any])
stderr = Console(stderr=True)

DEFAULT_DB = "newsloom.db"


def _fail_cleanly(command: F) -> F:
    """Turn library errors into a message and the exit code of their kind, instead of a traceback."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except NewsloomError as exc:
            # Escaped: a message holds "[...]" (the install hint "newsloom[semantic]"), which rich would eat as markup.
            stderr.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, markup=True)
            sys.exit(exc.exit_code)

    return wrapper  # type: ignore[return-value]


@contextmanager
def _progress(label: str) -> Iterator[ProgressCallback]:
    """A rich progress bar on stderr, fed through the library's progress callback."""
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=stderr,
        transient=False,
        disable=not stderr.is_terminal,
    ) as progress:
        task = progress.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield update


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="newsloom")
@click.option(
    "--db",
    envvar="NEWSLOOM_DB",
    default=DEFAULT_DB,
    show_default=True,
    help="Store location: a SQLite file path (also NEWSLOOM_DB).",
)
@click.pass_context
def main(ctx: click.Context, db: str) -> None:
    """newsloom: clean, deduplicated, connected news from raw pages."""
    ctx.obj = {"db": db}


@main.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "output_format", type=click.Choice(["json", "jsonl", "text"]), default="json", show_default=True)
@_fail_cleanly
def extract(inputs: tuple[Path, ...], output_format: str) -> None:
    """Extract articles from HTML files (.html, .htm, gzipped too) and flattened page text (.txt).

    No database is used. With --format json one input prints one object and several print a list.
    """
    _print_records(extract_paths(list(inputs)), extraction_record, output_format)


def _print_records(
    items: Iterator[Any], to_record: Callable[[Any], dict[str, Any]], output_format: str
) -> None:
    """Print articles as json (one object, or a list for several), jsonl or text; failed inputs go to stderr and
    make the exit code 2 once every other input has been printed."""
    records: list[dict[str, Any]] = []
    failures = 0
    for item in items:
        if isinstance(item, SourceError):
            failures += 1
            stderr.print(f"[bold red]error:[/] {item.source}: {item.message}", highlight=False)
            continue
        record = to_record(item)
        if output_format == "jsonl":
            click.echo(json.dumps(record, ensure_ascii=False))
        elif output_format == "text":
            click.echo(_as_text(record))
        else:
            records.append(record)
    if output_format == "json" and records:
        click.echo(json.dumps(records[0] if len(records) == 1 else records, ensure_ascii=False, indent=2))
    if failures:
        sys.exit(2)


@main.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "output_format", type=click.Choice(["json", "jsonl"]), default="jsonl", show_default=True)
@click.option("--entities/--no-entities", default=None, help="Named entities (default: when spaCy is installed).")
@_fail_cleanly
def analyze(inputs: tuple[Path, ...], output_format: str, entities: bool | None) -> None:
    """Extract and enrich pages: the extract fields plus language, entities, keyphrases and summary."""
    from .enrich import entities_available

    if entities is None and not entities_available():
        stderr.print("[yellow]note:[/] named entities are off: pip install 'newsloom[nlp]' to enable them")
    _print_records(analyze_paths(list(inputs), entities=entities), analysis_record, output_format)


@main.command()
@click.argument("input_path", metavar="INPUT.jsonl", type=click.Path(path_type=Path, allow_dash=True))
@click.option("--out", "output_path", required=True, type=click.Path(path_type=Path, allow_dash=True),
              help="Where to write {id, duplicate_of} lines ('-' for stdout).")
@_fail_cleanly
def dedup(input_path: Path, output_path: Path) -> None:
    """Find exact and near-duplicate articles in a JSONL file of {id, url?, title?, text, published_at?}.

    Writes {id, duplicate_of} per input line, in order; duplicate_of is null for the earliest copy of each group.
    """
    from .dedup import dedup_jsonl

    summary = dedup_jsonl(input_path, output_path)
    stderr.print(f"{summary.articles} articles, {summary.duplicates} duplicates")


@main.group()
def stories() -> None:
    """Stories: articles clustered into events as they stream in."""


@stories.command("list")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--format", "output_format", type=click.Choice(["text", "jsonl"]), default="text", show_default=True)
@click.pass_context
@_fail_cleanly
def stories_list(ctx: click.Context, limit: int, output_format: str) -> None:
    """The largest stories in the store (canonical articles only: copies never count)."""
    store = open_store(ctx.find_root().obj["db"])
    try:
        rows = store.top_stories(limit=limit)
    finally:
        store.close()
    for story in rows:
        if output_format == "jsonl":
            click.echo(json.dumps({
                "id": story.id, "title": story.title, "articles": story.article_count, "sources": story.source_count,
                "first_seen": story.first_seen.isoformat() if story.first_seen else None,
                "last_seen": story.last_seen.isoformat() if story.last_seen else None,
                "top_entities": story.top_entities}, ensure_ascii=False))
        else:
            span = ""
            if story.first_seen and story.last_seen:
                span = f"  {story.first_seen.date().isoformat()} – {story.last_seen.date().isoformat()}"
            click.echo(f"{story.article_count:4d} articles {story.source_count:3d} sources  {story.title}{span}  "
                       f"id={story.id}")
    if not rows:
        stderr.print("no stories yet: ingest some articles first")


@stories.command("cluster")
@click.argument("input_path", metavar="INPUT.jsonl", type=click.Path(path_type=Path))
@click.option("--out", "output_path", required=True, type=click.Path(path_type=Path),
              help="Where to write {id, story_id} lines, one per input line, in order.")
@_fail_cleanly
def stories_cluster(input_path: Path, output_path: Path) -> None:
    """Cluster {id, title, text, published_at?, url?} lines in the order given, on a fresh in-memory state."""
    from .stories import cluster_jsonl

    clusterer = cluster_jsonl(input_path, output_path)
    stderr.print(f"{clusterer.sequence} articles in {len(clusterer.stories()) + len(clusterer.pop_archived())} stories")


def _as_text(record: dict[str, Any]) -> str:
    lines = [f"# {record['title']}", ""]
    for key in ("source", "url", "author", "published_at", "published_at_source", "language"):
        lines.append(f"{key}: {record.get(key) if record.get(key) is not None else '-'}")
    lines += ["", record["text"], ""]
    if record["teasers"]:
        lines.append("Teasers:")
        lines += [f"- {t['title']}" + (f" — {t['excerpt']}" if t["excerpt"] else "") for t in record["teasers"]]
        lines.append("")
    return "\n".join(lines)


@main.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--entities/--no-entities", default=None, help="Named entities (default: when spaCy is installed).")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Processes for enrichment (named entities are the slow part).")
@click.option("--batch-size", default=200, show_default=True, type=click.IntRange(1, 100_000),
              help="Articles per committed transaction (a crash loses at most the batch in flight).")
@click.option("--embeddings/--no-embeddings", default=None,
              help="Vectors for semantic search (default: when the semantic extra is installed and NEWSLOOM_EMBEDDINGS "
                   "is not 0).")
@click.pass_context
@_fail_cleanly
def ingest(ctx: click.Context, inputs: tuple[Path, ...], entities: bool | None, workers: int, batch_size: int,
           embeddings: bool | None) -> None:
    """Ingest HTML files and folders, flattened .txt pages, JSONL/CSV articles and WARC/WET archives.

    Re-ingesting the same input adds nothing; an interrupted archive resumes after its last committed record.
    """
    store = open_store(ctx.obj["db"])
    try:
        with _progress("ingesting") as progress:
            stages = default_stages(entities=entities, n_process=workers, embeddings=embeddings)
            report = ingest_paths(list(inputs), store, stages=stages, batch_size=batch_size, progress=progress)
        if store.search_index_stale():  # after a large ingest: keeps one-word searches of frequent words fast
            with _progress("refreshing search index") as progress:
                store.refresh_search_index(progress)
    finally:
        store.close()
    for error in report.errors[:20]:
        stderr.print(f"[yellow]skipped:[/] {error.source}: {error.message}", highlight=False)
    if len(report.errors) > 20:
        stderr.print(f"[yellow]… and {len(report.errors) - 20} more skipped inputs[/]")
    stored = report.stored
    click.echo(
        f"read {report.read} articles: {stored.inserted} new, {stored.updated} updated, "
        f"{stored.unchanged} unchanged, {len(report.errors)} skipped"
    )


@main.command()
@click.argument("query")
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 1000))
@click.option("--format", "output_format", type=click.Choice(["text", "jsonl"]), default="text", show_default=True)
@click.option("--semantic", "mode", flag_value="semantic",
              help="Rank by meaning (article embeddings) instead of words; needs the semantic extra.")
@click.option("--hybrid", "mode", flag_value="hybrid",
              help="Fuse the word and meaning rankings (reciprocal rank fusion); needs the semantic extra.")
@click.pass_context
@_fail_cleanly
def search(ctx: click.Context, query: str, limit: int, output_format: str, mode: str | None) -> None:
    """Full-text search: words, "exact phrases", OR, -exclusions, and filters: entity:"Name" site:host author:text
    lang:en story:ID after:YYYY-MM-DD before:YYYY-MM-DD sort:date (a query of filters only is fine)."""
    from .semantic import search_articles, semantic_ready
    from .store.sqlite import MATCH_END, MATCH_START

    store = open_store(ctx.obj["db"])
    try:
        hits = search_articles(store, query, mode=mode or "keyword", limit=limit)
        no_vectors = mode in ("semantic", "hybrid") and not semantic_ready(store)
    finally:
        store.close()
    if no_vectors:  # articles stored before the extra was installed, or with NEWSLOOM_EMBEDDINGS=0
        effect = "finds nothing" if mode == "semantic" else "ranks by words only"
        stderr.print(f"note: no stored article has a vector yet, so a {mode} search {effect}; `newsloom embed` "
                     "computes them")
    console = Console(highlight=False)
    for hit in hits:
        plain_snippet = hit.snippet.replace(MATCH_START, "").replace(MATCH_END, "")
        if output_format == "jsonl":
            record = {"id": hit.article.id, "title": hit.article.title, "url": hit.article.url,
                      "site": hit.article.site, "score": round(hit.score, 4), "snippet": plain_snippet}
            click.echo(json.dumps(record, ensure_ascii=False))
            continue
        date = hit.article.published_at.date().isoformat() if hit.article.published_at else "date unknown"
        # Page text is escaped before our own markup goes in, so a "[" in an article cannot restyle the terminal.
        snippet = escape(hit.snippet).replace(MATCH_START, "[bold]").replace(MATCH_END, "[/bold]")
        console.print(f"[bold]{escape(hit.article.title)}[/]  ({escape(hit.article.site or '-')}, {date})  id={hit.article.id}")
        console.print(f"  {snippet}\n")
    if not hits:
        stderr.print("no matches")


@main.command()
@click.option("--batch-size", default=256, show_default=True, type=click.IntRange(1, 100_000),
              help="Articles per saved transaction (an interrupted run resumes after the last one).")
@click.pass_context
@_fail_cleanly
def embed(ctx: click.Context, batch_size: int) -> None:
    """Compute the vectors of stored articles that have none (stored before the semantic extra was installed), so
    that search --semantic/--hybrid finds them. Needs the semantic extra; new ingests embed as they go."""
    from .enrich.embeddings import default_embedder
    from .semantic import embed_missing

    store = open_store(ctx.obj["db"])
    try:
        embedder = default_embedder()  # fail with the install hint before opening a progress bar
        with _progress("embedding") as progress:
            count = embed_missing(store, embedder, batch_size=batch_size, progress=progress)
    finally:
        store.close()
    click.echo(f"embedded {count} articles")


@main.command()
@click.pass_context
@_fail_cleanly
def reindex(ctx: click.Context) -> None:
    """Rebuild the search index's lists of best matches for frequent words (ingest does it after large loads;
    searches stay correct without it, only slower on big stores)."""
    store = open_store(ctx.obj["db"])
    try:
        with _progress("refreshing search index") as progress:
            words = store.refresh_search_index(progress)
    finally:
        store.close()
    click.echo(f"refreshed the lists of {words} frequent words")


@main.command()
@click.pass_context
@_fail_cleanly
def stats(ctx: click.Context) -> None:
    """Counts of articles, sources, dates and page views in the store."""
    store = open_store(ctx.obj["db"])
    try:
        result = store.stats()
    finally:
        store.close()
    click.echo(f"articles:           {result.articles}")
    click.echo(f"canonical articles: {result.canonical_articles}")
    click.echo(f"sites:              {result.sites}")
    click.echo(f"with a date:        {result.with_date}")
    click.echo(f"page views:         {result.page_views}")
    click.echo("languages:          " + ", ".join(f"{k} {v}" for k, v in result.languages.items()))


# ---- sources and watch (newsloom.watch): the always-on commands


def _fetcher_for(allow_private_networks: bool, user_agent: str | None, delay: float | None) -> Any:
    """A Fetcher with the SSRF guard on unless the user opted out, and the user's agent and per-host delay."""
    from .sources.fetch import Fetcher, FetchOptions

    options = FetchOptions(allow_private_networks=allow_private_networks)
    if user_agent:
        options.user_agent = user_agent
    if delay is not None:
        options.per_host_delay = delay
    return Fetcher(options)


def _fetch_options(command: F) -> F:
    """The fetching options shared by `sources add` and `watch`."""
    options = [
        click.option("--allow-private-networks", is_flag=True, envvar="NEWSLOOM_ALLOW_PRIVATE_NETWORKS",
                     help="Let the fetcher reach loopback, private and link-local addresses (intranets, tests). "
                          "Also NEWSLOOM_ALLOW_PRIVATE_NETWORKS=1. Off by default: the SSRF guard refuses them."),
        click.option("--user-agent", default=None, help="User agent sent with every request (and matched in robots.txt)."),
        click.option("--delay", type=click.FloatRange(0, 3600), default=None,
                     help="Seconds between two requests to one host (default 1; a robots.txt Crawl-delay can raise it)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _exit_with_blocked_hint(exc: NewsloomError) -> None:
    """For an SSRF refusal: the error, then how to opt in, and the error's exit code."""
    from .errors import BlockedAddressError

    if isinstance(exc, BlockedAddressError):
        stderr.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        stderr.print("[yellow]hint:[/] private, loopback and link-local addresses are refused; pass "
                     "--allow-private-networks (or NEWSLOOM_ALLOW_PRIVATE_NETWORKS=1) to allow them", highlight=False)
        sys.exit(exc.exit_code)


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%SZ") if value is not None else "-"


@main.group()
def sources() -> None:
    """The feeds, sitemaps and sites `newsloom watch` polls."""


@sources.command("add")
@click.argument("url_or_file")
@click.option("--every", default="15m", show_default=True, help="How often to poll: 90s, 15m, 1h30m, 1d.")
@click.option("--kind", type=click.Choice(["auto", "feed", "sitemap", "site"]), default="auto", show_default=True,
              help="auto fetches the URL once to tell a feed, a sitemap and a site (whose feeds are discovered) apart.")
@_fetch_options
@click.pass_context
@_fail_cleanly
def sources_add(ctx: click.Context, url_or_file: str, every: str, kind: str, allow_private_networks: bool,
                user_agent: str | None, delay: float | None) -> None:
    """Register a feed or sitemap URL, a site URL (its feeds and sitemaps are discovered), or an OPML file."""
    from .watch import add_source, format_interval

    store = open_store(ctx.obj["db"])
    fetcher = _fetcher_for(allow_private_networks, user_agent, delay)
    try:
        result = add_source(store, url_or_file, every, fetcher, kind=kind)
    except NewsloomError as exc:
        _exit_with_blocked_hint(exc)
        raise
    finally:
        fetcher.close()
        store.close()
    for record in result.added:
        click.echo(f"added {record.kind} {record.url} (every {format_interval(record.every_seconds)})")
    for record in result.existing:
        click.echo(f"already registered: {record.kind} {record.url} (now every {format_interval(record.every_seconds)})")
    for url, message in result.discovery_errors:
        stderr.print(f"[yellow]note:[/] {escape(url)}: {escape(message)}", highlight=False)


@sources.command("list")
@click.option("--format", "output_format", type=click.Choice(["text", "jsonl"]), default="text", show_default=True)
@click.pass_context
@_fail_cleanly
def sources_list(ctx: click.Context, output_format: str) -> None:
    """Every source with its health: last success, last error, consecutive errors, articles, next poll."""
    import dataclasses

    from .watch import format_interval

    store = open_store(ctx.obj["db"])
    try:
        records = store.list_sources()
    finally:
        store.close()
    for record in records:
        if output_format == "jsonl":
            data = dataclasses.asdict(record)
            click.echo(json.dumps(data, ensure_ascii=False, default=lambda v: v.isoformat()))
            continue
        health = "ok" if record.error_count == 0 else f"{record.error_count} errors"
        click.echo(f"{record.url}  [{record.kind}, every {format_interval(record.every_seconds)}, {health}]")
        if record.title:
            click.echo(f"  title:        {record.title}")
        click.echo(f"  last success: {_when(record.last_success)}    articles: {record.articles}")
        click.echo(f"  next due:     {_when(record.next_due) if record.next_due else 'now'}")
        if record.last_error:
            click.echo(f"  last error:   {record.last_error}")
    if not records and output_format == "text":
        stderr.print("no sources: add one with `newsloom sources add URL`")


@sources.command("remove")
@click.argument("url")
@click.pass_context
@_fail_cleanly
def sources_remove(ctx: click.Context, url: str) -> None:
    """Stop polling a source (the articles it brought stay)."""
    store = open_store(ctx.obj["db"])
    try:
        store.remove_source(url)
    finally:
        store.close()
    click.echo(f"removed {url}")


@sources.command("export")
@click.pass_context
@_fail_cleanly
def sources_export(ctx: click.Context) -> None:
    """The registered feeds as OPML, on stdout (sitemaps are not feeds and are left out)."""
    from .watch import export_opml

    store = open_store(ctx.obj["db"])
    try:
        click.echo(export_opml(store), nl=False)
        skipped = sum(1 for s in store.list_sources() if s.kind != "feed")
    finally:
        store.close()
    if skipped:
        stderr.print(f"note: {skipped} sitemap/site sources are not feeds and were left out")


@main.command()
@click.option("--once", is_flag=True, help="Poll the sources that are due once, then exit.")
@click.option("--max-new", default=100, show_default=True, type=click.IntRange(1, 100_000),
              help="New articles fetched per source per poll; the rest wait for the next poll.")
@click.option("--entities/--no-entities", default=None, help="Named entities (default: when spaCy is installed).")
@_fetch_options
@click.pass_context
@_fail_cleanly
def watch(ctx: click.Context, once: bool, max_new: int, entities: bool | None, allow_private_networks: bool,
          user_agent: str | None, delay: float | None) -> None:
    """Poll the registered sources on their schedules and ingest their new articles, until stopped.

    SIGTERM or Ctrl-C stops after the page being fetched (a second one stops at once).
    """
    import signal
    import threading
    from datetime import datetime, timezone

    from .watch import watch as watch_sources

    def log(message: str) -> None:
        stderr.print(f"{datetime.now(timezone.utc):%H:%M:%S} {escape(message)}", highlight=False, soft_wrap=True)

    store = open_store(ctx.obj["db"])
    fetcher = _fetcher_for(allow_private_networks, user_agent, delay)
    stop = threading.Event()
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["report"] = watch_sources(store, fetcher, stop, once=once, log=log, max_new_articles=max_new,
                                              stages=default_stages(entities=entities))
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread, which raises it
            outcome["error"] = exc

    def on_signal(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise SystemExit(128 + signum)  # asked twice: leave now (the worker thread is a daemon)
        log(f"{signal.Signals(signum).name}: stopping after the current page (again to stop at once)")
        stop.set()

    # The loop runs in a worker thread so the main thread only waits: a signal handler that sets the event while
    # the same thread holds the event's lock could deadlock.
    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    worker = threading.Thread(target=run, name="newsloom-watch", daemon=True)
    try:
        worker.start()
        while worker.is_alive():
            worker.join(0.5)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if not worker.is_alive():
            fetcher.close()
            store.close()
    if "error" in outcome:
        raise outcome["error"]
    report = outcome["report"]
    click.echo(f"{report.cycles} cycles, {report.polls} polls ({report.failed_polls} failed): "
               f"{report.stored.inserted} new articles, {report.stored.updated} updated, "
               f"{report.article_failures} pages failed")


@main.command("spark-ingest")
@click.argument("inputs", nargs=-1, required=True)
@click.option("--output", required=True, help="Folder (or URL Spark can write) for the Parquet output.")
@click.option("--master", default=None,
              help="Spark master, e.g. local[2]; default: what spark-submit set, else local[*].")
@click.option("--partitions", default=None, type=click.IntRange(1, 1_000_000),
              help="Tasks reading shards (default: one per shard) and shuffle partitions.")
@click.option("--entities/--no-entities", default=None, help="Named entities (default: when spaCy is installed).")
@click.option("--overwrite", is_flag=True, help="Replace an existing output.")
@_fail_cleanly
def spark_ingest_command(inputs: tuple[str, ...], output: str, master: str | None, partitions: int | None,
                         entities: bool | None, overwrite: bool) -> None:
    """Extract, enrich and dedup WARC/WET shards (paths or URLs) with PySpark; write Parquet to --output."""
    from .scale.spark import SparkIngestOptions, spark_ingest

    options = SparkIngestOptions(master=master, partitions=partitions, entities=entities, overwrite=overwrite)
    report = spark_ingest(list(inputs), output, options)
    for source, message in report.error_samples:
        stderr.print(f"[yellow]skipped:[/] {source}: {message}", highlight=False)
    click.echo(
        f"{report.shards} shards: {report.articles} articles, {report.duplicates} duplicates "
        f"({report.verified_pairs} verified of {report.candidate_pairs} LSH candidate pairs), "
        f"{report.errors} skipped, in {report.seconds:.1f} s -> {output}"
    )


@main.command("load-parquet")
@click.argument("directory", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--db", "db_option", default=None, help="Store to fill: a SQLite path or postgresql:// URL.")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 100_000),
              help="Articles per committed transaction.")
@click.pass_context
@_fail_cleanly
def load_parquet_command(ctx: click.Context, directory: Path, db_option: str | None, batch_size: int) -> None:
    """Bulk-load spark-ingest output into the store and build stories over it in publication order."""
    from .scale import load_parquet

    store = open_store(db_option or ctx.obj["db"])
    try:
        report = load_parquet(directory, store, batch_size=batch_size)
    finally:
        store.close()
    stored = report.stored
    click.echo(
        f"loaded {report.articles} articles ({report.duplicates} duplicates) into {report.stories} stories: "
        f"{stored.inserted if stored else 0} new, {stored.updated if stored else 0} updated"
    )


@main.group()
def subscribe() -> None:
    """Subscriptions: follow a query, entity, story or site as a feed, or have new matches POSTed to a webhook."""


@subscribe.command("add")
@click.option("--query", help='A search in the query language, e.g. "rafah OR gaza".')
@click.option("--entity", help="An entity's canonical name, e.g. Benjamin Netanyahu.")
@click.option("--story", help="A story id (newsloom stories list).")
@click.option("--site", help="A source site, e.g. latimes.com.")
@click.option("--webhook", "webhook_url", help="POST each new matching article to this URL (signed JSON).")
@click.option("--secret", help="HMAC key for the webhook signature (generated and printed when absent).")
@click.option("--backfill", is_flag=True, help="Also send what already matches (default: only what arrives later).")
@click.option("--allow-private-networks", is_flag=True,
              help="Let the webhook reach loopback and private addresses (refused by default).")
@click.pass_context
@_fail_cleanly
def subscribe_add(ctx: click.Context, query: str | None, entity: str | None, story: str | None, site: str | None,
                  webhook_url: str | None, secret: str | None, backfill: bool, allow_private_networks: bool) -> None:
    """Follow one thing: exactly one of --query, --entity, --story, --site."""
    from .subscriptions import create_subscription, feed_path

    chosen = [(kind, value) for kind, value in (("query", query), ("entity", entity), ("story", story),
                                                ("site", site)) if value is not None]
    if len(chosen) != 1:
        raise click.UsageError("give exactly one of --query, --entity, --story, --site")
    kind, target = chosen[0]
    store = open_store(ctx.find_root().obj["db"])
    try:
        record = create_subscription(store, kind, target, webhook_url=webhook_url, secret=secret,
                                     allow_private_networks=allow_private_networks, backfill=backfill)
    finally:
        store.close()
    click.echo(record.id)
    stderr.print(f"feeds: {feed_path(record, 'atom')}  {feed_path(record, 'rss')}  {feed_path(record, 'json')}",
                 highlight=False, markup=False)
    if webhook_url and secret is None:
        stderr.print(f"webhook secret (keep it to verify signatures): {record.secret}", highlight=False, markup=False)


@subscribe.command("list")
@click.option("--format", "output_format", type=click.Choice(["text", "jsonl"]), default="text", show_default=True)
@click.pass_context
@_fail_cleanly
def subscribe_list(ctx: click.Context, output_format: str) -> None:
    """All subscriptions, with their webhook's delivery counts (secrets are never shown)."""
    store = open_store(ctx.find_root().obj["db"])
    try:
        rows = [(s, {status: len(store.list_deliveries(s.id, status, limit=1_000_000))
                     for status in ("pending", "delivered", "dead")}) for s in store.list_subscriptions()]
    finally:
        store.close()
    for record, counts in rows:
        if output_format == "jsonl":
            click.echo(json.dumps({"id": record.id, "kind": record.kind, "target": record.target,
                                   "webhook_url": record.webhook_url, "created_at": record.created_at.isoformat(),
                                   "deliveries": counts}, ensure_ascii=False))
        else:
            hook = f"  -> {record.webhook_url}  ({counts['delivered']} delivered, {counts['pending']} pending, " \
                   f"{counts['dead']} dead)" if record.webhook_url else "  (feed only)"
            click.echo(f"{record.id}  {record.kind}: {record.target}{hook}")
    if not rows:
        stderr.print("no subscriptions: add one with `newsloom subscribe add --query ...`")


@subscribe.command("remove")
@click.argument("subscription_id")
@click.pass_context
@_fail_cleanly
def subscribe_remove(ctx: click.Context, subscription_id: str) -> None:
    """Forget a subscription, its pending deliveries and its delivery log."""
    store = open_store(ctx.find_root().obj["db"])
    try:
        store.remove_subscription(subscription_id)
    finally:
        store.close()
    click.echo(f"removed {subscription_id}")


@subscribe.command("deliver")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 100_000),
              help="Deliveries attempted in this round at most.")
@click.pass_context
@_fail_cleanly
def subscribe_deliver(ctx: click.Context, limit: int) -> None:
    """One delivery round: record new matches, POST the due ones, retry failures with backoff (run it from cron
    or a loop; delivered articles are never sent twice)."""
    from .subscriptions import deliver_pending

    store = open_store(ctx.find_root().obj["db"])
    try:
        report = deliver_pending(store, limit=limit)
    finally:
        store.close()
    click.echo(f"{report.enqueued} new matches, {report.attempted} attempted: {report.delivered} delivered, "
               f"{report.failed} failed (will retry), {report.dead} dead")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.pass_context
@_fail_cleanly
def serve(ctx: click.Context, host: str, port: int) -> None:
    """Serve the web reader and the JSON API (OpenAPI docs at /docs)."""
    import uvicorn

    from .web.app import create_app

    store = open_store(ctx.obj["db"])
    stderr.print(f"newsloom reader on http://{host}:{port}/  (API docs: http://{host}:{port}/docs)")
    try:
        uvicorn.run(create_app(store), host=host, port=port, log_level="warning")
    finally:
        store.close()


if __name__ == "__main__":  # pragma: no cover
    main()
