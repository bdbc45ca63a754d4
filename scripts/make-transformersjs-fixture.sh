#!/usr/bin/env bash
# Writes tests/Service.Tests/Fixtures/transformersjs/minilm-reference.json: token ids and mean-pooled, L2-normalised
# embeddings of ~30 varied sentences from transformers.js (npm @huggingface/transformers, onnxruntime-node), an
# implementation independent of ours, run on the same all-MiniLM-L6-v2 ONNX file and vocabulary. The model package has
# no tokenizer.json, so this script writes the standard BERT-uncased one from vocab.txt (BertNormalizer with lowercase,
# clean_text and handle_chinese_chars; BertPreTokenizer; WordPiece with max 100 characters per word).
# Usage: scripts/make-transformersjs-fixture.sh   (needs the model cache: run the service or the tests once first)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${XDG_CACHE_HOME:-$HOME/.local/share}/service/models/all-MiniLM-L6-v2"
[[ -f "$cache/model.onnx" ]] || cache="$HOME/.local/share/service/models/all-MiniLM-L6-v2"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
npm init -y > /dev/null
npm install --no-audit --no-fund @huggingface/transformers@4.3.2 > /dev/null
mkdir -p models/all-MiniLM-L6-v2/onnx
ln -s "$cache/model.onnx" models/all-MiniLM-L6-v2/onnx/model.onnx
cp "$repo/scripts/transformersjs-fixture.mjs" gen.mjs
node gen.mjs "$cache/vocab.txt" "$repo/tests/Service.Tests/Fixtures/transformersjs/minilm-reference.json"
