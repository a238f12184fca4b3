"""Error analysis of the story clusterer on one labelled set: which gold clusters are split or merged, and why.

    .venv/bin/python bench/stories_errors.py --set-name news-cluster        # or ecbplus, gva
    .venv/bin/python bench/stories_errors.py --set-name gva --limit 15 --option decay_days=30

For every article the clusterer's candidate scores are recorded as it is added (the story's text and entity
cosines, its time factor and the combined score). The report then lists:

- **splits**: gold clusters spread over several predicted stories, largest loss first; for each article that
  opened a new story although its gold cluster already had a live story, the best score it reached against
  a story of its own cluster (or "not retrieved"), the day gap to that story, and the best score overall;
- **merges**: predicted stories holding several gold clusters; for each wrong join (an article joining a story
  whose majority is another gold cluster), the score and its parts.

Labels are read only here, after the run: the clusterer never sees them.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import stories as bench

from newsloom.stories import StoryClusterer
from newsloom.stories.text import cosine

_DAY = 86_400.0


@dataclass(slots=True)
class Candidate:
    story_id: str
    text: float
    entity: float | None
    time_factor: float
    score: float
    gap_days: float | None


@dataclass(slots=True)
class Decision:
    doc: bench.Doc
    story_id: str
    is_new: bool
    candidates: list[Candidate] = field(default_factory=list)
    merged_from: tuple[str, ...] = ()
    live: list[Candidate] = field(default_factory=list)


def _explain(clusterer: StoryClusterer, story_id: str, vector, entities, published, score: float) -> Candidate:
    story = clusterer._stories[story_id]
    entity = cosine(entities, story.entity_centroid) if entities and story.entity_centroid else None
    factor = clusterer._time_factor(published, story.first_seen, story.last_seen)
    gap = None
    if published is not None and story.last_seen is not None:
        gap = max(story.first_seen - published, published - story.last_seen, 0.0) / _DAY
    return Candidate(story_id, cosine(vector, story.centroid), entity, factor, score, gap)


def run_explained(docs: list[bench.Doc], options, exhaustive: bool) -> list[Decision]:
    """Run the clusterer, recording each article's scored candidates; with ``exhaustive``, every live story is
    scored too (``Decision.live``), to tell "not retrieved" from "archived"."""
    clusterer = StoryClusterer(options)
    decisions: list[Decision] = []
    recorded: list[Candidate] = []
    live: list[Candidate] = []
    original = clusterer._score_candidates

    def score_candidates(vector, entities, published):
        scored = original(vector, entities, published)
        recorded[:] = [_explain(clusterer, sid, vector, entities, published, score) for sid, score in scored]
        if exhaustive:
            live[:] = [
                _explain(clusterer, sid, vector, entities, published,
                         clusterer._story_similarity(story, vector, entities, published))
                for sid, story in clusterer._stories.items()
            ]
        return scored

    clusterer._score_candidates = score_candidates  # type: ignore[method-assign]
    for doc in docs:
        recorded.clear()
        live.clear()
        assignment = clusterer.add(doc.id, doc.title, doc.text, doc.published_at)
        decisions.append(
            Decision(doc, assignment.story_id, assignment.is_new, list(recorded), assignment.merged_from, list(live))
        )
    return decisions


def _final_labels(decisions: list[Decision]) -> dict[str, str]:
    """Article id -> final story id, following merges as a store would."""
    assigned: dict[str, str] = {}
    members: dict[str, list[str]] = defaultdict(list)
    for decision in decisions:
        for absorbed in decision.merged_from:
            for article_id in members.pop(absorbed, []):
                assigned[article_id] = decision.story_id
                members[decision.story_id].append(article_id)
        assigned[decision.doc.id] = decision.story_id
        members[decision.story_id].append(decision.doc.id)
    return assigned


def _fmt_candidate(candidate: Candidate) -> str:
    entity = "-" if candidate.entity is None else f"{candidate.entity:.2f}"
    gap = "-" if candidate.gap_days is None else f"{candidate.gap_days:.0f}d"
    return f"score {candidate.score:.3f} (text {candidate.text:.2f} ent {entity} time x{candidate.time_factor:.2f} gap {gap})"


def report(decisions: list[Decision], limit: int) -> None:
    labels = _final_labels(decisions)
    gold_of = {decision.doc.id: decision.doc.gold for decision in decisions}
    by_gold: dict[str, list[Decision]] = defaultdict(list)
    for decision in decisions:
        by_gold[decision.doc.gold].append(decision)
    # story id at decision time -> gold labels of its members so far (to know which live story is "own")
    live_gold: dict[str, Counter[str]] = defaultdict(Counter)
    redirect: dict[str, str] = {}

    def resolve(story_id: str) -> str:
        while story_id in redirect:
            story_id = redirect[story_id]
        return story_id

    split_reasons: dict[str, list[str]] = defaultdict(list)
    wrong_joins: dict[str, list[str]] = defaultdict(list)
    for decision in decisions:
        gold = decision.doc.gold
        own = {resolve(c.story_id): c for c in decision.candidates if live_gold[resolve(c.story_id)].most_common(1)
               and live_gold[resolve(c.story_id)].most_common(1)[0][0] == gold}
        had_own = any(counts.most_common(1)[0][0] == gold for counts in live_gold.values() if counts)
        date = decision.doc.published_at.date().isoformat() if decision.doc.published_at else "-"
        title = decision.doc.title[:70]
        if decision.is_new and had_own:
            best_own = max(own.values(), key=lambda c: c.score) if own else None
            best_any = decision.candidates[0] if decision.candidates else None
            if best_own is None:
                live_own = [c for c in decision.live if live_gold[resolve(c.story_id)].most_common(1)
                            and live_gold[resolve(c.story_id)].most_common(1)[0][0] == gold]
                if live_own:
                    missing = "not retrieved, live: " + _fmt_candidate(max(live_own, key=lambda c: c.score))
                else:
                    missing = "archived" if decision.live or not decision.candidates else "not retrieved"
            line = f"  {date} NEW  {title!r}\n      own: " + (_fmt_candidate(best_own) if best_own else missing)
            if best_any is not None and (best_own is None or best_any.story_id != best_own.story_id):
                other = live_gold[resolve(best_any.story_id)].most_common(1)[0][0]
                line += f"\n      best: {_fmt_candidate(best_any)} [gold {other}]"
            split_reasons[gold].append(line)
        if not decision.is_new:
            target = resolve(decision.story_id)
            majority = live_gold[target].most_common(1)
            if majority and majority[0][0] != gold:
                chosen = next((c for c in decision.candidates if resolve(c.story_id) == target), None)
                line = f"  {date} JOIN {title!r} -> story of gold {majority[0][0]}: " + (
                    _fmt_candidate(chosen) if chosen else "(via merge)"
                )
                wrong_joins[gold].append(line)
        for absorbed in decision.merged_from:
            redirect[absorbed] = decision.story_id
            live_gold[decision.story_id].update(live_gold.pop(absorbed, Counter()))
        live_gold[resolve(decision.story_id)][gold] += 1

    predicted = [labels[d.doc.id] for d in decisions]
    gold = [d.doc.gold for d in decisions]
    print(bench._fmt(bench.cluster_scores(predicted, gold)))
    # Splits: gold clusters over several stories, by the number of missed pairs.
    stories_of_gold: dict[str, Counter[str]] = defaultdict(Counter)
    golds_of_story: dict[str, Counter[str]] = defaultdict(Counter)
    for article_id, story_id in labels.items():
        stories_of_gold[gold_of[article_id]][story_id] += 1
        golds_of_story[story_id][gold_of[article_id]] += 1

    def missed_pairs(counts: Counter[str]) -> int:
        total = sum(counts.values())
        return (total * total - sum(c * c for c in counts.values())) // 2

    splits = sorted(stories_of_gold.items(), key=lambda item: -missed_pairs(item[1]))
    print(f"\n== splits: {sum(1 for _, c in splits if len(c) > 1)} gold clusters over several stories")
    for gold_id, counts in splits[:limit]:
        if len(counts) < 2:
            break
        decisions_of = by_gold[gold_id]
        times = [d.doc.published_at for d in decisions_of if d.doc.published_at]
        span = f"{(max(times) - min(times)).days}d" if times else "-"
        print(f"- gold {gold_id}: {sum(counts.values())} articles over {len(counts)} stories {sorted(counts.values(), reverse=True)}, span {span}, missed pairs {missed_pairs(counts)}")
        for line in split_reasons.get(gold_id, [])[:8]:
            print(line)
    merges = sorted(golds_of_story.items(), key=lambda item: -missed_pairs(item[1]))
    print(f"\n== merges: {sum(1 for _, c in merges if len(c) > 1)} stories holding several gold clusters")
    for story_id, counts in merges[:limit]:
        if len(counts) < 2:
            break
        print(f"- story {story_id}: {dict(counts.most_common(6))}, wrong pairs {missed_pairs(counts)}")
        for gold_id in counts:
            for line in wrong_joins.get(gold_id, [])[:3]:
                print(line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set-name", default="news-cluster", choices=["ecbplus", "news-cluster", "gva"])
    parser.add_argument("--limit", type=int, default=12)
    parser.add_argument("--option", action="append", default=[], metavar="OPTION=VALUE")
    parser.add_argument("--exhaustive", action="store_true", help="score every live story too (slow on gva)")
    args = parser.parse_args(argv)
    if not bench.NEWS.is_dir():
        print(f"skipped: {bench.NEWS} not found")
        return 0
    loaders = {"ecbplus": bench.load_ecbplus, "news-cluster": bench.load_news_cluster, "gva": bench.load_gva}
    docs = loaders[args.set_name]()
    report(run_explained(docs, bench._options_from(args.option), args.exhaustive), args.limit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
