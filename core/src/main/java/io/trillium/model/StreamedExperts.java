package io.trillium.model;

import io.trillium.backend.ComputeBackend;
import io.trillium.backend.Device;
import io.trillium.backend.Ops;
import io.trillium.moe.ExpertExecutor;
import io.trillium.moe.ExpertSource;
import io.trillium.moe.ExpertWeights;

import java.util.Arrays;

/**
 * A device prefill batch's routed experts streamed to the device: worth it from
 * {@link DeepseekModel#streamExpertsFrom} tokens on, where one transfer of an expert costs less than the CPU's
 * work on all of its tokens.
 */
final class StreamedExperts {
    private final ModelConfig cfg;
    private final ExpertSource experts;
    private final ComputeBackend backend;   // its host backend runs an expert the device cannot take

    StreamedExperts(ModelConfig cfg, ExpertSource experts, ComputeBackend backend) {
        this.cfg = cfg;
        this.experts = experts;
        this.backend = backend;
    }

    /**
     * The routed experts of a prefill batch on the device: tokens grouped by expert, each chosen expert's
     * three matrices streamed to the device once and applied to all of its tokens; the weighted outputs
     * are summed into {@code hostE} per token. An expert the device cannot take runs on the host.
     */
    void run(Device d, int layer, int b, int[] ids, float[] weights, int used, float[] hostH, float[] hostE,
            Device.Vec[] scratch) {
        int hidden = cfg.hidden();
        int f = cfg.expertFfn();
        int[] count = new int[cfg.experts()];
        for (int i = 0; i < b * used; i++) {
            count[ids[i]]++;
        }
        int most = Arrays.stream(count).max().orElse(0);
        Device.Vec xs = scratch[0];
        Device.Vec g1 = scratch[1];
        Device.Vec u1 = scratch[2];
        Device.Vec ys = scratch[3];
        float[] hostXs = new float[most * hidden];
        float[] hostYs = new float[most * hidden];
        int[] tok = new int[most];
        float[] wt = new float[most];
        ComputeBackend cpu = backend.hostBackend();
        float[] g = new float[f];
        float[] u = new float[f];
        float[] y = new float[hidden];
        for (int e = 0; e < count.length; e++) {
            if (count[e] == 0) {
                continue;
            }
            int n = 0;
            for (int i = 0; i < b * used; i++) {
                if (ids[i] == e) {
                    tok[n] = i / used;
                    wt[n++] = weights[i];
                }
            }
            ExpertWeights ew = experts.expert(layer, e);
            try {
                Device.Mat mg = d.stage(ew.gate(), 0);
                Device.Mat mu = mg == null ? null : d.stage(ew.up(), 1);
                Device.Mat md = mu == null ? null : d.stage(ew.down(), 2);
                if (md == null) {   // no kernel or no room: this expert on the host
                    for (int i = 0; i < n; i++) {
                        System.arraycopy(hostH, tok[i] * hidden, hostXs, 0, hidden);
                        ExpertExecutor.swiglu(cpu, ew, hostXs, g, u, y);
                        Ops.axpy(hostE, tok[i] * hidden, wt[i], y, 0, hidden);
                    }
                    continue;
                }
                for (int i = 0; i < n; i++) {
                    System.arraycopy(hostH, tok[i] * hidden, hostXs, i * hidden, hidden);
                }
                d.upload(hostXs, 0, xs, 0, n * hidden);
                d.matMul(mg, xs, 0, hidden, g1, 0, f, n);
                d.matMul(mu, xs, 0, hidden, u1, 0, f, n);
                d.swiglu(g1, u1, n * f);
                d.matMul(md, g1, 0, f, ys, 0, hidden, n);
                d.download(ys, 0, hostYs, 0, n * hidden);
                for (int i = 0; i < n; i++) {
                    Ops.axpy(hostE, tok[i] * hidden, wt[i], hostYs, i * hidden, hidden);
                }
            } finally {
                experts.release(layer, e);
            }
        }
    }
}
