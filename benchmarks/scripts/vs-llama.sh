#!/bin/sh
# Trillium against llama.cpp on the same GGUF file, threads and lengths, in one run (issue 13):
#
#   benchmarks/scripts/vs-llama.sh LLAMA_BENCH MODEL [THREADS] [--prompt-tokens 64,512] [--decode-tokens 32]
#                                  [--repeats 5] [-- extra trillium bench flags, e.g. --exact]
#
# LLAMA_BENCH: llama.cpp's llama-bench (../shared/tools/build-llama-oracle.sh builds commit 34af94c into
# /tmp/llama.cpp/build/bin; never commit it). THREADS defaults to all processors. Each of the repeats is
# a round: one llama-bench -o json repetition (pp for each prompt length, tg for the decode length), then
# one `trillium bench` run per prompt length, so the two sides alternate (the memory bandwidth of a shared
# machine drifts over minutes). Prints one markdown table: both sides' medians with min-max, the ratio,
# and whether the ratio is distinguishable from 1 (Welch's t-test on the runs, p < 0.05).
# Needs `mvn -q -DskipTests package` first (benchmarks/target/benchmarks.jar, examples/bin/trillium).
set -eu
[ $# -ge 2 ] || { sed -n '2,13p' "$0" >&2; exit 2; }
llama=$1
model=$2
shift 2
threads=$(nproc)
case "${1:-}" in [0-9]*) threads=$1; shift ;; esac
here=$(cd "$(dirname "$0")/../.." && pwd)
jar=$here/benchmarks/target/benchmarks.jar
[ -f "$jar" ] || { echo "$0: $jar is missing: run mvn -q -DskipTests package first" >&2; exit 1; }
[ -x "$llama" ] || { echo "$0: $llama is not an executable llama-bench" >&2; exit 1; }
java=
for j in "${TRILLIUM_JAVA_HOME:-}" "${JAVA_HOME:-}" /usr/lib/jvm/*25* /usr/lib/jvm/*-2[5-9]*; do
  if [ -n "$j" ] && [ -x "$j/bin/java" ] && "$j/bin/java" -version 2>&1 | grep -q 'version "2[5-9]'; then java=$j/bin/java; break; fi
done
[ -n "$java" ] || { echo "$0: no JDK >= 25 found (set TRILLIUM_JAVA_HOME)" >&2; exit 1; }
exec "$java" -cp "$jar" io.trillium.benchmarks.VsLlama "$llama" "$model" "$threads" "$here/examples/bin/trillium" "$@"
