#!/bin/sh
# Reproduces the README's capped-memory tier table (issue 6): two synthetic deepseek2 models of the
# forward-pass issue's shape (hidden 2048, 10 layers, 64 experts, 8 used, expert FFN 1024, Q4_K, 2.33 GiB),
# one with uniform routing and one whose router sends ~60 % of the choices to 8 hot experts per layer,
# a profile of the skewed one, then `bench` inside a 1.2 GB memory cgroup (tier-cgroup.sh) per configuration.
#
#   benchmarks/scripts/tier-table.sh DIR      # DIR holds the models (about 5 GB), made on the first run
set -eu
dir=${1:?usage: $0 DIR}
here=$(cd "$(dirname "$0")/../.." && pwd)
t="$here/examples/bin/trillium"
cg="$here/benchmarks/scripts/tier-cgroup.sh"
shape="--arch deepseek2 --hidden 2048 --layers 10 --experts 64 --used 8 --expert-ffn 1024 --vocab 32256 --type Q4_K --seed 1"
uniform=$dir/ds2-2048x10-q4k.gguf
hot=$dir/ds2-2048x10-q4k-hot.gguf
[ -f "$uniform" ] || $t synth $shape --out "$uniform"
[ -f "$hot" ] || $t synth $shape --hot-experts 8 --hot-share 0.6 --out "$hot"
if [ ! -f "$dir/hot-stats.json" ]; then
  grep -v '^[[:space:]]*$' "$here/README.md" | grep -v '^[|#`]' | head -40 | cut -c1-200 > "$dir/prompts.txt"
  $t profile --model "$hot" --prompts "$dir/prompts.txt" --out "$dir/hot-stats.json" --max-tokens 8 --q8-activations --threads 2
fi
common="--threads 2 --q8-activations --prompt-tokens 8 --decode-tokens 64 --repeats 3 --decode-input random"
run() {
  echo "== $*"
  "$cg" "$@" $common 2>&1 | grep -E "^(experts|decode|prefill|expert cache|prediction|memory|cgroup peak|INFO)"
}
n="--expert-tier nvme"
run "$uniform" 1200M $n --dram-budget 800m --cache-policy lru --predict-experts
run "$uniform" 1200M $n --dram-budget auto --cache-policy lru --predict-experts
run "$uniform" 1200M $n --dram-budget 560m --cache-policy lru --predict-experts
run "$uniform" 1200M $n --dram-budget 560m --cache-policy lru
run "$uniform" 1200M $n --dram-budget 560m            # defaults: LFU, no prediction
run "$uniform" 1200M $n --dram-budget auto
run "$uniform" 1200M --expert-tier dram               # plain mmap, as llama.cpp
run "$hot" 1200M $n --dram-budget 560m --cache-policy lru --predict-experts
run "$hot" 1200M $n --dram-budget 560m --cache-policy lfu --predict-experts
run "$hot" 1200M $n --dram-budget 560m --cache-policy lru --predict-experts --hot-experts "$dir/hot-stats.json"
run "$hot" 1200M $n --dram-budget 560m --cache-policy lru
run "$hot" 1200M $n --dram-budget 560m --cache-policy lfu
run "$hot" 1200M $n --dram-budget 560m --cache-policy lru --hot-experts "$dir/hot-stats.json"
