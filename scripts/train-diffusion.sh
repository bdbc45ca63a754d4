#!/usr/bin/env bash
# Trains the MNIST diffusion UNet, then its SN and NPR covariance heads, resuming from checkpoints where they exist,
# and copies the results into models/diffusion/mnist-unet/. Safe to re-run after an interruption: every stage resumes.
# Usage: scripts/train-diffusion.sh [UNET_STEPS] [HEAD_STEPS]      (log: data/diffusion/logs/*.log)
# THREADS (default 1): torch intra-op threads. On the shared 2-core machine two threads stalled whenever another
# process took a core (0.2 it/s vs 3 it/s idle); one thread degrades gracefully.
# Runs from a copy of the CLI build (data/diffusion/cli) so that rebuilding the tree cannot disturb a long run.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
unet_steps="${1:-3500}"
head_steps="${2:-1500}"
threads="${THREADS:-1}"
scripts/fetch-mnist.sh
if [[ ! -f data/diffusion/cli/service-cli.dll ]]; then
  dotnet build src/Service.Cli
  mkdir -p data/diffusion && cp -r src/Service.Cli/bin/Debug/net10.0 data/diffusion/cli
fi
cli=(dotnet data/diffusion/cli/service-cli.dll diffusion)
mkdir -p data/diffusion/logs
"${cli[@]}" train --steps "$unet_steps" --batch-size 64 --channels 32 --lr 2e-4 --ema-decay 0.999 --schedule linear --seed 1 \
  --checkpoint-dir data/diffusion/checkpoints/unet --checkpoint-every 250 --log-every 50 --threads "$threads" \
  --out data/diffusion/out/mnist-unet/unet.pt --resume >> data/diffusion/logs/unet-train.log 2>&1
for kind in sn npr; do
  "${cli[@]}" train-head --kind "$kind" --backbone data/diffusion/out/mnist-unet/unet.pt --steps "$head_steps" --batch-size 64 \
    --lr 2e-4 --ema-decay 0.999 --seed 2 --checkpoint-dir "data/diffusion/checkpoints/head-$kind" --checkpoint-every 250 --log-every 50 --threads "$threads" \
    --out "data/diffusion/out/mnist-unet/head-$kind.pt" --resume >> "data/diffusion/logs/head-$kind-train.log" 2>&1
done
mkdir -p models/diffusion/mnist-unet
cp data/diffusion/out/mnist-unet/* models/diffusion/mnist-unet/
ls -la models/diffusion/mnist-unet
