package io.trillium.model;

import io.trillium.backend.CpuBackend;
import io.trillium.backend.MlaHeads;
import io.trillium.kv.LatentKvCache;
import io.trillium.moe.ExpertExecutor;
import io.trillium.moe.Prefetcher;
import io.trillium.moe.Router;

/** A deepseek2 sequence: position, latent cache and every scratch vector of the decode loop (allocated once). */
final class MlaState implements LanguageModel.State {
    final LatentKvCache cache;
    int pos;
    final float[] x;
    final float[] h;
    final float[] out;
    final float[] qa;
    final float[] q;
    final float[] kv;
    final float[] qAbs;   // per head [q_abs | q_pe]
    final float[] oLat;
    final float[] o;
    final float[] att;
    final float[] cos;
    final float[] sin;
    final float[] denseGate;
    final float[] denseUp;
    final float[] shGate;
    final float[] shUp;
    final float[] routerLogits;
    final int[] ids;
    final int[] hostIds;
    final float[] hostWeights;
    final float[] weights;
    final Router router;
    final ExpertExecutor experts;
    final Prefetcher.Scratch prefetch;
    final float[] logits;
    /** The per-head products and attention of a decode step on a CPU backend; null on another one. */
    final MlaHeads heads;
    final DeviceState dev;

    private final DeepseekModel model;

    /** {@code dev}: the state's vectors on the model's device, or null (the host step). */
    MlaState(DeepseekModel model, int capacity, DeviceState dev) {
        this.model = model;
        ModelConfig cfg = model.config();
        int sharedFfn = model.sharedFfn;
        this.capacity = capacity;
        this.dev = dev;
        int nope = cfg.nopeDim();
        int ropeDims = cfg.ropeDims();
        int kvLora = cfg.kvLoraRank();
        int vDim = cfg.vHeadDim();
        x = new float[cfg.hidden()];
        h = new float[cfg.hidden()];
        out = new float[cfg.hidden()];
        qa = new float[Math.max(1, cfg.qLoraRank())];
        q = new float[cfg.heads() * (nope + ropeDims)];
        kv = new float[kvLora + ropeDims];
        qAbs = new float[cfg.heads() * (kvLora + ropeDims)];
        oLat = new float[cfg.heads() * kvLora];
        o = new float[cfg.heads() * vDim];
        cos = new float[ropeDims / 2];
        sin = new float[ropeDims / 2];
        denseGate = new float[Math.max(1, cfg.ffn())];
        denseUp = new float[Math.max(1, cfg.ffn())];
        shGate = new float[Math.max(1, sharedFfn)];
        shUp = new float[Math.max(1, sharedFfn)];
        routerLogits = new float[Math.max(1, cfg.experts())];
        ids = new int[Math.max(1, cfg.expertsUsed())];
        hostIds = new int[Math.max(1, cfg.expertsUsed())];
        hostWeights = new float[Math.max(1, cfg.expertsUsed())];
        weights = new float[Math.max(1, cfg.expertsUsed())];
        logits = new float[cfg.vocab()];
        // the host cache only when the device does not hold it (a long context's cache is many GiB)
        cache = dev == null ? new LatentKvCache(cfg.layers(), kvLora, ropeDims, capacity) : null;
        att = dev == null ? new float[Math.multiplyExact(cfg.heads(), capacity)] : null;
        router = cfg.experts() > 0 ? new Router(cfg.routing()) : null;
        experts = cfg.experts() > 0
                ? new ExpertExecutor(model.expertSource(), model.backend, cfg.hidden(), cfg.expertFfn(),
                cfg.expertsUsed()) : null;
        prefetch = model.prefetcher() != null ? model.prefetcher().newScratch() : null;
        heads = dev == null && model.backend instanceof CpuBackend cpu ? new MlaHeads(cpu, model.mlaShape) : null;
    }

    final int capacity;
    boolean closed;

    void checkFits(int position, int n) {
        if (closed) {
            throw new IllegalStateException("the state was closed");
        }
        if ((long) position + n > capacity) {
            throw new IllegalArgumentException((position + (long) n) + " tokens exceed the context of " + capacity);
        }
    }

    private DeviceState hostPrefillState;

    /** The CPU prefill's vectors over this state's own latent cache, made on the first prompt. */
    DeviceState hostPrefill() {
        if (hostPrefillState == null) {
            hostPrefillState = new DeviceState(model.hostPrefill.device(), model.config(), model.sharedFfn, capacity, cache);
        }
        return hostPrefillState;
    }

    @Override
    public void close() {
        closed = true;
        if (dev != null) {
            dev.close();
        }
        if (hostPrefillState != null) {
            hostPrefillState.close();
            hostPrefillState = null;
        }
    }

    DeepseekModel model() {
        return model;
    }

    @Override
    public int position() {
        return pos;
    }

    @Override
    public int capacity() {
        return capacity;
    }

    @Override
    public void reset() {
        pos = 0;
    }
}
