#!/usr/bin/env bash
# Compiles the kernels ahead of time so the Maven build needs no nvcc:
#   one PTX per .cu for compute_80 (the driver JIT-compiles it for any GPU from Ampere on, Blackwell included),
#   and one fatbin per .cu with SASS for sm_80/86/89/90 plus that PTX (loaded first: no JIT).
# PTX and cubins from nvcc 13 need an NVIDIA driver r580 or newer.
# Usage: cuda/src/main/cuda/build-ptx.sh   (NVCC=/path/to/nvcc to choose the compiler)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/../resources/io/trillium/cuda/kernels"
nvcc="${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}"
mkdir -p "$out"
flags=(-O3 -std=c++17)
for cu in "$here"/*.cu; do
  name="$(basename "$cu" .cu)"
  "$nvcc" "${flags[@]}" -arch=compute_80 -ptx "$cu" -o "$out/$name.ptx"
  "$nvcc" "${flags[@]}" -fatbin "$cu" -o "$out/$name.fatbin" \
    -gencode arch=compute_80,code=sm_80 -gencode arch=compute_86,code=sm_86 \
    -gencode arch=compute_89,code=sm_89 -gencode arch=compute_90,code=sm_90 \
    -gencode arch=compute_80,code=compute_80
  echo "$name: $(wc -c < "$out/$name.ptx") bytes PTX, $(wc -c < "$out/$name.fatbin") bytes fatbin"
done
# What the resources were built from, for the test that checks they are current.
"$nvcc" --version | tail -1 > "$out/NVCC_VERSION"
(cd "$here" && sha256sum *.cu *.cuh) > "$out/SOURCES.sha256"
