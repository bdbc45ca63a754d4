#!/usr/bin/env bash
# The evidence of docs/reliability.md: load, 4× overload, fuzz and fault injection against the real service on
# loopback, every loop bounded. Results land in data/reliability/ (git-ignored): one JSON file per load phase,
# fuzz.json, and faults.log with each fault's observed outcome.
#
# Usage:  scripts/reliability.sh                 # everything (about 15 minutes on 2 cores)
#         PHASES="load overload" scripts/reliability.sh
# Environment: PORT (default 18090), OUT (default data/reliability), PHASES (load overload fuzz faults),
#              SECONDS_PER_PHASE (default 60), and per-route base rates RATE_EMBED (10), RATE_SIMILARITY (5),
#              RATE_RERANK (2), RATE_SEARCH (0.5) in requests/s; overload sends 4× each. The base mix asks for 66 CE
#              calls/s, about 40 % of what the 2-core machine's cross-encoder served under overload on 2026-12-07
#              (a search is 100 CE calls, a rerank 8).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
port="${PORT:-18090}"
url="http://127.0.0.1:$port"
out="${OUT:-data/reliability}"
phases="${PHASES:-load overload fuzz faults}"
duration="${SECONDS_PER_PHASE:-60}"
declare -A rate=([embed]="${RATE_EMBED:-10}" [similarity]="${RATE_SIMILARITY:-5}" [rerank]="${RATE_RERANK:-2}" [search]="${RATE_SEARCH:-0.5}")
admin_key="reliability-admin-key-$(date +%s)"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
step() { printf '\n### %s\n' "$*"; }

step "build (Release)"
dotnet build src/Service.Api -c Release -v q -nologo
dotnet build src/Service.Cli -c Release -v q -nologo
api=(dotnet src/Service.Api/bin/Release/net10.0/Service.Api.dll)
cli=(dotnet src/Service.Cli/bin/Release/net10.0/service-cli.dll)

service_pid=""
# start_service LOGFILE [extra args...]: the service in Production mode (JSON logs), ready or not, answering /healthz.
start_service() {
  local log="$1"; shift
  ASPNETCORE_ENVIRONMENT=Production Admin__ApiKeys__0="$admin_key" \
    "${api[@]}" --urls "$url" --contentRoot "$repo/src/Service.Api" "$@" > "$log" 2>&1 &
  service_pid=$!
  for _ in $(seq 1 240); do
    curl -fsS "$url/healthz" > /dev/null 2>&1 && return 0
    kill -0 "$service_pid" 2>/dev/null || { echo "service exited; see $log" >&2; return 1; }
    sleep 0.5
  done
  echo "service did not answer /healthz within 120 s" >&2; return 1
}
wait_ready() {
  for _ in $(seq 1 240); do
    [[ "$(curl -s -o /dev/null -w '%{http_code}' "$url/readyz")" == 200 ]] && return 0
    sleep 0.5
  done
  echo "service not ready within 120 s" >&2; return 1
}
stop_service() {
  [[ -n "$service_pid" ]] && kill "$service_pid" 2>/dev/null && wait "$service_pid" 2>/dev/null || true
  service_pid=""
}
trap stop_service EXIT

# load LABEL MULTIPLIER: every route at MULTIPLIER × its base rate for $duration s, one generator per route, together.
load() {
  local label="$1" times="$2" pids=()
  for route in embed similarity rerank search; do
    "${cli[@]}" bench load --url "$url" --route "$route" --rate "$(awk -v r="${rate[$route]}" -v m="$times" 'BEGIN { print r * m }')" --duration "$duration" --warmup 5 \
      --pid "$service_pid" --label "$label-$route" --out "$out/$label-$route.json" > "$out/$label-$route.txt" 2>&1 &
    pids+=($!)
  done
  local failed=0
  for p in "${pids[@]}"; do wait "$p" || failed=1; done
  cat "$out/$label"-*.txt
  return $failed
}

if [[ " $phases " == *" load "* || " $phases " == *" overload "* ]]; then
  step "service for load and overload (rate limit off: one loopback client sends everything)"
  start_service "$out/service-load.log" --RateLimit:Enabled false
  wait_ready
  [[ " $phases " == *" load "* ]] && { step "load: base rates for $duration s"; load load 1 || echo "load: 5xx seen"; }
  if [[ " $phases " == *" overload "* ]]; then
    step "overload: 4× for $duration s"; load overload 4 || echo "overload: 5xx seen"
    step "recovery: base rates for 30 s right after"
    duration=30 load recovery 1 || echo "recovery: 5xx seen"
  fi
  grep VmHWM /proc/"$service_pid"/status | tee "$out/service-load-vmhwm.txt" || true
  stop_service
fi

if [[ " $phases " == *" fuzz "* ]]; then
  step "fuzz: 10,000 malformed and edge requests across every route"
  start_service "$out/service-fuzz.log" --RateLimit:Enabled false
  wait_ready
  "${cli[@]}" bench fuzz --url "$url" --count 10000 --seed 1 --out "$out/fuzz.json" | tee "$out/fuzz.txt"
  kill -0 "$service_pid" && echo "process alive after fuzzing"
  stop_service
fi

if [[ " $phases " == *" faults "* ]]; then
  faults="$out/faults"
  rm -rf "$faults" && mkdir -p "$faults"
  log="$out/faults.log"
  : > "$log"
  note() { printf '%s\n' "$*" | tee -a "$log"; }

  step "fault: process killed during an index build"
  # A small real build (the default cross-encoder): 240 items × 24 anchor queries.
  words=(river bank music storm bread guitar train market doctor garden winter engine letter mountain painter harbour)
  for i in $(seq 0 239); do
    printf '{"id":"i%d","text":"a %s near the %s with a %s"}\n' "$i" "${words[i % 16]}" "${words[(i / 16) % 16]}" "${words[(i * 7) % 16]}"
  done > "$faults/items.jsonl"
  for i in $(seq 0 23); do printf '{"id":"q%d","text":"where is the %s?"}\n' "$i" "${words[i % 16]}"; done > "$faults/anchors.jsonl"
  for i in $(seq 0 23); do printf '{"id":"q%d","text":"who owns a %s?"}\n' "$i" "${words[(i * 5) % 16]}"; done > "$faults/anchors-2.jsonl"
  "${cli[@]}" index build --items "$faults/items.jsonl" --anchors "$faults/anchors.jsonl" --out "$faults/fault.anncur" > "$faults/build-1.txt" 2>&1
  good="$(sha256sum < "$faults/fault.anncur")"
  note "good build: $(grep -o '[0-9,]* CE calls in.*calls/s' "$faults/build-1.txt")"
  "${cli[@]}" index build --items "$faults/items.jsonl" --anchors "$faults/anchors-2.jsonl" --out "$faults/fault.anncur" > "$faults/build-2.txt" 2>&1 &
  builder=$!
  sleep 12
  kill -9 "$builder"; wait "$builder" 2>/dev/null || true
  note "rebuild into the same path killed with SIGKILL after 12 s; files now: $(cd "$faults" && ls fault.anncur* | tr '\n' ' ')"
  [[ "$(sha256sum < "$faults/fault.anncur")" == "$good" ]] && note "fault.anncur unchanged (sha256 equal to the good build)" || note "FAIL: fault.anncur changed"

  step "fault: corrupt and truncated index files; the previous index keeps serving"
  start_service "$out/service-faults.log" --Indexes:Files:0 "$faults/fault.anncur"
  wait_ready
  search() { curl -s -o /dev/null -w '%{http_code}' -H 'content-type: application/json' \
    -d '{"index":"fault","query":"where is the river?","k":5,"budget":40,"method":"cur"}' "$url/v1/search"; }
  reload() { curl -s -w ' → %{http_code}' -X POST -H "X-API-Key: $admin_key" "$url/v1/indexes/fault/reload"; }
  note "restart on the surviving file: search → $(search)"
  cp "$faults/fault.anncur" "$faults/fault.good"
  truncate -s "$(( $(stat -c %s "$faults/fault.anncur") / 2 ))" "$faults/fault.anncur"
  note "truncated to half, reload: $(reload)"
  note "search after the refused reload → $(search)"
  cp "$faults/fault.good" "$faults/fault.anncur"
  printf '\xff' | dd of="$faults/fault.anncur" bs=1 seek=$(( $(stat -c %s "$faults/fault.anncur") / 2 )) conv=notrunc status=none
  note "one byte flipped, reload: $(reload)"
  note "search after the refused reload → $(search)"
  cp "$faults/fault.good" "$faults/fault.anncur"
  note "intact file back, reload: $(reload)"

  step "fault: client disconnects mid-sampling"
  curl -s -N --max-time 30 "$url/v1/diffusion/samples/stream?model=mnist-unet&count=1&steps=2" > /dev/null # loads the UNet
  before="$(curl -s "$url/metrics" | awk '/^service_model_sampling_cancelled_total\{.*mnist-unet/ {print $NF}')"
  curl -s -N --max-time 3 "$url/v1/diffusion/samples/stream?model=mnist-unet&count=64&steps=1000&variance=analytic" > "$faults/stream.txt" || true
  sleep 2
  after="$(curl -s "$url/metrics" | awk '/^service_model_sampling_cancelled_total\{.*mnist-unet/ {print $NF}')"
  note "stream closed by the client after 3 s ($(grep -c '^event: progress' "$faults/stream.txt") progress events): service_model_sampling_cancelled_total{model=mnist-unet} ${before:-0} → ${after:-0}"
  stop_service

  step "fault: missing model file"
  start_service "$out/service-missing.log" --Models:Adapters:0:Path /nonexistent/adapter.safetensors
  sleep 30
  note "readyz with minilm-cosent-bi's file missing: $(curl -s -w ' → %{http_code}' "$url/readyz")"
  note "log: $(grep -m1 'failed to load' "$out/service-missing.log" | cut -c1-400)"
  note "an unaffected model still answers /embed: $(curl -s -o /dev/null -w '%{http_code}' -H 'content-type: application/json' -d '{"inputs":"hello"}' "$url/embed")"
  stop_service
  cat "$log"
fi
