"""Story clustering and related-articles benchmark: newsloom's StoryClusterer next to a TF-IDF anchor, same run.

    .venv/bin/python bench/stories.py                 # quality on the three labelled sets (about a minute)
    .venv/bin/python bench/stories.py --speed         # plus throughput with 100,000 live stories (a few minutes)
    .venv/bin/python bench/stories.py --set join_similarity=0.45   # try other options (same on every set)

Data (../shared/data/news, read each SOURCE.txt): ECB+ (ecbplus_docs.jsonl, gold = event_cluster, no dates:
file order, and the mean over 5 shuffles since the published anchor was measured on shuffled order),
Giveme5W1H News-Cluster (news_cluster_clean.jsonl, gold = event_id, date order) and GVA SemEval-2018 task 5
(gva_news.jsonl, gold = incident_id, date order). The clusterer sees id, title, text and date only: never a
label, file name or URL.

Anchor (computed here, not quoted): TF-IDF single-pass centroid, cosine >= 0.20, sublinear TF over title+text,
English stop words, IDF fitted on the whole set beforehand (an advantage a stream does not have). On GVA it is
also run as in its SOURCE.txt (7-day window, thresholds 0.20 and 0.30). Related-articles anchor: TF-IDF cosine
nearest neighbours. P@5 = relevant in top 5 / min(5, relevant), over articles with at least one relevant.

Speed (--speed): 100,000 live stories are built through ``add`` from real text only (runs of two consecutive
sentences of Reuters-21578, GVA and BBC articles, shuffled with a fixed seed; see ``known_story_texts``), then
10,000 real Reuters wires (held out of the known stories) are assigned and timed. Wall-clock and CPU rates are
printed with the load average, since the machine's cores are shared. The anchor's rate (exhaustive single-pass,
with only 1,000 known stories) is printed in the same run; the memory bound is shown by streaming all Reuters
wires with a 7-day window and reporting the largest live set.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import resource
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

from newsloom.stories import StoryClusterer, StoryOptions
from newsloom.stories.text import STOPWORDS

NEWS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "news"


@dataclass(slots=True)
class Doc:
    id: str
    title: str
    text: str
    published_at: datetime | None
    gold: str


# ---------------------------------------------------------------------------------------------- data


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value).replace(tzinfo=timezone.utc)


def load_ecbplus() -> list[Doc]:
    rows = [json.loads(line) for line in (NEWS / "ecbplus" / "ecbplus_docs.jsonl").open(encoding="utf-8")]
    # Ids are positions, not doc_name: file names encode the gold labels.
    return [Doc(f"e{index}", row["title"], row["text"], None, row["event_cluster"]) for index, row in enumerate(rows)]


def load_news_cluster() -> list[Doc]:
    path = NEWS / "giveme5w1h-news-cluster" / "news_cluster_clean.jsonl"
    rows = [json.loads(line) for line in path.open(encoding="utf-8")]
    docs = [
        Doc(f"n{index}", row["title"] or "", row["text"] or "", _date(row["date"]), str(row["event_id"]))
        for index, row in enumerate(rows)
    ]
    return sorted(docs, key=lambda doc: doc.published_at or datetime.min.replace(tzinfo=timezone.utc))


def load_gva() -> list[Doc]:
    path = NEWS / "gva-semeval2018-task5" / "gva_news.jsonl"
    rows = [json.loads(line) for line in path.open(encoding="utf-8")]
    docs = [
        Doc(f"g{index}", row["title"] or "", row["text"] or "", _date(row["date"]), str(row["incident_id"]))
        for index, row in enumerate(rows)
    ]
    return sorted(docs, key=lambda doc: doc.published_at or datetime.min.replace(tzinfo=timezone.utc))


# ---------------------------------------------------------------------------------------------- metrics


def cluster_scores(predicted: Sequence[str], gold: Sequence[str]) -> dict[str, float]:
    """B-cubed and pairwise precision / recall / F1 of a flat clustering."""
    joint = Counter(zip(predicted, gold))
    predicted_sizes, gold_sizes = Counter(predicted), Counter(gold)
    total = len(gold)
    b3_precision = sum(count * count / predicted_sizes[p] for (p, _), count in joint.items()) / total
    b3_recall = sum(count * count / gold_sizes[g] for (_, g), count in joint.items()) / total

    def pairs(n: int) -> int:
        return n * (n - 1) // 2

    true_pairs = sum(pairs(count) for count in joint.values())
    predicted_pairs = sum(pairs(count) for count in predicted_sizes.values())
    gold_pairs = sum(pairs(count) for count in gold_sizes.values())
    pair_precision = true_pairs / predicted_pairs if predicted_pairs else 1.0
    pair_recall = true_pairs / gold_pairs if gold_pairs else 1.0
    return {
        "b3_p": b3_precision,
        "b3_r": b3_recall,
        "b3_f1": _f1(b3_precision, b3_recall),
        "pair_p": pair_precision,
        "pair_r": pair_recall,
        "pair_f1": _f1(pair_precision, pair_recall),
        "clusters": len(predicted_sizes),
    }


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def ranking_scores(docs: Sequence[Doc], rank: Callable[[Doc], list[str]], k: int = 5) -> dict[str, float]:
    """P@k (relevant in top k / min(k, relevant)), P@1 and MRR with same-gold articles relevant."""
    by_gold: dict[str, set[str]] = defaultdict(set)
    for doc in docs:
        by_gold[doc.gold].add(doc.id)
    precision_total = first_total = reciprocal_total = 0.0
    queries = 0
    for doc in docs:
        relevant = by_gold[doc.gold] - {doc.id}
        if not relevant:
            continue
        ranked = rank(doc)
        queries += 1
        hits = sum(1 for other in ranked[:k] if other in relevant)
        precision_total += hits / min(k, len(relevant))
        first_total += 1.0 if ranked and ranked[0] in relevant else 0.0
        reciprocal_total += next((1.0 / (i + 1) for i, other in enumerate(ranked) if other in relevant), 0.0)
    return {
        f"p@{k}": precision_total / queries,
        "p@1": first_total / queries,
        "mrr": reciprocal_total / queries,
        "queries": queries,
    }


# ---------------------------------------------------------------------------------------------- ours


def run_ours(docs: Sequence[Doc], options: StoryOptions) -> tuple[list[str], StoryClusterer, float]:
    """Feed docs one by one; a story id per doc, re-pointed through merges as a store would."""
    clusterer = StoryClusterer(options)
    assigned: dict[str, str] = {}
    members: dict[str, list[str]] = defaultdict(list)
    started = time.perf_counter()
    for doc in docs:
        assignment = clusterer.add(doc.id, doc.title, doc.text, doc.published_at)
        for absorbed in assignment.merged_from:
            for article_id in members.pop(absorbed, []):
                assigned[article_id] = assignment.story_id
                members[assignment.story_id].append(article_id)
        assigned[doc.id] = assignment.story_id
        members[assignment.story_id].append(doc.id)
    elapsed = time.perf_counter() - started
    return [assigned[doc.id] for doc in docs], clusterer, elapsed


def related_ranker(clusterer: StoryClusterer, k: int) -> Callable[[Doc], list[str]]:
    def rank(doc: Doc) -> list[str]:
        return [item.article_id for item in clusterer.related_articles(doc.id, k)]

    return rank


# ---------------------------------------------------------------------------------------------- anchor

_ANCHOR_TOKEN = re.compile(r"(?u)\b\w\w+\b")


def anchor_vectors(docs: Sequence[Doc]) -> list[dict[str, float]]:
    """Batch TF-IDF (sublinear TF, smoothed IDF, English stop words) over title + text, unit length."""
    counts = [
        Counter(token for token in _ANCHOR_TOKEN.findall((doc.title + "\n" + doc.text).lower()) if token not in STOPWORDS)
        for doc in docs
    ]
    frequencies: Counter[str] = Counter()
    for count in counts:
        frequencies.update(count.keys())
    total = len(docs)
    vectors = []
    for count in counts:
        weights = {
            term: (1 + math.log(tf)) * (math.log((1 + total) / (1 + frequencies[term])) + 1) for term, tf in count.items()
        }
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        vectors.append({term: w / norm for term, w in weights.items()})
    return vectors


def anchor_single_pass(
    docs: Sequence[Doc], vectors: Sequence[dict[str, float]], threshold: float, window_days: float | None = None
) -> list[str]:
    """Single-pass centroid clustering: join the most similar cluster if cosine >= threshold."""
    sums: list[dict[str, float]] = []
    norms: list[float] = []
    last_seen: list[datetime | None] = []
    labels: list[str] = []
    for doc, vector in zip(docs, vectors):
        best, best_score = -1, threshold
        for cluster, total in enumerate(sums):
            if window_days is not None and doc.published_at and last_seen[cluster]:
                if doc.published_at - last_seen[cluster] > timedelta(days=window_days):  # type: ignore[operator]
                    continue
            dot = sum(weight * total.get(term, 0.0) for term, weight in vector.items())
            score = dot / norms[cluster] if norms[cluster] else 0.0
            if score >= best_score:
                best, best_score = cluster, score
        if best < 0:
            sums.append(dict(vector))
            norms.append(1.0)
            last_seen.append(doc.published_at)
            best = len(sums) - 1
        else:
            total = sums[best]
            dot = sum(weight * total.get(term, 0.0) for term, weight in vector.items())
            for term, weight in vector.items():
                total[term] = total.get(term, 0.0) + weight
            norms[best] = math.sqrt(norms[best] ** 2 + 2 * dot + 1.0)
            last_seen[best] = doc.published_at
        labels.append(str(best))
    return labels


def anchor_ranker(docs: Sequence[Doc], vectors: Sequence[dict[str, float]], k: int) -> Callable[[Doc], list[str]]:
    """TF-IDF cosine nearest neighbours (exact, via an inverted index)."""
    postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for index, vector in enumerate(vectors):
        for term, weight in vector.items():
            postings[term].append((index, weight))
    position = {doc.id: index for index, doc in enumerate(docs)}

    def rank(doc: Doc) -> list[str]:
        query_index = position[doc.id]
        scores: dict[int, float] = defaultdict(float)
        for term, weight in vectors[query_index].items():
            for other, other_weight in postings[term]:
                scores[other] += weight * other_weight
        scores.pop(query_index, None)
        best = sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:k]
        return [docs[index].id for index, _ in best]

    return rank


# ---------------------------------------------------------------------------------------------- report


def _fmt(scores: dict[str, float]) -> str:
    return (
        f"B3 P/R/F1 {scores['b3_p']:.3f}/{scores['b3_r']:.3f}/{scores['b3_f1']:.3f}  "
        f"pairwise P/R/F1 {scores['pair_p']:.3f}/{scores['pair_r']:.3f}/{scores['pair_f1']:.3f}  "
        f"clusters {int(scores['clusters'])}"
    )


def _mean(rows: Sequence[dict[str, float]]) -> dict[str, float]:
    return {key: sum(row[key] for row in rows) / len(rows) for key in rows[0]}


def evaluate_set(name: str, docs: list[Doc], options: StoryOptions, shuffles: int, related: bool) -> dict[str, float]:
    gold = [doc.gold for doc in docs]
    print(f"\n== {name}: {len(docs)} docs, {len(set(gold))} gold clusters")
    vectors = anchor_vectors(docs)
    predicted, clusterer, elapsed = run_ours(docs, options)
    ours = cluster_scores(predicted, gold)
    order = "date order" if docs[0].published_at else "file order"
    print(f"  ours   ({order})            {_fmt(ours)}  [{len(docs) / elapsed:.0f} docs/s]")
    anchor = cluster_scores(anchor_single_pass(docs, vectors, 0.20), gold)
    print(f"  anchor ({order}, cos>=0.20) {_fmt(anchor)}")
    if name == "gva":
        for threshold in (0.20, 0.30):
            windowed = cluster_scores(anchor_single_pass(docs, vectors, threshold, window_days=7), gold)
            print(f"  anchor (7-day window, cos>={threshold:.2f}) {_fmt(windowed)}")
    if shuffles:
        our_rows, anchor_rows = [], []
        for seed in range(shuffles):
            order_index = list(range(len(docs)))
            random.Random(seed).shuffle(order_index)
            shuffled = [docs[i] for i in order_index]
            shuffled_vectors = [vectors[i] for i in order_index]
            shuffled_gold = [doc.gold for doc in shuffled]
            our_rows.append(cluster_scores(run_ours(shuffled, options)[0], shuffled_gold))
            anchor_rows.append(cluster_scores(anchor_single_pass(shuffled, shuffled_vectors, 0.20), shuffled_gold))
        print(f"  ours   (mean of {shuffles} shuffles)     {_fmt(_mean(our_rows))}")
        print(f"  anchor (mean of {shuffles} shuffles)     {_fmt(_mean(anchor_rows))}")
        ours = {**ours, **{"shuffled_" + key: value for key, value in _mean(our_rows).items()}}
    if related:
        # Related articles are asked of live stories: a window longer than the set keeps all of them live.
        live_options = replace(options, window_days=100_000.0)
        _, live, _ = run_ours(docs, live_options)
        ours_rank = ranking_scores(docs, related_ranker(live, 5))
        anchor_rank = ranking_scores(docs, anchor_ranker(docs, vectors, 5))
        print(
            f"  related ours   P@5 {ours_rank['p@5']:.3f}  P@1 {ours_rank['p@1']:.3f}  MRR {ours_rank['mrr']:.3f}"
            f"  ({int(ours_rank['queries'])} queries)"
        )
        print(f"  related anchor P@5 {anchor_rank['p@5']:.3f}  P@1 {anchor_rank['p@1']:.3f}  MRR {anchor_rank['mrr']:.3f}")
        ours["p@5"] = ours_rank["p@5"]
    return ours


# ---------------------------------------------------------------------------------------------- speed


def _reuters_docs() -> list[tuple[str, str, datetime | None]]:
    """(title, body, date) of the Reuters-21578 wires (latin-1 SGML, parsed with regular expressions)."""
    docs = []
    pattern = re.compile(r"<REUTERS(.*?)</REUTERS>", re.S)
    for path in sorted((NEWS / "reuters21578").glob("reut2-*.sgm")):
        for match in pattern.finditer(path.read_text(encoding="latin-1")):
            block = match.group(1)
            title = re.search(r"<TITLE>(.*?)</TITLE>", block, re.S)
            body = re.search(r"<BODY>(.*?)</BODY>", block, re.S)
            date = re.search(r"<DATE>\s*(\d+-\w+-\d{4} \d+:\d+:\d+)", block)
            when = None
            if date:
                try:
                    when = datetime.strptime(date.group(1), "%d-%b-%Y %H:%M:%S").replace(tzinfo=timezone.utc)
                except ValueError:
                    when = None
            docs.append((title.group(1) if title else "", body.group(1) if body else "", when))
    return docs


_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+")


def _sentences(text: str) -> list[str]:
    return [sentence.strip() for sentence in _SENTENCE_SPLIT.split(text) if len(sentence.split()) > 6]


def _bbc_bodies() -> list[str]:
    folder = NEWS / "bbc-fulltext" / "bbc"
    return [path.read_text(encoding="utf-8", errors="replace").partition("\n")[2] for path in sorted(folder.glob("*/*.txt"))]


def known_story_texts(held_out: set[int], reuters: Sequence[tuple[str, str, datetime | None]]) -> list[str]:
    """Texts of the known stories: runs of two consecutive real sentences of one article (stride one sentence).

    Articles: the Reuters-21578 wires not timed, the GVA articles and the BBC articles; the runs of all articles
    are shuffled with a fixed seed.
    """
    bodies = [body for index, (_, body, _) in enumerate(reuters) if index not in held_out]
    bodies += [doc.text for doc in load_gva()]
    bodies += _bbc_bodies()
    runs = []
    for body in bodies:
        sentences = _sentences(body)
        runs.extend(" ".join(sentences[i : i + 2]) for i in range(max(len(sentences) - 1, 0)))
    random.Random(7).shuffle(runs)
    return runs


def speed(options: StoryOptions, known_stories: int, measured: int) -> dict[str, float]:
    """Assignment throughput with ``known_stories`` live stories, all built from real text through ``add``.

    1. Timed stream: the first ``measured`` Reuters-21578 wires with a body, in date order (real articles).
    2. Known stories: runs of two consecutive real sentences from the other Reuters wires, GVA and BBC articles
       (``known_story_texts``), each opening its own story through ``StoryClusterer.open_story`` (the
       bulk-load path: same features, centroids and index as ``add``, without the join decision, because runs
       fed through ``add`` mostly join each other and 185,000 runs would give far fewer than 100,000 stories),
       title = the run's first 12 words, dated evenly over the 20 days before the timed stream. The timed
       wires are held out, so they meet the known stories only through shared news vocabulary.
    3. The timed wires' dates are compressed 30 times (Reuters spans months) so they stay within the window.
    Rates are wall-clock and CPU time of this process (other jobs share the CPU: the load average is printed).
    """
    import os

    print(f"\n== speed: {known_stories:,} known stories, then {measured:,} Reuters wires timed")
    print(f"  load average before: {' '.join(f'{value:.2f}' for value in os.getloadavg())}")
    reuters = _reuters_docs()
    timed_indices = [index for index, doc in enumerate(reuters) if doc[1]]
    timed_indices = sorted(timed_indices, key=lambda index: reuters[index][2] or datetime.min.replace(tzinfo=timezone.utc))
    timed_indices = timed_indices[:measured]
    runs = known_story_texts(set(timed_indices), reuters)
    start = datetime(1987, 1, 1, tzinfo=timezone.utc)
    live = replace(options, max_active_stories=max(options.max_active_stories, known_stories * 2))
    clusterer = StoryClusterer(live)
    started, cpu_started = time.perf_counter(), time.process_time()
    added = 0
    step = 20 * 86_400 / max(known_stories, 1)
    for text in runs[:known_stories]:
        clusterer.open_story(f"k{added}", " ".join(text.split()[:12]), text, start + timedelta(seconds=added * step))
        added += 1
    build, build_cpu = time.perf_counter() - started, time.process_time() - cpu_started
    print(
        f"  built {clusterer.active_story_count:,} live stories from {added:,} real-text runs"
        f" (of {len(runs):,} available) in {build:.0f}s wall = {added / build:,.0f}/s, {added / build_cpu:,.0f}/s CPU"
    )
    base = start + timedelta(days=20)
    wires = [reuters[index] for index in timed_indices]
    first_date = wires[0][2] or base
    started, cpu_started = time.perf_counter(), time.process_time()
    for index, (title, body, when) in enumerate(wires):
        shifted = base + ((when or first_date) - first_date) / 30  # keep the timed wires inside the window
        clusterer.add(f"r{index}", title, body, shifted)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"  ours:   assigned {len(wires):,} real wires in {elapsed:.2f}s = {len(wires) / elapsed:,.0f} articles/s wall,"
        f" {len(wires) / cpu:,.0f} articles/s CPU (target 2,000); live stories now {clusterer.active_story_count:,};"
        f" peak RSS {rss:,.0f} MB"
    )
    print(f"  load average after: {' '.join(f'{value:.2f}' for value in os.getloadavg())}")
    # Anchor: the TF-IDF single-pass centroid (exhaustive scan of live clusters), on the same wires after a
    # smaller known set, since its cost grows with the number of stories.
    anchor_known = 1_000
    anchor_docs = [Doc(f"a{i}", " ".join(t.split()[:12]), t, None, "") for i, t in enumerate(runs[:anchor_known])]
    anchor_docs += [Doc(f"r{i}", title, body, None, "") for i, (title, body, _) in enumerate(wires[:300])]
    vectors = anchor_vectors(anchor_docs)
    cpu_started = time.process_time()
    anchor_single_pass(anchor_docs, vectors, 0.20)
    anchor_cpu = time.process_time() - cpu_started
    print(
        f"  anchor: TF-IDF single-pass over {len(anchor_docs):,} docs (only {anchor_known:,} known) ="
        f" {len(anchor_docs) / anchor_cpu:,.0f} articles/s CPU (falls as stories grow: it scans every cluster)"
    )
    # Memory bound: the same stream with a short window keeps the live set small; archived stories are handed
    # out by pop_archived (a store keeps them searchable).
    bounded = StoryClusterer(replace(options, window_days=7))
    peak = archived = 0
    for index, (title, body, when) in enumerate(reuters):
        bounded.add(f"b{index}", title, body, when)
        archived += len(bounded.pop_archived())
        peak = max(peak, bounded.active_story_count)
    print(
        f"  memory bound: all {len(reuters):,} Reuters wires with a 7-day window -> at most {peak:,} live stories,"
        f" {archived:,} archived (vocabulary {len(bounded.frequencies.counts):,} terms)"
    )
    return {"articles_per_s_wall": len(wires) / elapsed, "articles_per_s_cpu": len(wires) / cpu}


# ---------------------------------------------------------------------------------------------- main


def _options_from(pairs: Sequence[str]) -> StoryOptions:
    types = {f.name: f.type for f in fields(StoryOptions)}
    values = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        if key not in types:
            raise SystemExit(f"unknown option {key!r}; known: {', '.join(types)}")
        values[key] = int(value) if types[key] in ("int", int) else float(value)
    return StoryOptions(**values)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--speed", action="store_true", help="also measure throughput with 100,000 live stories")
    parser.add_argument("--speed-only", action="store_true")
    parser.add_argument("--known", type=int, default=100_000)
    parser.add_argument("--measured", type=int, default=10_000)
    parser.add_argument("--shuffles", type=int, default=5)
    parser.add_argument("--sets", default="ecbplus,news-cluster,gva")
    parser.add_argument("--no-related", action="store_true")
    parser.add_argument("--set", action="append", default=[], metavar="OPTION=VALUE")
    args = parser.parse_args(argv)
    if not NEWS.is_dir():
        print(f"skipped: {NEWS} not found (the shared evaluation data is not on this machine)")
        return 0
    options = _options_from(args.set)
    print(f"options: {options}")
    if not args.speed_only:
        loaders = {"ecbplus": load_ecbplus, "news-cluster": load_news_cluster, "gva": load_gva}
        summary = {}
        for name in args.sets.split(","):
            docs = loaders[name]()
            summary[name] = evaluate_set(
                name,
                docs,
                options,
                shuffles=args.shuffles if name == "ecbplus" else 0,
                related=not args.no_related and name != "gva",
            )
        print("\nsummary (ours):", json.dumps({k: {m: round(v, 3) for m, v in s.items()} for k, s in summary.items()}))
    if args.speed or args.speed_only:
        speed(options, args.known, args.measured)
    return 0


if __name__ == "__main__":
    sys.exit(main())
