"""Long fuzz run over every newsloom parser: at least 10,000 mutated real inputs per parser (tests/fuzzing.py).

    .venv/bin/python bench/fuzz.py                       # 10,000 inputs per parser, all parsers
    .venv/bin/python bench/fuzz.py --inputs 2000 --targets feed sitemap --seed 7 --workers 2

For each parser it prints the inputs tried, how many of them the parser accepted and refused with a documented
newsloom error, and the failures (anything else), grouped by exception with one reproducer each. Exit status 1 when
there is any failure.

Anchor, on the same inputs in the same run: the bare library a parser is built on (lxml for sitemaps and OPML,
feedparser for feeds, json for JSONL, csv for CSV, SQLite FTS5 MATCH for queries), counting how many inputs make it
raise. Those are the inputs newsloom has to turn into clear errors; ours must leave zero unhandled.
"""

from __future__ import annotations

import argparse
import collections
import io
import json
import random
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.fuzzing import TARGETS, TARGETS_BY_NAME, mutate, outcome_of, random_ops


# -- anchors: the bare libraries ------------------------------------------------------------------------------------
def _lxml(data: bytes) -> None:
    from lxml import etree

    etree.fromstring(data)


def _feedparser(data: bytes) -> None:
    import feedparser

    result = feedparser.parse(io.BytesIO(data))
    if result.get("bozo") and not result.entries:
        raise ValueError(str(result.get("bozo_exception")))


def _json_lines(data: bytes) -> None:
    for line in data.decode("utf-8").splitlines():
        if line.strip():
            json.loads(line)


def _csv(data: bytes) -> None:
    import csv

    list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))


_FTS = None


def _fts5_raw(data: bytes) -> None:
    global _FTS
    import sqlite3

    if _FTS is None:
        _FTS = sqlite3.connect(":memory:")
        _FTS.execute("CREATE VIRTUAL TABLE t USING fts5(body)")
        _FTS.execute("INSERT INTO t VALUES ('security council ceasefire gaza rafah')")
    _FTS.execute("SELECT count(*) FROM t WHERE t MATCH ?", (data.decode("utf-8", "replace"),)).fetchall()


ANCHORS = {"sitemap": ("lxml.etree", _lxml), "opml": ("lxml.etree", _lxml), "feed": ("feedparser", _feedparser),
           "jsonl": ("json", _json_lines), "csv": ("csv", _csv), "query": ("sqlite fts5", _fts5_raw)}


# -- the run --------------------------------------------------------------------------------------------------------
@dataclass
class TargetResult:
    name: str
    tried: int = 0
    accepted: int = 0
    refused: int = 0  # a documented newsloom error with a message
    failures: int = 0
    anchor_raised: int = 0
    seconds: float = 0.0
    refusal_kinds: collections.Counter = field(default_factory=collections.Counter)
    failure_examples: dict[str, str] = field(default_factory=dict)
    failure_counts: collections.Counter = field(default_factory=collections.Counter)

    def merge(self, other: TargetResult) -> None:
        for name in ("tried", "accepted", "refused", "failures", "anchor_raised"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.seconds = max(self.seconds, other.seconds)
        self.refusal_kinds.update(other.refusal_kinds)
        self.failure_counts.update(other.failure_counts)
        for key, value in other.failure_examples.items():
            self.failure_examples.setdefault(key, value)


def fuzz_target(name: str, inputs: int, seed: int) -> TargetResult:
    target = TARGETS_BY_NAME[name]
    seeds = target.seeds()
    rng = random.Random(f"{seed}:{name}")
    anchor = ANCHORS.get(name)
    result = TargetResult(name)
    started = time.perf_counter()
    for _ in range(inputs):
        ops = random_ops(rng)
        data = mutate(rng.choice(seeds), ops, rng.choice(seeds))
        result.tried += 1
        kind, detail = outcome_of(target, data)
        if kind == "failure":
            assert detail is not None
            result.failures += 1
            key = detail.splitlines()[0][:160]
            result.failure_counts[key] += 1
            result.failure_examples.setdefault(key, f"{detail}\n    input[:300]={data[:300]!r}")
        elif kind == "refused":
            result.refused += 1
            result.refusal_kinds[detail] += 1
        else:
            result.accepted += 1
        if anchor is not None:
            try:
                anchor[1](data)
            except Exception:  # noqa: BLE001  (the anchor's raw behaviour is what we count)
                result.anchor_raised += 1
    result.seconds = time.perf_counter() - started
    return result


def _run_chunk(args: tuple[str, int, int]) -> TargetResult:
    name, inputs, seed = args
    return fuzz_target(name, inputs, seed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=int, default=10_000, help="inputs per parser (default 10,000)")
    parser.add_argument("--targets", nargs="*", default=[t.name for t in TARGETS], choices=[t.name for t in TARGETS])
    parser.add_argument("--seed", type=int, default=20240326)
    parser.add_argument("--workers", type=int, default=1, help="processes (each parser's inputs split between them)")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    options = parser.parse_args(argv)

    chunks = []
    for name in options.targets:
        share, rest = divmod(options.inputs, options.workers)
        for worker in range(options.workers):
            count = share + (1 if worker < rest else 0)
            if count:
                chunks.append((name, count, options.seed * 1000 + worker))
    results: dict[str, TargetResult] = {name: TargetResult(name) for name in options.targets}
    started = time.perf_counter()
    if options.workers > 1:
        with ProcessPoolExecutor(options.workers) as pool:
            for result in pool.map(_run_chunk, chunks):
                results[result.name].merge(result)
    else:
        for chunk in chunks:
            result = _run_chunk(chunk)
            results[result.name].merge(result)
            print(f"  {result.name}: {result.tried} inputs in {result.seconds:.1f} s", file=sys.stderr, flush=True)
    elapsed = time.perf_counter() - started

    print(f"\nnewsloom fuzz run: seed {options.seed}, {options.inputs} inputs per parser, {elapsed:.0f} s\n")
    print(f"{'parser':16} {'tried':>7} {'accepted':>9} {'refused':>8} {'FAILURES':>9}   anchor (same inputs)")
    for result in results.values():
        anchor = ANCHORS.get(result.name)
        anchor_text = f"{anchor[0]} raised on {result.anchor_raised}" if anchor else "-"
        print(f"{result.name:16} {result.tried:7d} {result.accepted:9d} {result.refused:8d} {result.failures:9d}   "
              f"{anchor_text}")
    for result in results.values():
        if result.refusal_kinds:
            kinds = ", ".join(f"{kind} {count}" for kind, count in result.refusal_kinds.most_common())
            print(f"  {result.name} refusals: {kinds}")
    total_failures = sum(r.failures for r in results.values())
    for result in results.values():
        for key, count in result.failure_counts.most_common():
            print(f"\nFAILURE in {result.name} ({count} inputs): {result.failure_examples[key]}")
    print(f"\ntotal: {sum(r.tried for r in results.values())} inputs, {total_failures} failures")
    if options.json:
        options.json.write_text(json.dumps({
            "seed": options.seed, "seconds": round(elapsed, 1),
            "parsers": {r.name: {"tried": r.tried, "accepted": r.accepted, "refused": r.refused,
                                 "failures": r.failures, "anchor_raised": r.anchor_raised,
                                 "anchor": ANCHORS[r.name][0] if r.name in ANCHORS else None}
                        for r in results.values()},
        }, indent=2))
    return 1 if total_failures else 0


if __name__ == "__main__":
    sys.exit(main())
