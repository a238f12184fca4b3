"""The batch contract behind ``newsloom stories cluster INPUT.jsonl --out OUT.jsonl``.

Input: one JSON object per line, ``{"id", "title", "text", "published_at"?, "url"?}``, processed in the
order given (blank lines are skipped). Output: ``{"id", "story_id"}`` per input record, in the same order.
A bad line raises ``InputError`` naming its line number, and no output file is left behind.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from newsloom.errors import InputError, InputTooLargeError
from newsloom.stories.clusterer import StoryClusterer, StoryOptions

__all__ = ["cluster_jsonl", "MAX_LINE_BYTES"]

MAX_LINE_BYTES = 16 * 1024 * 1024


def _parse_time(value: Any, line_number: int) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InputError(f"line {line_number}: published_at must be an ISO 8601 string")
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        raise InputError(f"line {line_number}: published_at {value[:40]!r} is not ISO 8601") from None


def _parse_line(raw: bytes, line_number: int) -> dict[str, Any] | None:
    if len(raw) > MAX_LINE_BYTES:
        raise InputTooLargeError(f"line {line_number}: over {MAX_LINE_BYTES} bytes")
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"line {line_number}: not UTF-8") from None
    if not line.strip():
        return None
    try:
        record = json.loads(line)
    except (json.JSONDecodeError, RecursionError) as error:
        raise InputError(f"line {line_number}: not valid JSON ({str(error)[:80]})") from None
    if not isinstance(record, dict):
        raise InputError(f"line {line_number}: expected a JSON object")
    article_id = record.get("id")
    if isinstance(article_id, int) and not isinstance(article_id, bool):
        article_id = str(article_id)
    if not isinstance(article_id, str) or not article_id.strip():
        raise InputError(f"line {line_number}: missing or empty 'id'")
    for key in ("title", "text"):
        if record.get(key) is not None and not isinstance(record[key], str):
            raise InputError(f"line {line_number}: '{key}' must be a string")
    if not (record.get("title") or record.get("text")):
        raise InputError(f"line {line_number}: needs a 'title' or a 'text'")
    record["id"] = article_id
    record["published_at"] = _parse_time(record.get("published_at"), line_number)
    return record


def cluster_jsonl(
    in_path: str | os.PathLike[str], out_path: str | os.PathLike[str], options: StoryOptions | None = None
) -> StoryClusterer:
    """Cluster the articles of ``in_path`` in file order and write ``{id, story_id}`` lines to ``out_path``.

    Returns the clusterer (its live stories and ``pop_archived`` records) for callers that want the stories.
    """
    source, target = Path(in_path), Path(out_path)
    if not source.is_file():
        raise InputError(f"{source}: no such file")
    clusterer = StoryClusterer(options)
    partial = target.with_name(target.name + ".partial")
    try:
        with source.open("rb") as lines, partial.open("w", encoding="utf-8") as out:
            for line_number, raw in enumerate(lines, start=1):
                record = _parse_line(raw, line_number)
                if record is None:
                    continue
                assignment = clusterer.add(
                    record["id"], record.get("title") or "", record.get("text") or "", record["published_at"]
                )
                out.write(json.dumps({"id": record["id"], "story_id": assignment.story_id}) + "\n")
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return clusterer
