#!/usr/bin/env bash
# Trains the MNIST diffusion UNet, then its SN and NPR covariance heads, resuming from checkpoints where they exist,
# and copies the results into models/diffusion/mnist-unet/. Safe to re-run after an interruption: every stage resumes.
# Usage: scripts/train-diffusion.sh [UNET_STEPS] [HEAD_STEPS]      (log: data/diffusion/logs/*.log)
# THREADS (default 2): torch intra-op threads. Two threads stall whenever another process takes a core (0.2 it/s
# against 2 it/s alone), so run it alone, pause it (kill -STOP) for other work, or use THREADS=1 beside another job.
# Runs from a copy of the CLI's Release build (data/diffusion/cli) so that rebuilding the tree cannot disturb a long run.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
unet_steps="${1:-15000}"
head_steps="${2:-2500}"
threads="${THREADS:-2}"
# Keep libtorch's and the GC's freed memory instead of returning it to the kernel after every pass (see evaluate-diffusion.sh).
export MALLOC_MMAP_THRESHOLD_=1000000000 MALLOC_TRIM_THRESHOLD_=1000000000 MALLOC_TOP_PAD_=500000000 DOTNET_GCRetainVM=1
scripts/fetch-mnist.sh
if [[ ! -f data/diffusion/cli/service-cli.dll ]]; then
  dotnet build src/Service.Cli -c Release
  mkdir -p data/diffusion && cp -r src/Service.Cli/bin/Release/net10.0 data/diffusion/cli
fi
cli=(dotnet data/diffusion/cli/service-cli.dll diffusion)
mkdir -p data/diffusion/logs
"${cli[@]}" train --steps "$unet_steps" --batch-size 64 --channels 48 --lr 4e-4 --warmup 500 --lr-schedule cosine \
  --ema-decay 0.9995 --schedule linear --seed 1 --checkpoint-dir data/diffusion/checkpoints/unet-c48 --checkpoint-every 250 \
  --log-every 50 --threads "$threads" --out data/diffusion/out/mnist-unet/unet.pt --resume >> data/diffusion/logs/unet-train.log 2>&1
for kind in sn npr; do
  "${cli[@]}" train-head --kind "$kind" --backbone data/diffusion/out/mnist-unet/unet.pt --steps "$head_steps" --batch-size 64 \
    --lr 4e-4 --warmup 100 --lr-schedule cosine --ema-decay 0.999 --seed 2 --checkpoint-dir "data/diffusion/checkpoints/head-$kind-c48" \
    --checkpoint-every 250 --log-every 50 --threads "$threads" \
    --out "data/diffusion/out/mnist-unet/head-$kind.pt" --resume >> "data/diffusion/logs/head-$kind-train.log" 2>&1
done
mkdir -p models/diffusion/mnist-unet
cp data/diffusion/out/mnist-unet/* models/diffusion/mnist-unet/
ls -la models/diffusion/mnist-unet
