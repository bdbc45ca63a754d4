#!/usr/bin/env bash
# Checks what deploy/Dockerfile does without Docker: the same restore and publish commands on a copy of the
# build context, then the published service started as the image's non-root user (UID/GID 1654, no new
# privileges, no capabilities) with the image's environment variables, the app files owned by root and the
# writable paths on separate "volume" folders, and /healthz, /readyz and a few routes checked with curl.
# It also runs the image's HEALTHCHECK command and lists every file the service wrote outside its volumes.
#
# Usage (as root, from anywhere):  deploy/local-check.sh            # build context + publish + run
#        FLAVOR=gpu deploy/local-check.sh                           # GPU publish and checks only
#        FLAVOR=gpu RUN=1 DEVICE=cpu deploy/local-check.sh          # ... and run the GPU build on the CPU provider
#        SKIP_PUBLISH=1 WORK=/tmp/service-image.X deploy/local-check.sh   # run an earlier publish again
# Environment: WORK (work folder, default a new /tmp/service-image.*), PORT (default 18080, so as not to take
# 8080 from a developer's `dotnet run`), CONFIG (an appsettings.json to use as the content root's, see
# docs/deployment.md), REQUIRE_ADAPTERS (1: fail like the image build when an adapter file is missing),
# DEVICE (Models__Device; default cpu, or cuda for FLAVOR=gpu).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
flavor="${FLAVOR:-cpu}"
case "$flavor" in cpu) ort=Cpu ;; gpu) ort=Gpu ;; *) echo "FLAVOR must be cpu or gpu" >&2; exit 2 ;; esac
work="${WORK:-$(mktemp -d /tmp/service-image.XXXXXX)}"
chmod 755 "$work"
port="${PORT:-18080}"
uid=1654
ctx="$work/context" app="$work/app"
step() { printf '\n### %s\n' "$*"; }

if [[ "${SKIP_PUBLISH:-0}" != 1 ]]; then
  step "build context (what the Dockerfile COPYs; .dockerignore keeps bin/, obj/, data/ out)"
  rm -rf "$ctx" "$app"
  mkdir -p "$ctx/src" "$ctx/models"
  cp "$repo/global.json" "$repo/Directory.Build.props" "$repo/Directory.Packages.props" "$ctx/"
  tar -C "$repo/src" --exclude=bin --exclude=obj -cf - Service.Api Service.Models Service.Index Service.Cli | tar -C "$ctx/src" -xf -
  tar -C "$repo" --exclude='*.md' --exclude='*.png' --exclude='*.loss.csv' -cf - models | tar -C "$ctx" -xf -
  find "$ctx/models" -type f | sort

  step "dotnet restore / publish (FLAVOR=$flavor, OnnxRuntimeFlavor=$ort)"
  cd "$ctx"
  set -x
  dotnet restore src/Service.Cli/Service.Cli.csproj -r linux-x64 -p:OnnxRuntimeFlavor="$ort"
  dotnet publish src/Service.Api -c Release -r linux-x64 --self-contained false -p:OnnxRuntimeFlavor="$ort" --no-restore -o "$app"
  dotnet publish src/Service.Cli -c Release -r linux-x64 --self-contained false -p:OnnxRuntimeFlavor="$ort" --no-restore -o "$app"
  { set +x; } 2>/dev/null
  du -sh "$app"
  find "$app" -maxdepth 1 \( -name 'Service.Api*' -o -name 'service-cli*' -o -name 'appsettings*' -o -name '*onnxruntime*' -o -name '*LibTorchSharp*' \) -printf '%f\n' | sort
  find "$app/models" -type f | sed "s|$app/||" | sort

  step "publish checks (the Dockerfile runs the same script)"
  (cd "$ctx" && REQUIRE_ADAPTERS="${REQUIRE_ADAPTERS:-1}" "$repo/deploy/publish-checks.sh" "$flavor" "$app")
  du -sh "$app"
fi

if [[ "$flavor" == gpu ]]; then
  step "GPU output: CUDA provider and what it links against"
  find "$app" -maxdepth 1 -iname '*onnxruntime*' -printf '%10s %f\n' | sort -k2
  readelf -d "$app/libonnxruntime_providers_cuda.so" | grep NEEDED
  [[ "${RUN:-0}" == 1 ]] || exit 0   # RUN=1: start it anyway (DEVICE=cpu runs the GPU build on the CPU provider)
fi
device="${DEVICE:-$([[ "$flavor" == gpu ]] && echo cuda || echo cpu)}"

vol="$work/volumes"
rm -rf "$vol"
mkdir -p "$vol/cache" "$vol/indexes" "$vol/tmp" "$vol/config"
chown -R root:root "$app" && chmod -R go-w "$app"
chown "$uid:$uid" "$vol/cache" "$vol/tmp"      # writable volumes
chmod 755 "$vol" "$vol/indexes" "$vol/config"  # read-only to the app, like the index PVC mount in the Deployment
contentroot="$app"
if [[ -n "${CONFIG:-}" ]]; then
  cp "$CONFIG" "$vol/config/appsettings.json"
  contentroot="$vol/config"
fi
# TorchSharp 0.107 needs GLIBCXX_3.4.32 (GCC 13); on an older host libstdc++ (Debian 12) the service patches its
# own copy of libLibTorchSharp.so on first use (docs/architecture.md), which a read-only /app forbids. The
# image's Ubuntu 24.04 bases have GCC 14's libstdc++ and need no patch; to stand in for them here, let the
# service apply the patch once as root before the real run.
if ! grep -q GLIBCXX_3.4.32 "$(ldconfig -p | awk '/libstdc\+\+\.so\.6 .*x86-64/ {print $NF; exit}')"; then
  step "host libstdc++ lacks GLIBCXX_3.4.32: patching libLibTorchSharp.so once as root (not needed in the image)"
  mkdir -p "$work/prepatch"
  ASPNETCORE_ENVIRONMENT=Production ASPNETCORE_HTTP_PORTS="$port" Models__CacheDirectory="$work/prepatch" \
    dotnet "$app/Service.Api.dll" > "$work/prepatch.log" 2>&1 &
  prepid=$!
  for _ in $(seq 600); do
    curl -s "http://127.0.0.1:$port/v1/models" | grep -q '"name":"mnist-unet"[^}]*"status":"\(ready\|failed\)"' && break
    sleep 0.5
  done
  kill "$prepid"; wait "$prepid" 2>/dev/null || true
  grep -o 'TorchSharp[^"]*' "$work/prepatch.log" | head -3 || true
fi

step "run as UID/GID $uid with the image's environment (app files owned by root), Models__Device=$device"
log="$work/service.log"
touch "$work/started"
start=$(date +%s%N)
env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/home/app LANG=C.UTF-8 \
  ASPNETCORE_ENVIRONMENT=Production ASPNETCORE_HTTP_PORTS="$port" ASPNETCORE_CONTENTROOT="$contentroot" \
  Models__CacheDirectory="$vol/cache/models" Indexes__Directory="$vol/indexes" XDG_DATA_HOME="$vol/cache/xdg" TMPDIR="$vol/tmp" \
  Models__Device="$device" DOTNET_RUNNING_IN_CONTAINER=true \
  MALLOC_MMAP_THRESHOLD_=1000000000 MALLOC_TRIM_THRESHOLD_=1000000000 MALLOC_TOP_PAD_=500000000 \
  setpriv --reuid "$uid" --regid "$uid" --clear-groups --no-new-privs --inh-caps=-all --bounding-set=-all \
  dotnet "$app/Service.Api.dll" > "$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
echo "pid $pid: $(ps -o user=,group=,args= -p "$pid")"
grep -E '^(Uid|Gid|CapEff|CapBnd|NoNewPrivs)' "/proc/$pid/status"

url="http://127.0.0.1:$port"
elapsed() { local ms=$(( ($(date +%s%N) - start) / 1000000 )); printf '%d.%03d' $((ms / 1000)) $((ms % 1000)); }
for _ in $(seq 600); do curl -sf -o /dev/null "$url/healthz" && break; kill -0 "$pid" || { cat "$log"; exit 1; }; sleep 0.1; done
echo "/healthz 200 after $(elapsed) s"
curl -si "$url/healthz"; echo
curl -si "$url/readyz" | head -c 600; echo
ready=0
for _ in $(seq 300); do
  # One request per poll: two could straddle the moment the last model turns ready.
  answer="$(curl -s -w '\n%{http_code}' "$url/readyz")"
  if [[ "${answer##*$'\n'}" == 200 ]]; then ready=1; break; fi
  grep -q '(loading)' <<< "$answer" || break   # nothing left loading: some model failed for good
  sleep 0.5
done
if [[ $ready == 1 ]]; then echo "/readyz 200 after $(elapsed) s"; else echo "/readyz still 503 after $(elapsed) s: a model failed to load"; fi
curl -si "$url/readyz" | head -c 1500; echo
step "models"
curl -s "$url/v1/models"; echo
step "a request on each kind of route"
curl -s -o /dev/null -w 'POST /embed -> %{http_code}\n' "$url/embed" -H 'Content-Type: application/json' -d '{"inputs": "What is Deep Learning?"}'
curl -s -w '\n' "$url/v1/similarity/pairs" -H 'Content-Type: application/json' -d '{"pairs": [["A cat sleeps.", "A kitten naps."], ["A cat sleeps.", "Markets crashed."]]}'
curl -s -w '\n' "$url/rerank" -H 'Content-Type: application/json' -d '{"query": "What is Deep Learning?", "texts": ["Deep learning uses neural networks.", "Cheese is made from milk."]}'
curl -s -o /dev/null -w 'POST /v1/diffusion/samples -> %{http_code}\n' "$url/v1/diffusion/samples" -H 'Content-Type: application/json' -d '{"model": "gmm-2d", "count": 2, "steps": 5, "seed": 1, "format": "json"}'

step "the image's HEALTHCHECK command (bash /dev/tcp, no curl)"
# The command itself, taken from the Dockerfile's HEALTHCHECK CMD ["bash", "-c", "..."] line.
healthcheck="$(python3 -c 'import json, re, sys; print(json.loads(re.search(r"^\s*CMD (\[.*\])\s*$", open(sys.argv[1]).read(), re.M).group(1))[2])' "$repo/deploy/Dockerfile")"
echo "$healthcheck"
if ASPNETCORE_HTTP_PORTS="$port" bash -c "$healthcheck"; then echo "HEALTHCHECK exit 0 (healthy)"; else echo "HEALTHCHECK exit $? (unhealthy)"; fi

step "memory"
grep -E '^(VmHWM|VmRSS|Threads)' "/proc/$pid/status"

step "files written by UID $uid (anything outside $vol would need a volume)"
find / -xdev -uid "$uid" -newer "$work/started" 2>/dev/null | grep -v "^$vol/" | head -20 || true
echo "inside the volumes:"
find "$vol" -uid "$uid" -type f | sed "s|$vol/||" | sort | head -20

step "warnings and errors in the service log (request-log lines of 503 answers left out)"
grep -E '"@l":"(Warning|Error|Fatal)"' "$log" | grep -v RequestLoggingMiddleware | cut -c1-400 | head -20 || true
kill "$pid"; wait "$pid" 2>/dev/null || true
trap - EXIT
echo "work folder: $work (service log: $log)"
