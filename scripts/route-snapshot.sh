#!/usr/bin/env bash
# Starts the service (Release build, embedded defaults) on a free loopback port, sends the fixed request set of
# route-snapshot.py, and writes the answers to OUTDIR. Compare two snapshots with `diff -r BEFORE AFTER`.
# Usage: scripts/route-snapshot.sh OUTDIR
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
out="$(realpath -m "$1")"
key=route-snapshot-admin-key-0123456789abcdef
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
dotnet build src/Service.Api -c Release -v q -nologo > /dev/null
Indexes__Directory="$(mktemp -d)" Admin__ApiKeys__0=$key RateLimit__PermitsPerSecond=100000 RateLimit__Burst=100000 ASPNETCORE_URLS=http://127.0.0.1:$port \
  dotnet src/Service.Api/bin/Release/net10.0/Service.Api.dll --contentRoot "$repo/src/Service.Api" > /tmp/route-snapshot-$port.log 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do
  curl -sf "http://127.0.0.1:$port/readyz" > /dev/null && break
  kill -0 $pid 2>/dev/null || { tail -20 /tmp/route-snapshot-$port.log; exit 1; }
  sleep 1
done
python3 scripts/route-snapshot.py "http://127.0.0.1:$port" "$out" "$key"
