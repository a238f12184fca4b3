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
            stderr.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True)
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
    records: list[dict[str, Any]] = []
    failures = 0
    for item in extract_paths(list(inputs)):
        if isinstance(item, SourceError):
            failures += 1
            stderr.print(f"[bold red]error:[/] {item.source}: {item.message}", highlight=False)
            continue
        record = extraction_record(item)
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
    records: list[dict[str, Any]] = []
    failures = 0
    for item in analyze_paths(list(inputs), entities=entities):
        if isinstance(item, SourceError):
            failures += 1
            stderr.print(f"[bold red]error:[/] {item.source}: {item.message}", highlight=False)
            continue
        record = analysis_record(item)
        if output_format == "jsonl":
            click.echo(json.dumps(record, ensure_ascii=False))
        else:
            records.append(record)
    if output_format == "json" and records:
        click.echo(json.dumps(records[0] if len(records) == 1 else records, ensure_ascii=False, indent=2))
    if failures:
        sys.exit(2)


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
@click.pass_context
@_fail_cleanly
def ingest(ctx: click.Context, inputs: tuple[Path, ...], entities: bool | None, workers: int, batch_size: int) -> None:
    """Ingest HTML files and folders, flattened .txt pages, JSONL/CSV articles and WARC/WET archives.

    Re-ingesting the same input adds nothing; an interrupted archive resumes after its last committed record.
    """
    store = open_store(ctx.obj["db"])
    try:
        with _progress("ingesting") as progress:
            stages = default_stages(entities=entities, n_process=workers)
            report = ingest_paths(list(inputs), store, stages=stages, batch_size=batch_size, progress=progress)
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
@click.pass_context
@_fail_cleanly
def search(ctx: click.Context, query: str, limit: int, output_format: str) -> None:
    """Full-text search: words, "exact phrases", OR, -exclusions."""
    from .store.sqlite import MATCH_END, MATCH_START

    store = open_store(ctx.obj["db"])
    try:
        hits = store.search(query, limit=limit)
    finally:
        store.close()
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
