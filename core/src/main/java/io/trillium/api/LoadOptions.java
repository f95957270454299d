package io.trillium.api;

import io.trillium.model.ForwardOptions;
import io.trillium.quant.Numerics;
import io.trillium.tier.ExpertCache;

import java.nio.file.Path;

/**
 * How {@link Trillium#load} opens a model.
 *
 * @param threads              compute threads (at least 1)
 * @param numerics             {@link Numerics#QUANTIZED} (default: llama.cpp's numerics, activations quantized to
 *                             8 bits for the integer kernels) or {@link Numerics#EXACT} (float activations)
 * @param contextLength        default context length of {@link Model#newSession()}; 0 = the model's trained context
 * @param expertTier           where the routed experts are read from
 * @param dramBudget           bytes of DRAM for cached experts (NVMe tier; required there), 0 = no limit given,
 *                             {@link #AUTO_BUDGET} = what the process's memory limit (RAM or cgroup) leaves
 *                             beside the always-active weights, the heap and the runtime
 * @param hotExperts           expert statistics (from {@code trillium profile}) whose most chosen experts
 *                             are pinned in DRAM (half the budget), or null
 * @param strictDax            PMem tier: fail, rather than warn and map normally, when the file is not on DAX
 * @param cachePolicy          NVMe tier: eviction of the unpinned cached experts (default LFU)
 * @param predictExperts       NVMe tier: also read the experts layer L+1's router predicts from layer L's input
 *                             (off by default: on the measured machines the wrong guesses cost more reads
 *                             than the right ones hide; the chosen experts' reads always start together)
 * @param gpu                  {@link #GPU_OFF} (default), {@link #GPU_AUTO} (an installed GPU backend, such as
 *                             the {@code trillium-cuda} module, when it finds a device; else the CPU, with the
 *                             reason logged) or a device number (an error when it cannot be used)
 * @param vramBudget           bytes of device memory for the GPU backend; 0 = what the device has free, less a reserve
 * @param forward              how the forward pass runs (batched prefill, the GPU's expert policies; default
 *                             {@link ForwardOptions#DEFAULT}, what the measurements chose)
 */
public record LoadOptions(int threads, Numerics numerics, int contextLength, ExpertTier expertTier,
                          long dramBudget, Path hotExperts, boolean strictDax, ExpertCache.Policy cachePolicy,
                          boolean predictExperts, int gpu, long vramBudget, ForwardOptions forward) {
    /** {@link #gpu()}: the CPU only. */
    public static final int GPU_OFF = -2;
    /** {@link #gpu()}: a GPU backend when one is installed and finds a device, else the CPU. */
    public static final int GPU_AUTO = -1;


    /** {@link #dramBudget()}: size the expert cache from the memory limit. */
    public static final long AUTO_BUDGET = -1;

    /** Where the routed experts live; the rest of the weights is always mapped from the model file. */
    public enum ExpertTier {
        /** Read in place from the mapped model file: every expert in DRAM (the page cache). */
        DRAM,
        /** Computed on in place from the file mapped with DAX (Optane PMem); no DRAM copy. */
        PMEM,
        /** Read with direct I/O into an expert cache of {@link #dramBudget} bytes (LRU with a pinned hot set). */
        NVME
    }

    /** Validates. */
    public LoadOptions {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1: " + threads);
        }
        if (contextLength < 0) {
            throw new IllegalArgumentException("contextLength must be >= 0: " + contextLength);
        }
        if (gpu < GPU_OFF || vramBudget < 0) {
            throw new IllegalArgumentException("gpu must be GPU_OFF, GPU_AUTO or a device number, and vramBudget >= 0: "
                    + gpu + ", " + vramBudget);
        }
        if (expertTier == null || cachePolicy == null || numerics == null || forward == null) {
            throw new IllegalArgumentException("numerics, expertTier, cachePolicy and forward must not be null");
        }
        if (dramBudget < 0 && dramBudget != AUTO_BUDGET) {
            throw new IllegalArgumentException("dramBudget must be >= 0: " + dramBudget);
        }
        if (expertTier == ExpertTier.NVME && dramBudget == 0) {
            throw new IllegalArgumentException("the NVMe expert tier needs a DRAM budget for its expert cache");
        }
    }

    /** Whether activations are quantized ({@link Numerics#QUANTIZED}). */
    public boolean quantizedActivations() {
        return numerics == Numerics.QUANTIZED;
    }

    /** All processors, llama.cpp's numerics, the model's context length, experts mapped in DRAM. */
    public static LoadOptions defaults() {
        return builder().build();
    }

    /** A builder starting from {@link #defaults()}. */
    public static Builder builder() {
        return new Builder();
    }

    /** Builds {@link LoadOptions}. */
    public static final class Builder {
        private int threads = Runtime.getRuntime().availableProcessors();
        private Numerics numerics = Numerics.DEFAULT;
        private int contextLength;
        private ExpertTier expertTier = ExpertTier.DRAM;
        private long dramBudget;
        private Path hotExperts;
        private boolean strictDax;
        private ExpertCache.Policy cachePolicy = ExpertCache.Policy.LFU;   // the better hit rate, measured (README)
        private boolean predictExperts;
        private int gpu = GPU_OFF;   // the GPU backend is not yet verified on a device (README)
        private long vramBudget;
        private ForwardOptions forward = ForwardOptions.DEFAULT;

        private Builder() {
        }

        /** Compute threads. */
        public Builder threads(int threads) {
            this.threads = threads;
            return this;
        }

        /** {@link Numerics#QUANTIZED} (default, llama.cpp's) or {@link Numerics#EXACT} (float activations). */
        public Builder numerics(Numerics numerics) {
            this.numerics = numerics;
            return this;
        }

        /**
         * {@code true}: {@link Numerics#QUANTIZED}, {@code false}: {@link Numerics#EXACT}.
         *
         * @deprecated quantized activations are the default now; use {@link #numerics(Numerics)}
         */
        @Deprecated
        public Builder quantizedActivations(boolean on) {
            return numerics(on ? Numerics.QUANTIZED : Numerics.EXACT);
        }

        /** Default session context length (0 = the model's). */
        public Builder contextLength(int tokens) {
            this.contextLength = tokens;
            return this;
        }

        /** Where the routed experts are read from. */
        public Builder expertTier(ExpertTier tier) {
            this.expertTier = tier;
            return this;
        }

        /** DRAM for cached experts, in bytes, or {@link #AUTO_BUDGET}. */
        public Builder dramBudget(long bytes) {
            this.dramBudget = bytes;
            return this;
        }

        /** Expert statistics whose most chosen experts are pinned in DRAM (null: none). */
        public Builder hotExperts(Path stats) {
            this.hotExperts = stats;
            return this;
        }

        /** PMem tier: require a DAX file system. */
        public Builder strictDax(boolean on) {
            this.strictDax = on;
            return this;
        }

        /** NVMe tier: how unpinned cached experts are evicted. */
        public Builder cachePolicy(ExpertCache.Policy policy) {
            this.cachePolicy = policy;
            return this;
        }

        /** NVMe tier: prefetch the experts predicted for the next layer. */
        public Builder predictExperts(boolean on) {
            this.predictExperts = on;
            return this;
        }

        /** {@link LoadOptions#GPU_OFF}, {@link LoadOptions#GPU_AUTO} or a device number. */
        public Builder gpu(int gpu) {
            this.gpu = gpu;
            return this;
        }

        /** Bytes of device memory for the GPU backend (0: free memory less a reserve). */
        public Builder vramBudget(long bytes) {
            this.vramBudget = bytes;
            return this;
        }

        /** How the forward pass runs (default {@link ForwardOptions#DEFAULT}). */
        public Builder forward(ForwardOptions options) {
            this.forward = options;
            return this;
        }

        /** The options. */
        public LoadOptions build() {
            return new LoadOptions(threads, numerics, contextLength, expertTier, dramBudget, hotExperts,
                    strictDax, cachePolicy, predictExperts, gpu, vramBudget, forward);
        }
    }
}
