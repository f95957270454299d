package io.trillium.tier;

import io.trillium.gguf.GgufFile;
import io.trillium.gguf.GgufTensorInfo;
import io.trillium.quant.GgmlType;

import java.nio.file.Path;

/**
 * Where each routed expert's three matrices lie in files, so a slow tier can read an expert without
 * knowing the file format: GGUF's stacked {@code ffn_*_exps} tensors (three ranges per expert), a
 * repacked expert-major file (one range), a safetensors checkpoint (one entry per matrix).
 */
public interface ExpertLayout {
    /**
     * One matrix of one expert: {@code rows × cols} of {@code type}, {@code bytes} at {@code offset} of
     * {@code file}; types with separate scales (a checkpoint's INT4 or FP8) also have {@code scaleBytes}
     * at {@code scaleOffset} of {@code scaleFile} (else null, 0, 0).
     */
    record Part(String name, Path file, long offset, long bytes, GgmlType type, long cols, long rows,
                Path scaleFile, long scaleOffset, long scaleBytes) {
        /** A part without separate scales. */
        public Part(String name, Path file, long offset, long bytes, GgmlType type, long cols, long rows) {
            this(name, file, offset, bytes, type, cols, rows, null, 0, 0);
        }

        /** Bytes of the matrix and its scales. */
        public long totalBytes() {
            return bytes + scaleBytes;
        }
    }

    /** Layers of the model (dense ones included). */
    int layers();

    /** Routed experts per MoE layer. */
    int experts();

    /** Whether {@code layer} has routed experts. */
    boolean isMoe(int layer);

    /** Gate, up and down of expert {@code expert} of MoE layer {@code layer}, in that order. */
    Part[] parts(int layer, int expert);

    /** Bytes of one expert of {@code layer} (its three parts, scales included). */
    default long expertBytes(int layer) {
        long n = 0;
        for (Part p : parts(layer, 0)) {
            n += p.totalBytes();
        }
        return n;
    }

    /** The stacked expert tensors {@code blk.L.ffn_{gate,up,down}_exps.weight} of a GGUF file (expert = last dim). */
    static ExpertLayout gguf(GgufFile gguf, boolean[] isMoe, int experts) {
        String[] which = {"gate", "up", "down"};
        GgufTensorInfo[][] stacks = new GgufTensorInfo[isMoe.length][];
        for (int l = 0; l < isMoe.length; l++) {
            if (!isMoe[l]) {
                continue;
            }
            stacks[l] = new GgufTensorInfo[3];
            for (int k = 0; k < 3; k++) {
                GgufTensorInfo t = gguf.tensorInfo("blk." + l + ".ffn_" + which[k] + "_exps.weight");
                if (t.rank() != 3 || t.dim(2) != experts) {
                    throw new IllegalArgumentException(t + " in " + gguf.files().getFirst()
                            + ": expected 3 dims with " + experts + " experts last");
                }
                stacks[l][k] = t;
            }
        }
        boolean[] moe = isMoe.clone();
        return new ExpertLayout() {
            @Override
            public int layers() {
                return moe.length;
            }

            @Override
            public int experts() {
                return experts;
            }

            @Override
            public boolean isMoe(int layer) {
                return moe[layer];
            }

            @Override
            public Part[] parts(int layer, int expert) {
                GgufTensorInfo[] s = stacks[layer];
                if (s == null || expert < 0 || expert >= experts) {
                    throw new IndexOutOfBoundsException("no expert " + expert + " in layer " + layer);
                }
                Part[] p = new Part[3];
                for (int k = 0; k < 3; k++) {
                    GgufTensorInfo t = s[k];
                    long bytes = t.type().bytesFor(t.dim(0) * t.dim(1));
                    p[k] = new Part(t.name() + "[expert " + expert + "]", gguf.files().get(t.part()),
                            t.fileOffset() + expert * bytes, bytes, t.type(), t.dim(0), t.dim(1));
                }
                return p;
            }
        };
    }
}
