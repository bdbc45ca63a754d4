#!/usr/bin/env python3
"""Senses acc@1 of score fusions, from `text eval --scores-out` files of the same split.

Each file holds one line per (query, candidate) pair: query_id, item_id, label, score (marked query), unmarked.
Usage: scripts/fuse-scores.py BI_ENCODER.jsonl CROSS_ENCODER.jsonl [SECOND_CROSS_ENCODER.jsonl]
Prints acc@1 of the cross-encoder alone and of s_ce + w · cos for a grid of w (ties count against the gold item,
as text eval counts them), then, with a second cross-encoder, of the two averaged (+ w · cos).
"""
import collections, json, sys

def load(path):
    return {(o["query_id"], o["item_id"]): o for o in map(json.loads, open(path))}

def accuracy(groups, gold, score):
    hits = sum(all(score(k) < score(gold[q]) for k in keys if k != gold[q]) for q, keys in groups.items())
    return 100 * hits / len(groups)

bi, ce = load(sys.argv[1]), load(sys.argv[2])
ce2 = load(sys.argv[3]) if len(sys.argv) > 3 else None
groups = collections.defaultdict(list)
for key in ce:
    groups[key[0]].append(key)
gold = {q: next(k for k in keys if ce[k]["label"] == 1) for q, keys in groups.items()}
print(f"{len(groups)} queries")
print(f"bi-encoder alone: {accuracy(groups, gold, lambda k: bi[k]['score']):.1f} %")
print(f"cross-encoder alone: {accuracy(groups, gold, lambda k: ce[k]['score']):.1f} %")
for w in [1, 2, 5, 10, 15, 20, 30, 50, 100]:
    print(f"cross-encoder + {w} cos: {accuracy(groups, gold, lambda k: ce[k]['score'] + w * bi[k]['score']):.1f} %")
if ce2:
    print(f"two cross-encoders averaged: {accuracy(groups, gold, lambda k: ce[k]['score'] + ce2[k]['score']):.1f} %")
    for w in [5, 10, 20]:
        print(f"two cross-encoders averaged + {w} cos: "
              f"{accuracy(groups, gold, lambda k: (ce[k]['score'] + ce2[k]['score']) / 2 + w * bi[k]['score']):.1f} %")
