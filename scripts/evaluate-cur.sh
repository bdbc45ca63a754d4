#!/usr/bin/env bash
# The ANNCUR evaluation of docs/results/cur.md on WordNet domains, resumable stage by stage:
#   1. dev domain verb.contact (2,198 items, 100 queries): chooses the CUR anchor shares k_i/B (--role dev, six shares,
#      and adaptive-de's among 0.3/0.5/0.7, chosen 0.7 with minilm-ce-mixed;
#      adaptive's share, the `index evaluate --adaptive-share` default 0.7, was chosen on it too: docs/results/cur.md);
#   2. held-out test domain noun.animal+noun.state (11,057 items, k_q = 100, 200 queries) with the two shares chosen on dev;
#   3. held-out test domain verb.motion (1,411 items, the committed demo index, 200 queries) with the same shares.
# Every stage skips what is done: `index build` resumes from its .partial checkpoint and the exact cross-encoder pass
# of `index evaluate` is cached per query, so the script is safe to re-run after an interruption. On 2 cores the
# cross-encoder scores about 280 pairs/s on a quiet machine (bench index-build): stage 1 is ~0.33 M calls, stage 2
# ~1.1 M (R) + ~2.2 M (exact), about 3.5 hours in all.
# Usage: scripts/evaluate-cur.sh [MAX_MINUTES]   (stop the exact passes after MAX_MINUTES each; default no limit)
# Environment: WORDNET (default data/wordnet-rich: the item text the served cross-encoder minilm-ce-long reads, from
# `data wordnet-benchmark --item-text rich --out data/wordnet-rich`), ANCHOR_SOURCE (train | definitions, default train),
# THREADS (ONNX Runtime threads, default 0 = one per core; 1 beside another long job), OUT (default data/cur-rich).
# The cross-encoder is the service's Models:DefaultCrossEncoder.
# Logs: $OUT/logs/<domain>-{build,evaluate}.log
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
max_minutes="${1:-0}"
wordnet="${WORDNET:-data/wordnet-rich}"; anchor_source="${ANCHOR_SOURCE:-train}"; threads="${THREADS:-0}"; out="${OUT:-data/cur-rich}"
if [[ ! -f $wordnet/items.jsonl ]]; then
  dotnet run --project src/Service.Cli -- data wordnet
  dotnet run --project src/Service.Cli -- data wordnet-benchmark --out "$wordnet" $([[ $wordnet == data/wordnet-rich ]] && echo --item-text rich)
fi
# A copy of the CLI's Release build, so rebuilding the tree cannot disturb a long run.
# The copy is refreshed when the checkout has moved on since it was made.
if [[ ! -f data/cur-cli/service-cli.dll || "$(cat data/cur-cli/.commit 2>/dev/null)" != "$(git rev-parse HEAD)" ]]; then
  dotnet build src/Service.Cli -c Release
  rm -rf data/cur-cli && cp -r src/Service.Cli/bin/Release/net10.0 data/cur-cli
  git rev-parse HEAD > data/cur-cli/.commit
fi
cli=(dotnet data/cur-cli/service-cli.dll index)
mkdir -p "$out/logs"
budgets=50,100,200,500,1000

# stage DOMAINS ANCHORS ROLE QUERIES SPLIT-ARGS...: items and queries, R, then the recall evaluation of one domain.
stage() {
  local domains="$1" anchors="$2" role="$3" queries="$4"; shift 4
  local dir="$out/$domains"
  [[ -f "$dir/items.jsonl" ]] || "${cli[@]}" wordnet --data "$wordnet" --domains "${domains//+/,}" --anchors "$anchors" --anchor-source "$anchor_source" --out "$dir"
  if [[ ! -f "$dir/index.anncur" ]]; then
    "${cli[@]}" build --items "$dir/items.jsonl" --anchors "$dir/anchors.jsonl" --out "$dir/index.anncur" --dtype float16 --threads "$threads" \
      >> "$out/logs/$domains-build.log" 2>&1
    grep -a "CE calls in" "$out/logs/$domains-build.log" | tail -1
  fi
  "${cli[@]}" evaluate --dir "$dir" --queries "$queries" --budgets "$budgets" --role "$role" --max-minutes "$max_minutes" --threads "$threads" "$@" \
    >> "$out/logs/$domains-evaluate.log" 2>&1
  tail -3 "$out/logs/$domains-evaluate.log"
}

stage verb.contact 50 dev 100 --splits 0.1,0.2,0.3,0.5,0.7,0.9 --de-shares 0.3,0.5,0.7
stage noun.animal+noun.state 100 test 200 --splits-from verb.contact --de-shares 0.7
stage verb.motion 50 test 200 --splits-from verb.contact --de-shares 0.7
