#!/usr/bin/env bash
# Trains the text models of docs/results/text.md on the WordNet training domains, then evaluates each on the test
# domains. Every run resumes from its checkpoints (data/text/runs/<name>/), and a finished run is skipped, so the
# script is safe to re-run after an interruption.   (logs: data/text/logs/<name>.log)
# LoRA adapters of the served models are written to models/text/<name>/adapter.safetensors.
# Usage: scripts/train-text.sh [STEPS]    (STEPS: optimizer steps per run of the first six, default 500)
# Then the issue-14 cross-encoder (minilm-ce-mixed, 4,000 steps, the served default): trained, exported as a dense float16
# adapter, and evaluated with ONNX Runtime on that adapter (what the service runs), on dev and on test.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
export MALLOC_MMAP_THRESHOLD_=1000000000 MALLOC_TRIM_THRESHOLD_=1000000000 MALLOC_TOP_PAD_=500000000
steps="${1:-500}"
[[ -f data/wordnet/pairs-train.jsonl ]] || { dotnet run --project src/Service.Cli -- data wordnet; dotnet run --project src/Service.Cli -- data wordnet-benchmark; }
if [[ ! -f data/text/cli/service-cli.dll ]]; then
  dotnet build src/Service.Cli
  mkdir -p data/text && cp -r src/Service.Cli/bin/Debug/net10.0 data/text/cli
fi
cli=(dotnet data/text/cli/service-cli.dll text)
mkdir -p data/text/logs
train() { # name objective adaptation lr queries [adapter]
  local name="$1" objective="$2" adaptation="$3" lr="$4" queries="$5" adapter="${6:-}"
  [[ -f "data/text/runs/$name/run.json" ]] && grep -q "\"Steps\": $steps," "data/text/runs/$name/run.json" && return 0
  "${cli[@]}" train --name "$name" --objective "$objective" --adaptation "$adaptation" --lr "$lr" --queries "$queries" \
    --negatives 3 --steps "$steps" --rank 8 --alpha 16 --seed 1 --max-tokens 64 --checkpoint-every 25 --resume \
    ${adapter:+--adapter-out "$adapter"} >> "data/text/logs/$name.log" 2>&1
}
train minilm-cosent-ce ce-cosent lora 1e-3 8 models/text/minilm-cosent-ce/adapter.safetensors
train minilm-bce-ce ce-bce lora 1e-3 8 models/text/minilm-bce-ce/adapter.safetensors
train minilm-cosent-bi bi-cosent lora 1e-3 8 models/text/minilm-cosent-bi/adapter.safetensors
train minilm-softmax-bi bi-softmax lora 1e-3 24 models/text/minilm-softmax-bi/adapter.safetensors
train minilm-cosent-ce-loraopt ce-cosent lora-opt 5e-5 8
train minilm-cosent-ce-full ce-cosent full 5e-5 8
# Issue 14: listwise softmax over hard, mined and random negatives, half the queries unmarked, every Linear trained.
ce=minilm-ce-mixed
if ! [[ -f "data/text/runs/$ce/run.json" ]]; then
  "${cli[@]}" train --name "$ce" --objective ce-softmax --adaptation linears --candidates mixed --lr 5e-5 --warmup 200 \
    --queries 8 --negatives 3 --mined 3 --mined-depth 30 --random 1 --unmark 0.5 --micro-batch 16 --steps 4000 --seed 1 \
    --max-tokens 64 --checkpoint-every 250 --resume >> "data/text/logs/$ce.log" 2>&1
fi
[[ -f "models/text/$ce/adapter.safetensors" ]] || "${cli[@]}" export --run "$ce" --out "models/text/$ce/adapter.safetensors"
for split in dev test; do
  results=docs/results/text/$split-results.jsonl
  grep -q "\"Run\":\"base\".*\"Split\":\"$split\"" "$results" 2>/dev/null || "${cli[@]}" eval --run base --split "$split" --domain-sample 300 >> data/text/logs/eval.log 2>&1
  grep -q "\"Run\":\"$ce\".*\"Split\":\"$split\"" "$results" 2>/dev/null \
    || "${cli[@]}" eval --run "$ce" --split "$split" --domain-sample 300 --adapter "models/text/$ce/adapter.safetensors" >> data/text/logs/eval.log 2>&1
done
for run in base minilm-cosent-bi minilm-softmax-bi minilm-cosent-ce minilm-bce-ce minilm-cosent-ce-loraopt minilm-cosent-ce-full; do
  grep -q "\"Run\":\"$run\"" docs/results/text/results.jsonl 2>/dev/null && continue
  "${cli[@]}" eval --run "$run" >> data/text/logs/eval.log 2>&1
done
