#!/usr/bin/env python3
# Issue 14 (diagnostic, not the benchmark): does the cross-encoder fit its own training queries? Writes a copy of
# data/wordnet whose "dev" pairs are 1,671 training queries with >= 2 candidates (the dev senses set's size, fixed by an
# md5 order of the query ids), so that `text eval --split dev --data data/text/v2/wordnet-trainprobe` ranks them.
#   scripts/wordnet-train-probe.py [SOURCE (default data/wordnet) [OUT (default data/text/v2/wordnet-trainprobe)]]
import hashlib, json, os, sys
src = sys.argv[1] if len(sys.argv) > 1 else 'data/wordnet'
out = sys.argv[2] if len(sys.argv) > 2 else 'data/text/v2/wordnet-trainprobe'
os.makedirs(out, exist_ok=True)
for name in os.listdir(src):
    if name != 'pairs-dev.jsonl' and not os.path.exists(f'{out}/{name}'):
        os.symlink(os.path.abspath(f'{src}/{name}'), f'{out}/{name}')
groups = {}
for line in open(f'{src}/pairs-train.jsonl'):
    groups.setdefault(json.loads(line)['query_id'], []).append(line)
ranked = sorted((k for k, v in groups.items() if len(v) >= 2), key=lambda k: hashlib.md5(k.encode()).hexdigest())
with open(f'{out}/pairs-dev.jsonl', 'w') as o:
    for k in ranked[:1671]:
        o.writelines(groups[k])
print(out, len(ranked))
