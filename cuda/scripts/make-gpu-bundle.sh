#!/usr/bin/env bash
# Builds a self-contained folder for GPU machines that have no JDK and no package registry:
# a jlinked runtime (java.base, jdk.incubator.vector, jdk.unsupported, jdk.nio.mapmode, ...; compressed,
# stripped) plus Trillium's jars and their runtime dependencies (JCuda natives included), and
# run-gpu.sh, which runs the GPU checks (logits vs the CPU backend) and the CPU-vs-hybrid bench there.
#
# Usage: cuda/scripts/make-gpu-bundle.sh [OUT_DIR=cuda/target/gpu-bundle]
# Env:   JAVA_HOME (a JDK >= 25 with jmods; default /usr/lib/jvm/temurin-25-jdk-amd64),
#        MAVEN_REPO (passed as -Dmaven.repo.local), MVN_OFFLINE=1 (adds -o), SKIP_BUILD=1 (use the jars in target/)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:-$root/cuda/target/gpu-bundle}"
jdk="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
mvn_args=(-q)
[[ -n "${MAVEN_REPO:-}" ]] && mvn_args+=("-Dmaven.repo.local=$MAVEN_REPO")
[[ "${MVN_OFFLINE:-0}" == 1 ]] && mvn_args+=(-o)

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  (cd "$root" && mvn "${mvn_args[@]}" -pl quant,core,cuda install -DskipTests)
fi
rm -rf "$out"
mkdir -p "$out/lib"
(cd "$root" && mvn "${mvn_args[@]}" -pl cuda dependency:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="$out/lib")
cp "$root"/cuda/target/trillium-cuda-*.jar "$out/lib/"
rm -f "$out"/lib/*-tests.jar "$out"/lib/*-sources.jar
# Natives of other platforms are dead weight on a Linux x86-64 GPU machine.
find "$out/lib" -name '*-natives-*' ! -name '*linux-x86_64*' -delete

# What core needs (jdk.unsupported: O_DIRECT, jdk.nio.mapmode: DAX maps) plus java.logging (JUL behind
# System.Logger). Jackson's java.desktop/java.sql parts are optional and guarded; EXTRA_MODULES adds more.
modules=java.base,jdk.incubator.vector,jdk.unsupported,jdk.nio.mapmode,java.logging${EXTRA_MODULES:+,$EXTRA_MODULES}
"$jdk/bin/jlink" --add-modules "$modules" --compress=zip-9 --strip-debug --no-header-files --no-man-pages \
    --output "$out/runtime"

cat > "$out/run-gpu.sh" <<'RUN'
#!/usr/bin/env bash
# Runs on the GPU machine from this folder. Usage:
#   ./run-gpu.sh check MODELS_DIR_OR_GGUF...   logits of every model: GPU vs CPU backend (exit 0 pass, 1 fail, 2 no GPU)
#   ./run-gpu.sh bench MODEL.gguf [decode=32] [prefill=64] [threads]   CPU-only vs hybrid tok/s
#   ./run-gpu.sh bench --synth DIR [decode] [prefill] [threads]        the same on the README's ~10 GiB model, written into DIR once
#   ./run-gpu.sh probe                          what the CUDA probe sees
# JAVA_OPTS adds JVM flags (e.g. -Dtrillium.gpu=1 -Dtrillium.vram=10g).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
java=("$here/runtime/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xss4m
      ${JAVA_OPTS:-} -cp "$here/lib/*")
cmd="${1:-probe}"; shift || true
case "$cmd" in
  check) exec "${java[@]}" io.trillium.cuda.GpuCheck "$@" ;;
  bench) exec "${java[@]}" io.trillium.cuda.GpuBench "$@" ;;
  probe) exec "${java[@]}" io.trillium.cuda.GpuCheck --probe ;;
  *) echo "usage: $0 check|bench|probe ..." >&2; exit 64 ;;
esac
RUN
chmod +x "$out/run-gpu.sh"
echo "bundle: $out ($(du -sh "$out" | cut -f1)); runtime $(du -sh "$out/runtime" | cut -f1), jars $(du -sh "$out/lib" | cut -f1)"
