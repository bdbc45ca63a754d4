#!/usr/bin/env bash
# The diffusion evaluation of docs/results/diffusion.md: trains the FID classifier if it is missing, re-estimates Γ
# with M = 1,000 if gamma.json has fewer samples, then runs (or resumes) `diffusion evaluate`, whose finished cells land
# in docs/results/diffusion/cells.jsonl. Safe to re-run after an interruption.   (log: data/diffusion/logs/evaluate.log)
# Runs from a copy of the CLI build (data/diffusion/cli-eval) so that rebuilding the tree cannot disturb a long run.
# THREADS (default 2): torch intra-op threads; 1 beside another long job (two threads stall when a core is taken).
# MODEL_DIR (default models/diffusion/mnist-unet): the backbone, heads and gamma.json evaluated; a new backbone can be
# evaluated from its training output (data/diffusion/out/mnist-unet) and committed to models/ with its Γ table.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
# glibc returns libtorch's large per-call buffers to the kernel after every forward pass (mmap/munmap, page faults);
# keeping them in the heap made batch-128 sampling about 3× faster on this machine.
export MALLOC_MMAP_THRESHOLD_=1000000000 MALLOC_TRIM_THRESHOLD_=1000000000 MALLOC_TOP_PAD_=500000000
# The .NET GC likewise keeps the memory it frees: without it, an hours-long evaluation process was seen spending half its
# CPU time in the kernel on page faults (about 17,000 a second); with it, about 3 %.
export DOTNET_GCRetainVM=1
scripts/fetch-mnist.sh
# Cells resume by name, so they must all come from the backbone evaluated now: a new unet.pt with old cells beside it
# stops here until the old cells (and their grids) are moved to a history folder.
model_dir="${MODEL_DIR:-models/diffusion/mnist-unet}"
backbone="$(sha256sum < "$model_dir/unet.pt" | cut -d' ' -f1)"
record=docs/results/diffusion/backbone.sha256
if [[ -s docs/results/diffusion/cells.jsonl && -f $record && "$(cat "$record")" != "$backbone" ]]; then
  echo "docs/results/diffusion/cells.jsonl holds the cells of backbone $(cat "$record"), not of unet.pt ($backbone): move them and their grids to a history folder first" >&2
  exit 1
fi
echo "$backbone" > "$record"
if [[ ! -f data/diffusion/cli-eval/service-cli.dll ]]; then
  dotnet build src/Service.Cli -c Release
  mkdir -p data/diffusion && cp -r src/Service.Cli/bin/Release/net10.0 data/diffusion/cli-eval
fi
cli=(dotnet data/diffusion/cli-eval/service-cli.dll diffusion)
threads="${THREADS:-2}"
mkdir -p data/diffusion/logs
[[ -f models/diffusion/mnist-classifier/classifier.pt ]] || "${cli[@]}" classifier --epochs 8 --seed 7 --threads "$threads"
if ! grep -qs '"Samples":[1-9][0-9][0-9][0-9]' "$model_dir/gamma.json"; then
  "${cli[@]}" gamma --model "$model_dir/unet.pt" --samples 1000 --seed 3 --threads "$threads" >> data/diffusion/logs/gamma.log 2>&1
fi
# A fresh process every 30 minutes (the run resumes at the next batch): one process running for hours slowed down
# as its resident memory grew (FID cells at K = 100 took 366, 389, then 414 s).
log=data/diffusion/logs/evaluate.log
while :; do
  "${cli[@]}" evaluate --model-dir "$model_dir" --samples 1000 --batch-size 250 --seed 11 --max-minutes 30 --threads "$threads" "$@" >> "$log" 2>&1
  tail -n 200 "$log" | grep -q "cells done; 0 to go" && break
done
