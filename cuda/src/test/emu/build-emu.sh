#!/bin/sh
# Builds libtrillium_cudaemu.so into $1 from the kernels in $2 (cuda/src/main/cuda): each .cu compiled by
# g++ with emu.h forced in, its __global__ functions registered by name. Used by the tests only.
set -e
out="$1"; src="$2"; here="$(cd "$(dirname "$0")" && pwd)"
CXX="${CXX:-g++}"
rm -f "$out/libtrillium_cudaemu.so"
if ! command -v "$CXX" >/dev/null 2>&1; then
  echo "[trillium] CUDA emulator NOT built: no C++ compiler ($CXX); the kernel tests will fail"; exit 0
fi
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
flags="-O2 -fPIC -fvisibility=hidden -std=c++17 -Wall -Wno-unused-function -I$here/include -I$src"
objs=""
for cu in "$src"/*.cu; do
  name="$(basename "$cu" .cu)"
  {
    echo "#include \"$here/emu.h\""
    echo "#include \"$cu\""
    grep -o '__global__ void [A-Za-z0-9_]*' "$cu" | awk '{print "static emu::Registrar reg_" $3 "(\"" $3 "\", &emu::thunk<" $3 ">);"}'
  } > "$tmp/$name.cpp"
  $CXX $flags -c "$tmp/$name.cpp" -o "$tmp/$name.o"
  objs="$objs $tmp/$name.o"
done
$CXX $flags -c "$here/emu.cpp" -o "$tmp/emu.o"
mkdir -p "$out"
$CXX -shared -o "$out/libtrillium_cudaemu.so" $objs "$tmp/emu.o"
echo "[trillium] CUDA emulator built: $out/libtrillium_cudaemu.so"
