#!/bin/sh
# Builds libtrillium_kernels.so into $1 (target/classes/native/linux-x86_64). Never fails the
# build: without gcc, or off linux-x86_64, the library works on its Java kernels.
out="$1"
src="$(dirname "$0")"
CC="${CC:-gcc}"
# a library from an earlier build must not outlive a failed one
rm -f "$out/libtrillium_kernels.so"
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "[trillium] native kernels skipped: not linux-x86_64"; exit 0
fi
if ! command -v "$CC" >/dev/null 2>&1; then
  echo "[trillium] native kernels skipped: no C compiler ($CC)"; exit 0
fi
tmp="$(mktemp -d)" || exit 0
trap 'rm -rf "$tmp"' EXIT
flags="-O3 -fPIC -fvisibility=hidden -std=c11 -Wall -I$tmp"
# the i-quant codebooks, from the resource the Java dequantizers read (iq_rows.h includes them)
grids="$src/../resources/io/trillium/quant/block/iq-grids.bin"
if [ "$( { wc -c < "$grids"; } 2>/dev/null)" != 33792 ]; then
  echo "[trillium] WARNING: native kernels not built ($grids missing or not 33792 bytes); Java kernels only"; exit 0
fi
{ echo "static const uint8_t IQ_GRIDS[33792] __attribute__((aligned(64))) = {"
  od -An -v -tu1 "$grids" | sed 's/^  *//; s/  */,/g; s/$/,/'
  echo "};"; } > "$tmp/iq_grids.h"
if $CC $flags -c "$src/features.c" -o "$tmp/features.o" \
  && $CC $flags -DVARIANT=avx2 -mavx2 -mfma -mf16c -c "$src/kernels.c" -o "$tmp/avx2.o" \
  && $CC $flags -DVARIANT=avx2 -mavx2 -mfma -mf16c -c "$src/q4k_rows.c" -o "$tmp/q4k_avx2.o" \
  && $CC $flags -DVARIANT=avx2 -mavx2 -mfma -mf16c -c "$src/quantize.c" -o "$tmp/quantize.o" \
  && $CC $flags -DVARIANT=avx2 -mavx2 -mfma -mf16c -c "$src/attention.c" -o "$tmp/attn_avx2.o" \
  && $CC $flags -DVARIANT=vnni -DUSE_VNNI -mavx2 -mfma -mf16c -mavx512f -mavx512bw -mavx512vl -mavx512vnni \
       -c "$src/kernels.c" -o "$tmp/vnni.o" \
  && $CC $flags -DVARIANT=vnni -DUSE_VNNI -mavx2 -mfma -mf16c -mavx512f -mavx512bw -mavx512vl -mavx512vnni \
       -c "$src/q4k_rows.c" -o "$tmp/q4k_vnni.o" \
  && $CC $flags -DVARIANT=vnni -DUSE_VNNI -mavx2 -mfma -mf16c -mavx512f -mavx512bw -mavx512vl -mavx512vnni \
       -c "$src/q8_0_rows.c" -o "$tmp/q80_vnni.o" \
  && $CC $flags -DVARIANT=vnni -DUSE_VNNI -mavx2 -mfma -mf16c -mavx512f -mavx512bw -mavx512vl -mavx512vnni \
       -c "$src/attention.c" -o "$tmp/attn_vnni.o" \
  && mkdir -p "$out" \
  && $CC -shared -o "$tmp/libtrillium_kernels.so" "$tmp/features.o" "$tmp/avx2.o" "$tmp/vnni.o" \
       "$tmp/q4k_avx2.o" "$tmp/q4k_vnni.o" "$tmp/q80_vnni.o" "$tmp/quantize.o" \
       "$tmp/attn_avx2.o" "$tmp/attn_vnni.o"; then
  cp "$tmp/libtrillium_kernels.so" "$out/" && echo "[trillium] native kernels built: $out/libtrillium_kernels.so"
else
  echo "[trillium] WARNING: native kernels not built (compiler failed); Java kernels only"
fi
exit 0
