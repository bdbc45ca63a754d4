#!/usr/bin/env python3
"""Senses acc@1 of score fusions, from `text eval --scores-out` files of the same split.

Each file holds one line per (query, candidate) pair: query_id, item_id, label, score (marked query), unmarked.
Usage: scripts/fuse-scores.py BI_ENCODER.jsonl CROSS_ENCODER.jsonl [SECOND_CROSS_ENCODER.jsonl]
Prints acc@1 with the marked queries and with the marks removed, for: the cross-encoder alone; s_ce + w · cos for a
grid of w (ties count against the gold item, as text eval counts them); the marked and unmarked scores averaged (the
query read both ways, marked rows only); then, with a second cross-encoder, the two averaged (+ w · cos).
"""
import collections, json, sys

def load(path):
    return {(o["query_id"], o["item_id"]): o for o in map(json.loads, open(path))}

def accuracy(groups, gold, score):
    hits = sum(all(score(k) < score(gold[q]) for k in keys if k != gold[q]) for q, keys in groups.items())
    return 100 * hits / len(groups)

def both(groups, gold, score):
    """acc@1 with score(key, column) on the marked queries, then on the unmarked ones."""
    return " / ".join(f"{accuracy(groups, gold, lambda k: score(k, column)):.1f} %" for column in ("score", "unmarked"))

bi, ce = load(sys.argv[1]), load(sys.argv[2])
ce2 = load(sys.argv[3]) if len(sys.argv) > 3 else None
groups = collections.defaultdict(list)
for key in ce:
    groups[key[0]].append(key)
gold = {q: next(k for k in keys if ce[k]["label"] == 1) for q, keys in groups.items()}
print(f"{len(groups)} queries; acc@1 marked / unmarked")
print(f"bi-encoder alone: {both(groups, gold, lambda k, c: bi[k][c])}")
print(f"cross-encoder alone: {both(groups, gold, lambda k, c: ce[k][c])}")
for w in [1, 2, 5, 10, 15, 20, 30, 50, 100]:
    print(f"cross-encoder + {w} cos: {both(groups, gold, lambda k, c: ce[k][c] + w * bi[k][c])}")
print(f"cross-encoder, marked and unmarked averaged: {accuracy(groups, gold, lambda k: ce[k]['score'] + ce[k]['unmarked']):.1f} %")
for w in [5, 10, 20]:
    print(f"cross-encoder, marked and unmarked averaged + {w} cos: "
          f"{accuracy(groups, gold, lambda k: (ce[k]['score'] + ce[k]['unmarked']) / 2 + w * bi[k]['score']):.1f} %")
if ce2:
    print(f"two cross-encoders averaged: {both(groups, gold, lambda k, c: ce[k][c] + ce2[k][c])}")
    for w in [5, 10, 20]:
        print(f"two cross-encoders averaged + {w} cos: {both(groups, gold, lambda k, c: (ce[k][c] + ce2[k][c]) / 2 + w * bi[k][c])}")
