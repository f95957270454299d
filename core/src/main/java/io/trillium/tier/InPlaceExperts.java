package io.trillium.tier;

import io.trillium.moe.ExpertSource;
import io.trillium.moe.ExpertWeights;
import io.trillium.quant.Tensor;

import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Experts computed on where an in-place tier holds them (PMem mapped with DAX): views are made once
 * at load, nothing is copied into DRAM, and every expert handed out counts as bytes read from the tier.
 */
public final class InPlaceExperts implements ExpertSource, AutoCloseable {
    private final Tier tier;
    private final ExpertWeights[][] experts;
    private final long[] expertBytes;
    private final AtomicLong delivered = new AtomicLong();

    /** The experts {@code layout} locates, mapped by {@code tier} (which {@link #close()} closes). */
    public InPlaceExperts(ExpertLayout layout, Tier tier) {
        if (!tier.inPlace()) {
            throw new IllegalArgumentException("tier '" + tier.name() + "' cannot be computed on in place");
        }
        this.tier = tier;
        this.experts = new ExpertWeights[layout.layers()][];
        this.expertBytes = new long[layout.layers()];
        for (int l = 0; l < layout.layers(); l++) {
            if (!layout.isMoe(l)) {
                continue;
            }
            experts[l] = new ExpertWeights[layout.experts()];
            expertBytes[l] = layout.expertBytes(l);
            for (int e = 0; e < layout.experts(); e++) {
                ExpertLayout.Part[] p = layout.parts(l, e);
                Tensor[] t = new Tensor[3];
                for (int k = 0; k < 3; k++) {
                    t[k] = new Tensor(p[k].name(), p[k].type(), new long[] {p[k].cols(), p[k].rows()},
                            tier.read(p[k].file(), p[k].offset(), p[k].bytes(), null), p[k].scaleBytes() == 0 ? null
                            : tier.read(p[k].scaleFile(), p[k].scaleOffset(), p[k].scaleBytes(), null));
                }
                experts[l][e] = new ExpertWeights(t[0], t[1], t[2]);
            }
        }
    }

    /** Views made at load: any number may be held at once. */
    @Override
    public boolean holdsAny() {
        return true;
    }

    @Override
    public ExpertWeights expert(int layer, int expert) {
        ExpertWeights w = experts[layer][expert];
        delivered.addAndGet(expertBytes[layer]);
        return w;
    }

    @Override
    public Map<String, Long> bytesRead() {
        return Map.of(tier.name(), delivered.get());
    }

    @Override
    public void close() {
        tier.close();
    }
}
