#!/usr/bin/env bash
# Trains the text models of docs/results/text.md on the WordNet training domains, then evaluates each on the test
# domains. Every run resumes from its checkpoints (data/text/runs/<name>/), and a finished run is skipped, so the
# script is safe to re-run after an interruption.   (logs: data/text/logs/<name>.log)
# LoRA adapters of the served models are written to models/text/<name>/adapter.safetensors.
# Usage: scripts/train-text.sh [STEPS]    (STEPS: optimizer steps per run, default 500)
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
for run in base minilm-cosent-bi minilm-softmax-bi minilm-cosent-ce minilm-bce-ce minilm-cosent-ce-loraopt minilm-cosent-ce-full; do
  grep -q "\"Run\":\"$run\"" docs/results/text/results.jsonl 2>/dev/null && continue
  "${cli[@]}" eval --run "$run" >> data/text/logs/eval.log 2>&1
done
