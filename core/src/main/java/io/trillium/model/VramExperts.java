package io.trillium.model;

import io.trillium.backend.Device;
import io.trillium.gguf.TensorSource;
import io.trillium.moe.ExpertStats;
import io.trillium.moe.Prefetcher;
import io.trillium.quant.Tensor;

/**
 * The routed experts chosen most often so far (the prefetcher's counts), kept in VRAM within half of
 * what the device would have free without them, so that decode computes them there instead of on the host. Re-ranked every
 * {@link DeepseekModel#vramExpertsEvery} decode tokens; given back when a new state needs the room.
 */
final class VramExperts {
    /** New experts uploaded per re-ranking (a K2.5 expert is 25 MB: 16 take ~15 ms over PCIe 4). */
    static final int UPLOADS_PER_REBALANCE = 16;
    private final TensorSource gguf;
    private final ModelConfig cfg;
    private final DeepseekWeights.Layer[] layers;
    private final Prefetcher prefetcher;   // its counts rank the experts
    final java.util.Map<Long, Device.Mat[]> resident = new java.util.HashMap<>();
    long tokens;
    long computed;
    long uploads;

    VramExperts(TensorSource gguf, ModelConfig cfg, DeepseekWeights.Layer[] layers, Prefetcher prefetcher) {
        this.gguf = gguf;
        this.cfg = cfg;
        this.layers = layers;
        this.prefetcher = prefetcher;
    }

    Device.Mat[] get(int layer, int expert) {
        return resident.get(((long) layer << 32) | expert);
    }

    /** The three stacked expert tensors of {@code layer}, or null when the model has no such GGUF stacks. */
    private Tensor[] stacks(int layer) {
        String p = "blk." + layer + ".";
        String[] names = {p + "ffn_gate_exps.weight", p + "ffn_up_exps.weight", p + "ffn_down_exps.weight"};
        Tensor[] t = new Tensor[3];
        for (int i = 0; i < 3; i++) {
            if (!gguf.hasTensor(names[i])) {
                return null;
            }
            t[i] = gguf.tensor(names[i]);
        }
        return t;
    }

    void rebalance(Device d) {
        ExpertStats stats = prefetcher.stats();
        record Candidate(int layer, int expert, long count, long bytes) {
        }
        java.util.List<Candidate> all = new java.util.ArrayList<>();
        Tensor[][] stacks = new Tensor[layers.length][];
        long held = 0;
        for (int l = 0; l < layers.length; l++) {
            if (layers[l].router() == null || (stacks[l] = stacks(l)) == null) {
                continue;
            }
            long bytes = 0;
            for (Tensor t : stacks[l]) {
                bytes += t.expert(0).data().byteSize();
            }
            for (int e = 0; e < cfg.experts(); e++) {
                long c = stats.count(l, e);
                if (c > 0) {
                    all.add(new Candidate(l, e, c, bytes));
                }
                if (get(l, e) != null) {
                    held += bytes;
                }
            }
        }
        all.sort(java.util.Comparator.comparingLong(Candidate::count).reversed());
        long room = (d.available() + held) / 2;   // half of what would be free without them
        java.util.Set<Long> chosen = new java.util.LinkedHashSet<>();   // most chosen first
        long used = 0;
        for (Candidate c : all) {
            if (used + c.bytes() > room) {
                break;
            }
            used += c.bytes();
            chosen.add(((long) c.layer() << 32) | c.expert());
        }
        for (var it = resident.entrySet().iterator(); it.hasNext(); ) {
            var e = it.next();
            if (!chosen.contains(e.getKey())) {
                for (Device.Mat m : e.getValue()) {
                    d.release(m);
                }
                it.remove();
            }
        }
        int added = 0;
        for (long key : chosen) {
            if (resident.containsKey(key)) {
                continue;
            }
            if (added++ == UPLOADS_PER_REBALANCE) {
                return;   // the rest at the next re-ranking: a step never stalls for long on uploads
            }
            int l = (int) (key >>> 32);
            int e = (int) key;
            Device.Mat[] m = new Device.Mat[3];
            for (int i = 0; i < 3; i++) {
                m[i] = d.matrix(stacks[l][i].expert(e));
                if (m[i] == null) {   // no kernel for the type, or no room after all: keep what fits
                    for (int j = 0; j < i; j++) {
                        d.release(m[j]);
                    }
                    return;
                }
            }
            resident.put(key, m);
            uploads++;
        }
    }

    void evictAll(Device d) {
        resident.values().forEach(ms -> {
            for (Device.Mat m : ms) {
                d.release(m);
            }
        });
        resident.clear();
    }
}
