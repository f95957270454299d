package io.trillium.benchmarks;

import io.trillium.quant.Numerics;
import io.trillium.backend.CpuBackend;
import io.trillium.model.LanguageModel;
import io.trillium.model.Models;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;

/**
 * Heap bytes allocated per decoded token, over all live threads (the caller and the pool's workers),
 * measured with {@code com.sun.management.ThreadMXBean.getThreadAllocatedBytes}. Not a JMH benchmark:
 * run it with {@code java --add-modules jdk.incubator.vector -cp benchmarks/target/benchmarks.jar
 * io.trillium.benchmarks.DecodeAllocation MODEL.gguf[,MODEL2.gguf...] [threads] [tokens]} (4 rounds; the first
 * ones warm up the JIT); add
 * {@code -Dalloc.jfr=alloc.jfr} to record allocation samples of the last round only, then read
 * {@code jfr print --events jdk.ObjectAllocationSample --stack-depth 8 alloc.jfr} to find the sites.
 */
public final class DecodeAllocation {
    private DecodeAllocation() {
    }

    public static void main(String[] args) throws java.io.IOException {
        int threads = args.length > 1 ? Integer.parseInt(args[1]) : 2;
        int tokens = args.length > 2 ? Integer.parseInt(args[2]) : 200;
        for (String m : args[0].split(",")) {   // several models, one after the other, in one JVM
            run(Path.of(m), threads, tokens);
        }
    }

    private static void run(Path model, int threads, int tokens) throws java.io.IOException {
        var mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        try (LanguageModel m = Models.load(model, new CpuBackend(threads, Numerics.EXACT))) {
            LanguageModel.State s = m.newState(Math.min(m.config().contextLength(), 2 * tokens + 8));
            int[] one = {1};
            String jfr = System.getProperty("alloc.jfr");
            jdk.jfr.Recording rec = null;
            for (int round = 0; round < 4; round++) {   // the first rounds warm up the JIT
                s.reset();
                if (round == 3 && jfr != null) {
                    rec = new jdk.jfr.Recording();
                    rec.enable("jdk.ObjectAllocationSample").with("throttle", "off").withStackTrace();
                    rec.start();
                }
                float[] logits = m.forward(s, one);
                long[] ids = mx.getAllThreadIds();
                long caller = mx.getCurrentThreadAllocatedBytes();
                long all = sum(mx.getThreadAllocatedBytes(ids));
                long t0 = System.nanoTime();
                for (int i = 0; i < tokens; i++) {
                    one[0] = argmax(logits);
                    logits = m.forward(s, one);
                }
                long ns = System.nanoTime() - t0;
                long callerBytes = mx.getCurrentThreadAllocatedBytes() - caller;
                long allBytes = sum(mx.getThreadAllocatedBytes(ids)) - all;
                System.out.printf("%s round %d: %d tokens, %.1f tok/s, caller %.1f B/token, all threads %.1f B/token%n",
                        model.getFileName(), round, tokens, tokens / (ns / 1e9),
                        (double) callerBytes / tokens, (double) allBytes / tokens);
            }
            if (rec != null) {
                rec.stop();
                rec.dump(Path.of(jfr + "." + model.getFileName() + ".jfr"));
                rec.close();
            }
        }
    }

    private static long sum(long[] v) {
        long s = 0;
        for (long x : v) {
            s += Math.max(0, x);
        }
        return s;
    }

    private static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }
}
