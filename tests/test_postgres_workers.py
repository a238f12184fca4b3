"""Several ingest workers against one PostgreSQL store at once: no duplicates, no lost articles."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from newsloom.store import open_store
from newsloom.store.postgres import POSTGRES_MIGRATIONS

from .postgres_server import fresh_database, postgres_server

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture(scope="module")
def server_dsn():
    with postgres_server() as dsn:
        yield dsn


def write_records(path, numbers):
    with path.open("w", encoding="utf-8") as handle:
        for n in numbers:
            handle.write(json.dumps({
                "url": f"https://wire.example/story/{n}",
                "title": f"Wire story {n}",
                "text": f"Paragraph one of wire story {n}.\n\nParagraph two with detail {n * 7}.",
                "published_at": f"2024-03-{1 + n % 28:02d}T12:00:00Z",
                "source": "wire",
            }) + "\n")


def test_three_workers_with_overlapping_inputs(tmp_path, server_dsn):
    dsn = fresh_database(server_dsn)
    open_store(dsn).close()  # migrate once up front is not required, but workers racing on it must also be safe
    inputs = []
    # Worker k ingests stories 100k .. 100k+199: each overlaps its neighbour by 100 articles.
    for worker in range(3):
        path = tmp_path / f"worker{worker}.jsonl"
        write_records(path, range(worker * 100, worker * 100 + 200))
        inputs.append(path)
    processes = [
        subprocess.Popen([sys.executable, "-m", "newsloom", "--db", dsn, "ingest", str(path)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for path in inputs
    ]
    outputs = [p.communicate(timeout=180) for p in processes]
    assert all(p.returncode == 0 for p in processes), outputs
    store = open_store(dsn)
    try:
        assert store.stats().articles == 400  # stories 0..399, each once
        ids = {a.url for a in store.latest_articles(limit=1000)}
        assert ids == {f"https://wire.example/story/{n}" for n in range(400)}
    finally:
        store.close()
    inserted = sum(int(out.split(": ")[1].split(" new")[0]) for out, _ in outputs)
    assert inserted == 400, outputs


def test_workers_racing_on_migrations(server_dsn):
    dsn = fresh_database(server_dsn)
    code = "import sys; from newsloom.store import open_store; open_store(sys.argv[1]).close()"
    processes = [subprocess.Popen([sys.executable, "-c", code, dsn], stderr=subprocess.PIPE, text=True) for _ in range(4)]
    errors = [p.communicate(timeout=60)[1] for p in processes]
    assert all(p.returncode == 0 for p in processes), errors
    store = open_store(dsn)
    assert store.applied_migrations() == [name for name, _ in POSTGRES_MIGRATIONS]  # each exactly once
    store.close()
