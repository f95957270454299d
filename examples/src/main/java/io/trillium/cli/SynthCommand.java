package io.trillium.cli;

import io.trillium.synth.ModelSynthesizer;
import io.trillium.synth.SynthSpec;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code trillium synth --arch A [--preset P] [--layers N ...] --type T --seed S --out FILE [--force]}:
 * writes a random-weight model of a given shape, e.g. Kimi K2.5's shapes with fewer layers to size
 * hardware. Every hyper-parameter starts from the preset (or the architecture's default) and can be
 * overridden one by one.
 */
@Command(name = "synth", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Write a random-weight GGUF model of a given architecture and shape.",
                "Presets: kimi-k2.5, deepseek-v3, qwen3-30b-a3b, llama3-8b, ds2-tiny, qwen3moe-tiny, llama-tiny.",
                "Without --preset, --arch starts from kimi-k2.5 (deepseek2), qwen3-30b-a3b (qwen3moe) or llama3-8b (llama)."})
final class SynthCommand implements Callable<Integer> {

    @Option(names = "--arch", paramLabel = "A", description = "deepseek2, qwen3moe or llama")
    String arch;

    @Option(names = "--preset", paramLabel = "P", description = "starting shape (see above)")
    String preset;

    @Option(names = "--out", paramLabel = "FILE", description = "the .gguf file to write")
    Path out;

    @Option(names = "--force", description = "replace FILE if it exists")
    boolean force;

    @Option(names = "--dry-run", description = "print the summary and write nothing")
    boolean dryRun;

    @Option(names = "--no-data", description = "write the header and tensor table only: the data section is a "
            + "sparse hole of zeros (real shapes, types and offsets for `trillium plan`; a few MiB of disk)")
    boolean noData;

    @Option(names = "--type", paramLabel = "T", description = "type of the big matrices: Q4_K, Q6_K, Q8_0, Q4_0, IQ3_S, TQ1_0, TQ2_0, F16, BF16, F32 "
            + "(norms, router and bias stay F32; rows that cannot hold a block fall back to Q8_0, F16, F32)")
    String type;

    @Option(names = "--exact-quant", description = "Q4_K with ggml's reference rounding (about 10x slower) "
            + "instead of the quick min/max encoder")
    boolean exactQuant;

    @Option(names = "--seed", paramLabel = "S", description = "random seed (default 0); same seed, same bytes")
    Long seed;

    @Option(names = "--hot-experts", paramLabel = "N", description = "skewed expert popularity: N hot experts per "
            + "MoE layer (drawn from the seed) get --hot-share of the routing choices")
    Integer hotExperts;

    @Option(names = "--hot-share", paramLabel = "P", description = "fraction of routing choices for the hot experts, "
            + "e.g. 0.8 (sigmoid gating raises their selection bias; softmax scales their router rows)")
    Float hotShare;

    @Option(names = "--threads", paramLabel = "N", description = "worker threads (default: all processors)")
    Integer threads;

    @Option(names = "--name", paramLabel = "S", description = "general.name") String name;
    @Option(names = "--hidden", paramLabel = "N") Integer hidden;
    @Option(names = "--layers", paramLabel = "N") Integer layers;
    @Option(names = "--heads", paramLabel = "N") Integer heads;
    @Option(names = "--kv-heads", paramLabel = "N") Integer kvHeads;
    @Option(names = "--head-dim", paramLabel = "N") Integer headDim;
    @Option(names = "--vocab", paramLabel = "N") Integer vocab;
    @Option(names = "--ffn", paramLabel = "N", description = "dense FFN width (llama with experts: expert width)") Integer ffn;
    @Option(names = "--experts", paramLabel = "N") Integer experts;
    @Option(names = "--used", paramLabel = "N", description = "experts used per token") Integer used;
    @Option(names = "--expert-ffn", paramLabel = "N") Integer expertFfn;
    @Option(names = "--shared-experts", paramLabel = "N") Integer sharedExperts;
    @Option(names = "--leading-dense", paramLabel = "N") Integer leadingDense;
    @Option(names = "--expert-groups", paramLabel = "N") Integer expertGroups;
    @Option(names = "--expert-groups-used", paramLabel = "N") Integer expertGroupsUsed;
    @Option(names = "--q-lora-rank", paramLabel = "N", description = "0: plain attn_q") Integer qLoraRank;
    @Option(names = "--kv-lora-rank", paramLabel = "N") Integer kvLoraRank;
    @Option(names = "--rope-dims", paramLabel = "N") Integer ropeDims;
    @Option(names = "--nope-dims", paramLabel = "N") Integer nopeDims;
    @Option(names = "--v-dim", paramLabel = "N") Integer vDim;
    @Option(names = "--ctx", paramLabel = "N") Integer ctx;
    @Option(names = "--rope-base", paramLabel = "F") Float ropeBase;
    @Option(names = "--yarn-factor", paramLabel = "F", description = "0: no rope scaling") Float yarnFactor;
    @Option(names = "--yarn-orig-ctx", paramLabel = "N") Integer yarnOrigCtx;
    @Option(names = "--yarn-beta-fast", paramLabel = "F") Float yarnBetaFast;
    @Option(names = "--yarn-beta-slow", paramLabel = "F") Float yarnBetaSlow;
    @Option(names = "--yarn-log-mul", paramLabel = "F") Float yarnLogMul;
    @Option(names = "--rms-eps", paramLabel = "F") Float rmsEps;
    @Option(names = "--gating", paramLabel = "G", description = "softmax or sigmoid") String gating;
    @Option(names = "--weights-scale", paramLabel = "F", description = "routed scaling factor; 0: none") Float weightsScale;
    @Option(names = "--weights-norm", paramLabel = "B", arity = "0..1", fallbackValue = "true") Boolean weightsNorm;
    @Option(names = "--tied", paramLabel = "B", arity = "0..1", fallbackValue = "true",
            description = "no output.weight: the head reuses token_embd") Boolean tied;

    @Override
    public Integer call() throws Exception {
        SynthSpec.Builder b;
        if (preset != null) {
            b = SynthSpec.presetBuilder(preset);
            if (arch != null && !arch.equals(b.arch())) {
                throw new IllegalArgumentException("preset " + preset + " is a " + b.arch() + " model, not --arch " + arch);
            }
        } else if (arch != null) {
            b = SynthSpec.builder(arch);
        } else {
            throw new IllegalArgumentException("give --arch or --preset");
        }
        if (out == null && !dryRun) {
            throw new IllegalArgumentException("give --out FILE (or --dry-run)");
        }
        if (out != null && !force && !dryRun && Files.exists(out)) {
            throw new IllegalArgumentException(out + " exists (--force replaces it)");
        }
        if (name != null) b.name(name);
        if (hidden != null) b.hidden(hidden);
        if (layers != null) b.layers(layers);
        if (heads != null) b.heads(heads);
        if (kvHeads != null) b.kvHeads(kvHeads);
        if (headDim != null) b.headDim(headDim);
        if (vocab != null) b.vocab(vocab);
        if (ffn != null) b.ffn(ffn);
        if (experts != null) b.experts(experts);
        if (used != null) b.used(used);
        if (expertFfn != null) b.expertFfn(expertFfn);
        if (sharedExperts != null) b.sharedExperts(sharedExperts);
        if (leadingDense != null) b.leadingDense(leadingDense);
        if (expertGroups != null) b.expertGroups(expertGroups);
        if (expertGroupsUsed != null) b.expertGroupsUsed(expertGroupsUsed);
        if (qLoraRank != null) b.qLoraRank(qLoraRank);
        if (kvLoraRank != null) b.kvLoraRank(kvLoraRank);
        if (ropeDims != null) b.ropeDims(ropeDims);
        if (nopeDims != null) b.nopeDims(nopeDims);
        if (vDim != null) b.vDim(vDim);
        if (ctx != null) b.ctx(ctx);
        if (ropeBase != null) b.ropeBase(ropeBase);
        if (yarnFactor != null) b.yarnFactor(yarnFactor);
        if (yarnOrigCtx != null) b.yarnOrigCtx(yarnOrigCtx);
        if (yarnBetaFast != null) b.yarnBetaFast(yarnBetaFast);
        if (yarnBetaSlow != null) b.yarnBetaSlow(yarnBetaSlow);
        if (yarnLogMul != null) b.yarnLogMul(yarnLogMul);
        if (rmsEps != null) b.rmsEps(rmsEps);
        if (gating != null) b.gatingFunc(gatingFunc(gating));
        if (weightsScale != null) b.weightsScale(weightsScale);
        if (weightsNorm != null) b.weightsNorm(weightsNorm);
        if (tied != null) b.tiedEmbeddings(tied);
        if (type != null) b.weightType(SynthSpec.parseType(type));
        if (seed != null) b.seed(seed);
        if ((hotExperts == null) != (hotShare == null)) {
            throw new IllegalArgumentException("give --hot-experts N and --hot-share P together");
        }
        if (hotExperts != null) b.hotExperts(hotExperts, hotShare);
        SynthSpec spec = b.build();

        PrintStream o = System.out;
        o.println(spec.summary());
        if (dryRun) {
            spec.fallbacks().forEach(f -> o.println("type fallback: " + f));
            return 0;
        }
        ModelSynthesizer s = new ModelSynthesizer(spec).overwrite(force).exactQuant(exactQuant).noData(noData).log(System.err::println);
        if (threads != null) {
            s.threads(threads);
        }
        ModelSynthesizer.Result r = s.write(out);
        double sec = r.time().toNanos() / 1e9;
        if (noData) {
            o.printf(Locale.ROOT, "wrote %s: %,d bytes (%s), shapes only: the data section is a sparse hole of zeros%n",
                    r.path(), r.fileBytes(), SynthSpec.formatBytes(r.fileBytes()));
            return 0;
        }
        o.printf(Locale.ROOT, "wrote %s: %,d bytes (%s) in %.1f s, %.0f MiB/s%n", r.path(), r.fileBytes(),
                SynthSpec.formatBytes(r.fileBytes()), sec, r.fileBytes() / 1048576.0 / Math.max(sec, 1e-9));
        return 0;
    }

    private static int gatingFunc(String g) {
        return switch (g.toLowerCase(Locale.ROOT)) {
            case "softmax", "1" -> 1;
            case "sigmoid", "2" -> 2;
            default -> throw new IllegalArgumentException("--gating " + g + ": softmax or sigmoid");
        };
    }
}
