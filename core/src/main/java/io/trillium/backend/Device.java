package io.trillium.backend;

import io.trillium.quant.Tensor;

/**
 * Vectors and matrices held by a backend in its own memory (VRAM for a GPU), and the operations of a
 * decode step on them: what lets a model keep its whole always-active part on the device, with only the
 * hidden state crossing to the host for the routed experts. Operations are queued in call order and may
 * run asynchronously; {@link #download} waits for everything queued before it. One thread at a time.
 *
 * <p>The formulas are those of the host code ({@code Ops}, {@code Rope}, the model's attention), which
 * the reference implementation in the tests uses directly.
 */
public interface Device {

    /**
     * A device vector of {@code floats} values; {@code handle} is the device's own (an address for CUDA).
     * {@code host}: the array itself on a device whose vectors live in host memory ({@link CpuDevice}: its
     * operations take their operands from here, no lookup), else null.
     */
    record Vec(long handle, int floats, float[] host) {
        /** A vector in the device's own memory. */
        public Vec(long handle, int floats) {
            this(handle, floats, null);
        }
    }

    /** A weight matrix on the device: {@code tensor}'s bytes, unchanged. */
    record Mat(long handle, Tensor tensor) {
    }

    /** What the device is, for logs and metrics. */
    String name();

    /** {@code floats} zeros on the device, tagged for the memory report ("activations", "kv cache" ...). */
    Vec vector(String tag, int floats);

    /** Frees {@code v}; null is ignored. */
    void release(Vec v);

    /** Frees the device copy of {@code m} (a matrix this device gave out); null is ignored. */
    void release(Mat m);

    /** Bytes the device could still allocate now (its budget less what is in use and a working reserve). */
    long available();

    /**
     * {@code w} (2-D, or a 3-D stack) on the device, uploaded once and kept until the device closes;
     * null when the device has no kernel for its type or no room for it (the caller then computes on
     * the host).
     */
    Mat matrix(Tensor w);

    /** {@code dst[dstOff ..] = src[srcOff .. srcOff + n)}; {@code src} may be reused as soon as this returns. */
    void upload(float[] src, int srcOff, Vec dst, int dstOff, int n);

    /** Waits for everything queued, then {@code dst[dstOff ..] = src[srcOff .. srcOff + n)}. */
    void download(Vec src, int srcOff, float[] dst, int dstOff, int n);

    /**
     * {@code heads} mat-vecs of {@code rows} rows each: head {@code h} uses the rows starting
     * {@code h · headBytes} bytes into {@code w}, reads {@code x[xOff + h·xStride ..]} (the row length) and
     * writes {@code y[yOff + h·yStride ..]} ({@code rows} values).
     */
    void matVec(Mat w, int rows, int heads, long headBytes, Vec x, int xOff, int xStride, Vec y, int yOff, int yStride);

    /**
     * A batch of tokens through {@code w} (prefill): {@code y[yOff + t·yStride + r] = row(r) · x[xOff + t·xStride ..]}
     * for every row {@code r} and {@code t < tokens}; the weights are read once for the whole batch.
     */
    void matMul(Mat w, Vec x, int xOff, int xStride, Vec y, int yOff, int yStride, int tokens);

    /**
     * {@code w}'s bytes in staging slot {@code slot} (a routed expert streamed for a prefill batch):
     * valid until the slot is staged again; null when the device has no kernel for its type or no room.
     */
    Mat stage(Tensor w, int slot);

    /** {@code y = w · x} over all rows of the 2-D matrix {@code w}. */
    default void matVec(Mat w, Vec x, Vec y) {
        matVec(w, Math.toIntExact(w.tensor().rowCount()), 1, 0, x, 0, 0, y, 0, 0);
    }

    /** {@code out[outOff ..] = rmsnorm(x[xOff .. xOff + n)) ⊙ w} (out may be x). */
    void rmsnorm(Vec out, int outOff, Vec x, int xOff, Vec w, int n, float eps);

    /** RMSNorm of {@code count} vectors of {@code n} values, {@code stride} apart in both (out may be x). */
    void rmsnorm(Vec out, Vec x, Vec w, int n, int count, int stride, float eps);

    /**
     * Rotates {@code count} vectors {@code x[k·stride + offset ..]} of {@code dims} values by the angles
     * {@code cs[csOff ..] = [cos (dims/2) | sin (dims/2)]}; NEOX pairs halves, NORM adjacent values.
     */
    void rope(Vec x, int count, int stride, int offset, Vec cs, int csOff, int dims, boolean neox);

    /** {@code count} copies of {@code n} values: {@code dst[dstOff + k·dstStride ..] = src[srcOff + k·srcStride ..]}. */
    void copy(Vec src, int srcOff, int srcStride, Vec dst, int dstOff, int dstStride, int n, int count);

    /**
     * MLA decode attention of {@code heads} heads over the first {@code npos} entries
     * {@code [c (kvLora) | k_pe (rope)]} of the cache starting at {@code cacheOff}:
     * {@code att[h] = softmax(qAbs[h]·entry · scale)}, {@code oLat[h] = Σ att[h][t]·c[t]};
     * {@code att} holds {@code attStride} values per head.
     */
    void mlaAttend(Vec qAbs, Vec cache, int cacheOff, Vec att, Vec oLat, int heads, int kvLora, int rope, int npos,
                   int attStride, float scale);

    /**
     * The per-head part of absorbed MLA attention for {@code tokens} consecutive tokens, the first at cache
     * position {@code p0} (their entries already cached): for each token {@code t} and head {@code h}, from
     * {@code q[t·heads·qHead + h·qHead ..] = [q_nope | q_pe]} (rope applied), {@code qAbs = [k_b[h]·q_nope | q_pe]},
     * attention over positions {@code ≤ p0 + t}, and {@code o[t·heads·vDim + h·vDim ..] = v_b[h]·oLat[h]}.
     * {@code kB} holds the heads' kv_lora-row matrices {@code kBHeadBytes} apart, {@code vB} their vDim-row ones.
     * Scratch of one token: {@code qAbs} ({@code heads·width}), {@code att} ({@code heads·attStride}),
     * {@code oLat} ({@code heads·kvLora}). By default token after token through the operations above.
     */
    default void mlaHeads(Mat kB, long kBHeadBytes, Mat vB, long vBHeadBytes, MlaHeads.Shape shape, Vec q,
                          Vec cache, int p0, int tokens, Vec o, Vec qAbs, Vec att, int attStride, Vec oLat) {
        int heads = shape.heads();
        int qDim = heads * shape.qHead();
        for (int t = 0; t < tokens; t++) {
            matVec(kB, shape.kvLora(), heads, kBHeadBytes, q, t * qDim, shape.qHead(), qAbs, 0, shape.width());
            copy(q, t * qDim + shape.nope(), shape.qHead(), qAbs, shape.kvLora(), shape.width(), shape.rope(), heads);
            mlaAttend(qAbs, cache, 0, att, oLat, heads, shape.kvLora(), shape.rope(), p0 + t + 1, attStride,
                    shape.scale());
            matVec(vB, shape.vDim(), heads, vBHeadBytes, oLat, 0, shape.kvLora(), o, t * heads * shape.vDim(),
                    shape.vDim());
        }
    }

    /** {@code gate[i] = silu(gate[i]) · up[i]}. */
    void swiglu(Vec gate, Vec up, int n);

    /** {@code y[i] += x[i]} over {@code n} values. */
    default void add(Vec y, Vec x, int n) {
        axpy(y, 1f, x, n);
    }

    /** {@code y[i] += a · x[i]} over {@code n} values. */
    void axpy(Vec y, float a, Vec x, int n);
}
