"""The CLI as a user runs it: real processes for the documented commands, real SQLite files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "fixtures" / "text" / "flattened-news-page.txt"
NEWSLOOM = [sys.executable, "-m", "newsloom"]


def run(*args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*NEWSLOOM, *args], capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})}, cwd=cwd
    )


def fixture_article_blocks() -> list[str]:
    blocks = FIXTURE.read_text(encoding="utf-8").split("\n\n")
    start = next(i for i, b in enumerate(blocks) if b.startswith("The tension between the United States"))
    end = next(i for i, b in enumerate(blocks) if b.endswith("growing increasingly uncertain."))
    return blocks[start : end + 1]


def test_extract_fixture_json_contract():
    result = run("extract", str(FIXTURE), "--format", "json")
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["source"] == str(FIXTURE)
    assert record["url"] is None
    assert record["title"] == "Netanyahu Calls Off U.S.-Israel Talks on Rafah in Response to Cease-Fire Resolution"
    assert record["author"] is None
    assert record["published_at"] is None and record["published_at_source"] == "unknown"
    assert record["text"] == "\n\n".join(fixture_article_blocks())
    assert len(record["text"].split("\n\n")) == 9
    for furniture in ("Advertisement", "Share post", "Subscribe", "Popular", "More like this", "Related"):
        assert furniture not in record["text"]
    assert [t["title"] for t in record["teasers"]] == [
        "This Halloween, the Most Terrifying Costume Isn’t Vampires or Werewolves—It’s a Money Printer",
        "The Fascination with Vampires: Exploring the Obsession",
        "Navy veteran’s defamation lawsuit against CNN moves closer to trial as judge considers motions for summary judgment",
        "Argentina’s Milei dismisses foreign minister for disagreeing with US embargo on Cuba",
    ]
    assert record["teasers"][0]["excerpt"] == "The Real Monster of Halloween 2024: The Fiat Currency"
    assert not any(t["excerpt"].endswith(("...", "…")) for t in record["teasers"])
    for key in ("language", "canonical_url", "site_name", "image", "page_type", "published_at_confidence"):
        assert key in record


def test_extract_jsonl_and_text_formats_and_failures(tmp_path):
    page = tmp_path / "page.html"
    page.write_text(
        "<html lang='en'><head><title>Harbour strike ends</title></head><body><article><h1>Harbour strike ends</h1>"
        + "".join(f"<p>Dock workers returned on day {n} after the port authority agreed to a new contract, "
                  f"ending the longest stoppage in the harbour's history, officials said.</p>" for n in range(6))
        + "</article></body></html>"
    )
    empty = tmp_path / "empty.html"
    empty.write_bytes(b"")
    result = run("extract", str(FIXTURE), str(page), str(empty), "--format", "jsonl")
    assert result.returncode == 2  # one input failed; the others were still printed
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["source"] for r in lines] == [str(FIXTURE), str(page)]
    assert "empty.html" in result.stderr
    text = run("extract", str(page), "--format", "text")
    assert text.returncode == 0 and text.stdout.startswith("# Harbour strike ends")


def test_ingest_is_idempotent_and_search_and_stats_work(tmp_path):
    db = tmp_path / "cli.db"
    data = tmp_path / "articles.jsonl"
    data.write_text("\n".join(json.dumps({
        "url": f"https://news.example/{n}", "title": f"Harbour report {n}",
        "text": f"The harbour master said ships were waiting. Report number {n}.", "published_at": None,
        "source": "test"}) for n in range(5)) + "\n")
    first = run("--db", str(db), "ingest", str(data), str(FIXTURE))
    assert first.returncode == 0, first.stderr
    assert "6 new" in first.stdout
    second = run("ingest", str(data), str(FIXTURE), env={"NEWSLOOM_DB": str(db)})
    assert "0 new" in second.stdout and "6 unchanged" in second.stdout
    found = run("--db", str(db), "search", "netanyahu gallant", "--format", "jsonl")
    assert found.returncode == 0
    titles = [json.loads(line)["title"] for line in found.stdout.splitlines()]
    assert titles == ["Netanyahu Calls Off U.S.-Israel Talks on Rafah in Response to Cease-Fire Resolution"]
    stats = run("--db", str(db), "stats")
    assert "articles:           6" in stats.stdout


def test_bad_query_and_bad_db_get_clean_errors(tmp_path):
    db = tmp_path / "q.db"
    result = run("--db", str(db), "search", '"unclosed')
    assert result.returncode == 2
    assert "unclosed quote" in result.stderr and "Traceback" not in result.stderr
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database" * 50)
    result = run("--db", str(junk), "stats")
    assert result.returncode == 3 and "Traceback" not in result.stderr


def test_help_lists_the_commands():
    result = run("--help")
    for command in ("extract", "ingest", "search", "serve", "stats"):
        assert command in result.stdout


def test_analyze_fixture_entities_keyphrases_summary():
    pytest.importorskip("spacy", reason="named entities need the nlp extra (pip install 'newsloom[nlp]')")
    result = run("analyze", str(FIXTURE), "--format", "jsonl")
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["text"] == "\n\n".join(fixture_article_blocks())  # the extract fields are all there
    entities = {(e["name"], e["type"]) for e in record["entities"]}
    for name, kinds in [("Benjamin Netanyahu", {"PERSON"}), ("Joe Biden", {"PERSON"}), ("Yoav Gallant", {"PERSON"}),
                        ("Rafah", {"GPE", "LOC"}), ("Gaza", {"GPE", "LOC"}), ("Israel", {"GPE", "LOC"}),
                        ("United States", {"GPE", "LOC"}), ("Washington", {"GPE", "LOC"}), ("Hamas", {"ORG"}),
                        ("United Nations Security Council", {"ORG"})]:
        assert any((name, kind) in entities for kind in kinds), f"{name} missing from {sorted(entities)}"
    assert not any(name == "Netanyahu" for name, _ in entities)  # resolved to the full name
    assert record["language"] == "en"
    assert record["keyphrases"] and record["summary"].startswith("The tension between")


def test_stories_cluster_contract_and_list(tmp_path):
    sample = REPO / "tests" / "fixtures" / "news" / "ecbplus-sample.jsonl"
    records = [json.loads(line) for line in sample.read_text(encoding="utf-8").splitlines() if line.strip()]
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(json.dumps({"id": f"doc{n}", "title": r["title"], "text": r["text"]})
                                for n, r in enumerate(records)) + "\n")
    out = tmp_path / "out.jsonl"
    result = run("stories", "cluster", str(source), "--out", str(out))
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["id"] for line in lines] == [f"doc{n}" for n in range(len(records))]
    assert all(line["story_id"] for line in lines)
    assert 1 < len({line["story_id"] for line in lines}) < len(records)  # some grouping, not one blob
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "text": "x"}\nnot json\n')
    failed = run("stories", "cluster", str(bad), "--out", str(tmp_path / "x.jsonl"))
    assert failed.returncode == 2 and "line 2" in failed.stderr
    db = tmp_path / "s.db"
    data = tmp_path / "articles.jsonl"
    data.write_text("\n".join(json.dumps({"url": r.get("url") or f"https://ecb.example/{n}", "title": r["title"],
                                          "text": r["text"]}) for n, r in enumerate(records)) + "\n")
    assert run("--db", str(db), "ingest", str(data), "--no-entities").returncode == 0
    listed = run("--db", str(db), "stories", "list", "--format", "jsonl")
    stories = [json.loads(line) for line in listed.stdout.splitlines()]
    assert stories and sum(s["articles"] for s in stories) == len(records)
