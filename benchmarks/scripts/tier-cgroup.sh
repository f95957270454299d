#!/bin/sh
# The capped-memory tier benchmark of issue 6: `trillium bench` inside a memory cgroup (v1) that holds
# the whole process (heap, slots, mapped always-active weights, page cache) to LIMIT.
#
#   benchmarks/scripts/tier-cgroup.sh MODEL LIMIT [bench flags...]
#   e.g. benchmarks/scripts/tier-cgroup.sh /work/bench/ds2-2048x10-q4k.gguf 1200M \
#          --expert-tier nvme --dram-budget 800m --threads 2 --q8-activations
#
# Needs root and cgroup v1's memory controller. Drops the page cache first (a cold start, as the
# llama.cpp comparison), prints the bench output and the cgroup's peak usage.
set -eu
[ $# -ge 2 ] || { echo "usage: $0 MODEL LIMIT [bench flags...]" >&2; exit 2; }
model=$1
limit=$2
shift 2
here=$(cd "$(dirname "$0")/../.." && pwd)
parent=/sys/fs/cgroup/memory$(awk -F: '$2 == "memory" { print $3 }' /proc/self/cgroup)
[ -w "$parent" ] || { echo "$0: cannot create a cgroup under $parent (needs root and cgroup v1 memory)" >&2; exit 1; }
cg=$parent/trillium-bench-$$
mkdir "$cg"
trap 'rmdir "$cg" 2>/dev/null || true' EXIT
echo "$limit" > "$cg/memory.limit_in_bytes"
# no swap: the cap is a cap
[ -w "$cg/memory.memsw.limit_in_bytes" ] && echo "$limit" > "$cg/memory.memsw.limit_in_bytes" 2>/dev/null || true
sync
echo 3 > /proc/sys/vm/drop_caches
echo "cgroup $cg: limit $(cat "$cg/memory.limit_in_bytes") bytes; page cache dropped"
# a small heap and probe buffer: the cap is for weights
TRILLIUM_JAVA_OPTS="${TRILLIUM_JAVA_OPTS:-} -Xmx160m" \
  sh -c 'echo $$ > "$1/cgroup.procs"; shift; exec "$@"' sh "$cg" \
  "$here/examples/bin/trillium" bench --model "$model" --probe-mib 64 "$@"
echo "cgroup peak: $(( $(cat "$cg/memory.max_usage_in_bytes") / 1048576 )) MiB of $(( $(cat "$cg/memory.limit_in_bytes") / 1048576 )) MiB; failcnt $(cat "$cg/memory.failcnt")"
