"""Duplicate detection: pair precision/recall on real articles, and throughput against datasketch MinHashLSH.

Quality corpus (all real text from ../shared/data/news, see each folder's SOURCE.txt):
  * exact groups: Reuters-21578 wires sharing a whitespace-normalised body, BBC articles that are byte-identical;
  * rewrites generated here from real BBC and Reuters articles at controlled rates of sentences kept
    (100/90/80/70/60/50%), each also given boilerplate, paragraph reordering, sentence edits and new headlines
    at fixed probabilities (seeded);
  * negatives: ECB+ articles on the same event from different outlets (same event_cluster, different docs),
    which must NOT be merged, and random pairs from the whole corpus.
Everything is fed through ``newsloom.dedup.find_duplicates`` in one run; a labelled pair is predicted positive
when both documents end up in the same group.

Throughput: the same 20,000 Reuters articles through newsloom's full dedup (normalise, shingle, MinHash, LSH,
verification, grouping) and through datasketch (MinHash.bulk + MinHashLSH query/insert, candidates only, no
verification) with the same num_perm, bands and shingle size and the same tokenisation.

    .venv/bin/python bench/dedup.py [--seed 20240601] [--per-rate 300] [--throughput-docs 20000]
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import html
import itertools
import json
import random
import re
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from newsloom.dedup import DedupOptions, find_duplicates, normalized_words

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "news"
RATES = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5)


@dataclass(slots=True)
class Doc:
    id: str
    title: str
    body: str
    published_at: datetime | None = None
    label: str = ""  # event cluster for ECB+

    @property
    def text(self) -> str:
        return f"{self.title}\n\n{self.body}" if self.title else self.body


# ------------------------------------------------------------------------------------------------ loading

_REUTERS = re.compile(r"<REUTERS[^>]*NEWID=\"(\d+)\">(.*?)</REUTERS>", re.S)


def _tag(block: str, name: str) -> str:
    found = re.search(rf"<{name}>(.*?)</{name}>", block, re.S)
    return html.unescape(found.group(1)).strip() if found else ""


def _reuters_date(value: str) -> datetime | None:
    """'26-FEB-1987 15:01:01.79'; a few wires have a garbled time ('605:12:19'): then the day alone."""
    try:
        return datetime.strptime(value.split(".")[0], "%d-%b-%Y %H:%M:%S")
    except ValueError:
        try:
            return datetime.strptime(value.split()[0], "%d-%b-%Y")
        except (ValueError, IndexError):
            return None


def load_reuters() -> list[Doc]:
    """Reuters wires with a BODY; paragraphs (indented lines) become blank-line separated."""
    docs = []
    for path in sorted((DATA / "reuters21578").glob("reut2-*.sgm")):
        for newid, block in _REUTERS.findall(path.read_text(encoding="latin-1")):
            body = _tag(block, "BODY")
            if not body:
                continue
            body = re.sub(r"\s*Reuter\s*\x03?\s*$", "", body)  # the wire's sign-off is not article text
            paragraphs = [" ".join(p.split()) for p in re.split(r"\n {3,}", body)]
            date = _reuters_date(_tag(block, "DATE"))
            docs.append(Doc(f"reuters-{newid}", _tag(block, "TITLE"), "\n\n".join(p for p in paragraphs if p), date))
    return docs


def load_bbc() -> list[Doc]:
    docs = []
    for path in sorted((DATA / "bbc-fulltext" / "bbc").glob("*/*.txt")):
        raw = path.read_bytes()
        lines = raw.decode("utf-8", "replace").strip().split("\n", 1)
        docs.append(Doc(f"bbc-{path.parent.name}-{path.stem}", lines[0].strip(), lines[1].strip() if len(lines) > 1 else ""))
    return docs


def load_ecbplus() -> list[Doc]:
    docs = []
    with open(DATA / "ecbplus" / "ecbplus_docs.jsonl", encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            # The first text line is the headline; keep the text whole, as a flattened page would give it.
            docs.append(Doc(f"ecb-{record['doc_name']}", "", record["text"], None, record["event_cluster"]))
    return docs


def exact_groups_reuters(docs: list[Doc]) -> list[list[str]]:
    """Groups with identical whitespace-normalised BODY (as SOURCE.txt counts them)."""
    by_body: dict[str, list[str]] = defaultdict(list)
    for doc in docs:
        by_body[" ".join(doc.body.split())].append(doc.id)
    return [ids for ids in by_body.values() if len(ids) > 1]


def exact_groups_bbc() -> list[list[str]]:
    """Groups of byte-identical files (md5 of stripped bytes, as SOURCE.txt counts them)."""
    by_hash: dict[str, list[str]] = defaultdict(list)
    for path in sorted((DATA / "bbc-fulltext" / "bbc").glob("*/*.txt")):
        by_hash[hashlib.md5(path.read_bytes().strip()).hexdigest()].append(f"bbc-{path.parent.name}-{path.stem}")
    return [ids for ids in by_hash.values() if len(ids) > 1]


# ------------------------------------------------------------------------------------------------ rewrites

_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)]*\s+(?=[\"'“‘(]?[A-Z0-9])")
BOILERPLATE_HEAD = [
    "Advertisement",
    "Share this article: Facebook Twitter LinkedIn Email Print",
    "Listen to this article 4 min",
    "This story has been updated with additional details.",
    "From our wire services",
]
BOILERPLATE_TAIL = [
    "Copyright 2024 The Daily Courier. All rights reserved. This material may not be published, broadcast, "
    "rewritten or redistributed.",
    "Sign up for our morning newsletter to get the day's top stories delivered to your inbox.",
    "Reporting by staff writers; editing by the news desk.",
    "Have a news tip? Contact our newsroom at any time of day.",
    "Related coverage: more stories from this section.",
    "Follow us on social media for the latest updates.",
]
EDIT_WORDS = ["reportedly", "also", "now", "officially", "still", "recently", "further", "on Monday"]
HEADLINE_PREFIXES = ["UPDATE 1-", "Breaking: ", "Analysis: ", "WATCH: ", ""]


def split_sentences(paragraph: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(paragraph) if s.strip()]


def _edit_sentence(sentence: str, rng: random.Random) -> str:
    words = sentence.split()
    if len(words) < 4:
        return sentence
    position = rng.randrange(1, len(words))
    action = rng.choice(("insert", "delete", "replace"))
    if action == "insert":
        words.insert(position, rng.choice(EDIT_WORDS))
    elif action == "delete":
        del words[position]
    else:
        words[position] = rng.choice(EDIT_WORDS)
    return " ".join(words)


def _new_headline(title: str, rng: random.Random) -> str:
    words = title.split()
    if len(words) > 3 and rng.random() < 0.5:
        del words[rng.randrange(len(words))]
    headline = rng.choice(HEADLINE_PREFIXES) + " ".join(words)
    return headline.lower().capitalize() if rng.random() < 0.3 else headline


def rewrite(doc: Doc, rate: float, rng: random.Random) -> Doc:
    """A copy keeping ``rate`` of the sentences (truncated or scattered), plus the usual syndication changes."""
    paragraphs = [split_sentences(p) for p in doc.body.split("\n\n")]
    positions = [(p, s) for p, sentences in enumerate(paragraphs) for s in range(len(sentences))]
    keep_count = max(1, round(rate * len(positions)))
    if rng.random() < 0.5:
        kept = set(positions[:keep_count])  # truncated copy
    else:
        kept = set(rng.sample(positions, keep_count))  # paragraphs/sentences dropped here and there
    new_paragraphs = []
    for p, sentences in enumerate(paragraphs):
        chosen = [
            _edit_sentence(sentence, rng) if rng.random() < 0.1 else sentence
            for s, sentence in enumerate(sentences)
            if (p, s) in kept
        ]
        if chosen:
            new_paragraphs.append(" ".join(chosen))
    if len(new_paragraphs) > 2 and rng.random() < 0.3:  # reorder: move one paragraph elsewhere
        moved = new_paragraphs.pop(rng.randrange(1, len(new_paragraphs)))
        new_paragraphs.insert(rng.randrange(0, len(new_paragraphs) + 1), moved)
    if rng.random() < 0.5:
        new_paragraphs.insert(0, rng.choice(BOILERPLATE_HEAD))
    if rng.random() < 0.5:
        new_paragraphs.extend(rng.sample(BOILERPLATE_TAIL, rng.randint(1, 2)))
    title = _new_headline(doc.title, rng) if rng.random() < 0.5 else doc.title
    published = doc.published_at + timedelta(hours=rng.randint(1, 48)) if doc.published_at else None
    return Doc(f"{doc.id}-copy{int(rate * 100)}", title, "\n\n".join(new_paragraphs), published)


def sentence_count(doc: Doc) -> int:
    return sum(len(split_sentences(p)) for p in doc.body.split("\n\n"))


# ------------------------------------------------------------------------------------------------ evaluation


def pair_key(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)


def longest_shared_run(words_a: list[bytes], words_b: list[bytes]) -> int:
    """Longest run of consecutive words two texts share verbatim (difflib; independent of shingles/MinHash)."""
    matcher = difflib.SequenceMatcher(None, words_a, words_b, autojunk=False)
    return matcher.find_longest_match(0, len(words_a), 0, len(words_b)).size


def evaluate(
    groups: dict[str, str],
    pairs: dict[str, list[tuple[str, str]]],
    negatives: dict[str, list[tuple[str, str]]],
    shared_wire: list[tuple[str, str]],
) -> None:
    def same(a: str, b: str) -> bool:
        return groups[a] == groups[b]

    false_positives = {name: sum(same(a, b) for a, b in neg) for name, neg in negatives.items()}
    all_fp = sum(false_positives.values())
    wire_merged = sum(same(a, b) for a, b in shared_wire)
    print(f"\n{'positive pairs':<30}{'pairs':>7}{'recall':>9}{'precision':>11}{'strict':>9}")
    rows = list(pairs.items())
    at_least_70 = [p for name, ps in rows if not name.startswith("rewrite") or int(name.split()[-1][:-1]) >= 70 for p in ps]
    rows.append(("ALL exact + rewrites >=70%", at_least_70))
    for name, positive in rows:
        tp = sum(same(a, b) for a, b in positive)
        print(f"{name:<30}{len(positive):>7}{tp / len(positive):>9.3f}{tp / max(1, tp + all_fp):>11.4f}"
              f"{tp / max(1, tp + all_fp + wire_merged):>9.4f}")
    print("precision = TP / (TP + merged labelled negatives below); strict also counts every merged ECB+ pair\n"
          "sharing wire text as a false positive (the brief's literal reading)")
    print(f"\n{'negative pairs':<58}{'pairs':>7}{'merged':>8}")
    for name, negative in negatives.items():
        print(f"{name:<58}{len(negative):>7}{false_positives[name]:>8}")
    print(f"{'(not a negative) ECB+ same event, sharing >= 20-word run':<58}{len(shared_wire):>7}{wire_merged:>8}")


def run_quality(seed: int, per_rate: int, options: DedupOptions) -> None:
    rng = random.Random(seed)
    reuters, bbc, ecb = load_reuters(), load_bbc(), load_ecbplus()
    exact_reuters, exact_bbc = exact_groups_reuters(reuters), exact_groups_bbc()
    in_exact = {i for g in exact_reuters + exact_bbc for i in g}
    print(f"corpus: {len(reuters)} Reuters wires with a body, {len(bbc)} BBC, {len(ecb)} ECB+; "
          f"exact groups: Reuters {len(exact_reuters)}, BBC {len(exact_bbc)}")

    # Originals for rewrites: unique articles with enough sentences for the rates to mean something.
    sources = [d for d in bbc + reuters if d.id not in in_exact and sentence_count(d) >= 6]
    originals = rng.sample(sources, per_rate * len(RATES))
    rewrites: list[Doc] = []
    pairs: dict[str, list[tuple[str, str]]] = {
        "exact Reuters": [pair_key(a, b) for g in exact_reuters for a, b in itertools.combinations(g, 2)],
        "exact BBC": [pair_key(a, b) for g in exact_bbc for a, b in itertools.combinations(g, 2)],
    }
    for r, rate in enumerate(RATES):
        name = f"rewrite kept {int(rate * 100)}%"
        pairs[name] = []
        for original in originals[r * per_rate : (r + 1) * per_rate]:
            copy = rewrite(original, rate, rng)
            rewrites.append(copy)
            pairs[name].append(pair_key(original.id, copy.id))

    corpus = reuters + bbc + ecb + rewrites
    rng.shuffle(corpus)  # ingest order must not matter for the scores

    # ECB+: different outlets on one event. Some are the same wire story lightly edited (they share whole
    # sentences verbatim); those are copies by newsloom's definition and are reported apart, not as negatives.
    by_cluster: dict[str, list[Doc]] = defaultdict(list)
    for doc in ecb:
        by_cluster[doc.label].append(doc)
    own_writing, shared_wire = [], []
    for docs in by_cluster.values():
        for a, b in itertools.combinations(docs, 2):
            run = longest_shared_run(normalized_words(a.text), normalized_words(b.text))
            (shared_wire if run >= 20 else own_writing).append(pair_key(a.id, b.id))
    positive_set = {p for ps in pairs.values() for p in ps}
    ids = [d.id for d in corpus]
    random_pairs = []
    while len(random_pairs) < 200_000:
        a, b = rng.sample(ids, 2)
        if pair_key(a, b) not in positive_set:
            random_pairs.append(pair_key(a, b))
    negatives = {
        "ECB+ same event, own writing (shared run < 20 words)": own_writing,
        "random pairs": random_pairs,
    }

    started = time.perf_counter()
    result = find_duplicates([(d.id, d.text, d.published_at) for d in corpus], options)
    elapsed = time.perf_counter() - started
    groups = {doc_id: canonical or doc_id for doc_id, canonical in result.items()}
    print(f"find_duplicates over {len(corpus)} docs: {elapsed:.1f} s, {sum(c is not None for c in result.values())} "
          f"marked duplicate")
    evaluate(groups, pairs, negatives, shared_wire)

    by_id = {d.id: d for d in corpus}
    merged_negatives = [p for neg in negatives.values() for p in neg if groups[p[0]] == groups[p[1]]]
    print(f"\nmerged labelled negatives: {len(merged_negatives)}")
    for a, b in merged_negatives[:6]:
        print(f"  {a}: {by_id[a].text[:100]!r}\n  {b}: {by_id[b].text[:100]!r}")

    # Merges outside the labelled pairs (Reuters corrections, repeated stories, templates): counted, with examples.
    members: dict[str, list[str]] = defaultdict(list)
    for doc_id, canonical in groups.items():
        members[canonical].append(doc_id)
    labelled = positive_set | set(shared_wire)
    unlabelled = [
        pair_key(a, b)
        for group in members.values()
        for a, b in itertools.combinations(group, 2)
        if pair_key(a, b) not in labelled
    ]
    print(f"\nmerged pairs outside the labelled pairs: {len(unlabelled)} (no gold label; a seeded sample below)")
    for a, b in rng.sample(unlabelled, min(8, len(unlabelled))):
        print(f"  {a}: {by_id[a].text[:100]!r}\n  {b}: {by_id[b].text[:100]!r}")


# ------------------------------------------------------------------------------------------------ throughput


def _shingle_strings(text: str, size: int, max_words: int) -> list[bytes]:
    """datasketch gets newsloom's own tokeniser (same words, same cost), so only MinHash + LSH differ."""
    words = normalized_words(text)[:max_words]
    if len(words) < size:
        return [b" ".join(words)] if words else []
    return [b" ".join(words[i : i + size]) for i in range(len(words) - size + 1)]


def run_throughput(count: int, options: DedupOptions, repeats: int) -> None:
    from datasketch import MinHash, MinHashLSH

    docs = load_reuters()[:count]
    items = [(d.id, d.text, d.published_at) for d in docs]
    print(f"\nthroughput on {len(items)} Reuters articles (num_perm={options.num_perm}, bands={options.bands}, "
          f"rows={options.rows_per_band}, {options.shingle_size}-word shingles)")

    def clock(run) -> tuple[float, float, object]:
        wall, cpu = time.perf_counter(), time.process_time()
        result = run()
        return time.perf_counter() - wall, time.process_time() - cpu, result

    def theirs() -> int:
        lsh = MinHashLSH(num_perm=options.num_perm, params=(options.bands, options.rows_per_band))
        shingles = (_shingle_strings(text, options.shingle_size, options.max_words) for _, text, _ in items)
        with_candidates = 0
        for (doc_id, _, _), minhash in zip(items, MinHash.generator(shingles, num_perm=options.num_perm)):
            with_candidates += bool(lsh.query(minhash))
            lsh.insert(doc_id, minhash)
        return with_candidates

    # Alternate the two, best of `repeats` each: the machine is shared, so single timings are noisy.
    ours_runs, theirs_runs = [], []
    for _ in range(repeats):
        ours_runs.append(clock(lambda: find_duplicates(items, options)))
        theirs_runs.append(clock(theirs))
    ours_wall, ours_cpu, ours = min(ours_runs, key=lambda run: run[1])
    theirs_wall, theirs_cpu, with_candidates = min(theirs_runs, key=lambda run: run[1])
    ours_duplicates = sum(c is not None for c in ours.values())
    n = len(items)
    print(f"  {'':42}{'docs/s (CPU)':>14}{'docs/s (wall)':>15}")
    print(f"  {'newsloom full dedup (with verification)':42}{n / ours_cpu:>14,.0f}{n / ours_wall:>15,.0f}"
          f"   {ours_duplicates} duplicates")
    print(f"  {'datasketch MinHashLSH (candidates only)':42}{n / theirs_cpu:>14,.0f}{n / theirs_wall:>15,.0f}"
          f"   {with_candidates} docs with a candidate")
    print(f"  speed-up: {theirs_cpu / ours_cpu:.1f}x CPU time, {theirs_wall / ours_wall:.1f}x wall time "
          f"(best of {repeats} alternating runs each)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--per-rate", type=int, default=300, help="rewritten articles per rate of sentences kept")
    parser.add_argument("--throughput-docs", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each contender (best is kept)")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args()
    if not DATA.is_dir():
        sys.exit(f"skipped: {DATA} not found (the shared evaluation data is not on this machine)")
    options = DedupOptions()
    print(f"seed {args.seed}; options {options}")
    if not args.skip_quality:
        run_quality(args.seed, args.per_rate, options)
    if not args.skip_throughput:
        run_throughput(args.throughput_docs, options, args.repeats)


if __name__ == "__main__":
    main()
