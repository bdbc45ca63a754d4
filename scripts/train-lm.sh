#!/usr/bin/env bash
# Trains the small causal LM of docs/results/seed-lm.md (issue 18) from a copy of the CLI build (data/lm/$LM_CLI, default cli), at the
# lowest CPU priority so the cross-encoder training keeps the cores. Resumable: re-run it after an interruption.
# Usage: scripts/train-lm.sh NAME [lm train options...]      (log: data/lm/logs/NAME.log)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[[ "${LM_PRIORITY:-low}" == low ]] && { echo 19 > /proc/self/autogroup 2>/dev/null || true; }   # setsid'd jobs get their own autogroup; plain nice would not yield
name="$1"; shift
if [[ ! -f data/lm/${LM_CLI:-cli}/service-cli.dll ]]; then
  dotnet build src/Service.Cli -c Release
  mkdir -p data/lm && cp -r src/Service.Cli/bin/Release/net10.0 "data/lm/${LM_CLI:-cli}"
fi
mkdir -p data/lm/logs
exec dotnet data/lm/${LM_CLI:-cli}/service-cli.dll lm train --name "$name" --resume "$@" >> "data/lm/logs/$name.log" 2>&1
