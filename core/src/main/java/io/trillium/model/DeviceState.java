package io.trillium.model;

import io.trillium.backend.Device;
import io.trillium.kv.LatentKvCache;

/**
 * A deepseek2 state's vectors and latent KV cache on a {@link Device} (the GPU step, and the batched prefill on
 * the CPU device over the host state's own cache).
 */
final class DeviceState {
    final Device d;
    final Device.Vec x;
    final Device.Vec h;
    final Device.Vec qa;
    final Device.Vec q;
    final Device.Vec kv;
    final Device.Vec qAbs;
    final Device.Vec oLat;
    final Device.Vec o;
    final Device.Vec out;
    final Device.Vec att;
    final Device.Vec cs;
    final Device.Vec ffnGate;
    final Device.Vec ffnUp;
    final Device.Vec experts;
    final Device.Vec routerLogits;
    final Device.Vec logits;
    final Device.Vec expGate;   // a VRAM expert's scratch
    final Device.Vec expUp;
    final Device.Vec expOut;
    final float[] csHost;
    private final java.util.List<Device.Vec> all = new java.util.ArrayList<>();

    /** Per layer the latent cache: in device memory, or the host state's own arrays (CPU prefill). */
    final Device.Vec[] layerCaches;

    /** {@code hostCache}: the CPU prefill writes the host state's own latent cache; null: one in device memory. */
    DeviceState(Device d, ModelConfig cfg, int sharedFfn, int capacity, LatentKvCache hostCache) {
        this.d = d;
        int kvLora = cfg.kvLoraRank();
        int ropeDims = cfg.ropeDims();
        int width = kvLora + ropeDims;
        this.csHost = new float[ropeDims];
        this.layerCaches = new Device.Vec[cfg.layers()];
        try {
            x = v("activations", cfg.hidden());
            h = v("activations", cfg.hidden());
            qa = v("activations", Math.max(1, cfg.qLoraRank()));
            q = v("activations", cfg.heads() * (cfg.nopeDim() + ropeDims));
            kv = v("activations", width);
            qAbs = v("activations", cfg.heads() * width);
            oLat = v("activations", cfg.heads() * kvLora);
            o = v("activations", cfg.heads() * cfg.vHeadDim());
            out = v("activations", cfg.hidden());
            att = v("activations", Math.multiplyExact(cfg.heads(), capacity));
            cs = v("activations", ropeDims);
            int ffn = Math.max(1, Math.max(cfg.ffn(), sharedFfn));
            ffnGate = v("activations", ffn);
            ffnUp = v("activations", ffn);
            experts = v("activations", cfg.hidden());
            routerLogits = v("activations", Math.max(1, cfg.experts()));
            logits = v("activations", cfg.vocab());
            for (int l = 0; l < layerCaches.length; l++) {   // one vector per layer: 61 x 256k x 576 floats overflow an int
                layerCaches[l] = hostCache != null ? ((io.trillium.backend.CpuDevice) d).wrap(hostCache.layer(l))
                        : d.vector("kv cache", Math.multiplyExact(capacity, width));
                all.add(layerCaches[l]);
            }
            expGate = v("activations", Math.max(1, cfg.expertFfn()));
            expUp = v("activations", Math.max(1, cfg.expertFfn()));
            expOut = v("activations", cfg.hidden());
        } catch (RuntimeException | Error e) {
            close();
            throw e;
        }
    }

    private Device.Vec v(String tag, int floats) {
        Device.Vec r = d.vector(tag, floats);
        all.add(r);
        return r;
    }

    /** Layer {@code l}'s latent cache. */
    Device.Vec cache(int l) {
        return layerCaches[l];
    }

    void close() {
        all.forEach(d::release);
        all.clear();
    }
}
