package io.trillium.model;

import io.trillium.backend.CpuBackend;
import io.trillium.backend.Device;
import io.trillium.backend.HostFallback;
import io.trillium.moe.ExpertWeights;
import io.trillium.quant.Tensor;

/**
 * deepseek2's always-active weights on the backend's {@link Device}: every matrix the step uses and the norm
 * vectors. A matrix the device has no kernel or no room for is computed on the host CPU ({@link HostFallback},
 * logged) when the backend computes on a {@link CpuBackend} beside the device; without one such a matrix sends
 * the whole step to the host (null: the host step with the backend's per-matrix offload), also logged.
 */
record DeviceWeights(Device device, Layer[] layers, Device.Vec outputNorm, Device.Mat output) {
    /** {@code host}: the CPU backend beside {@code device} for the matrices it refuses, or null. */
    static DeviceWeights upload(DeepseekWeights m, Device device, CpuBackend host) {
        if (host != null) {
            device = new HostFallback(device, host);
        }
        java.util.List<Device.Vec> vectors = new java.util.ArrayList<>();
        try {
            Layer[] ls = new Layer[m.layers.length];
            for (int l = 0; l < ls.length; l++) {
                DeepseekWeights.Layer w = m.layers[l];
                ls[l] = new Layer(vec(device, w.attnNorm(), vectors), w.qA() == null ? null : mat(device, w.qA()),
                        w.qANorm() == null ? null : vec(device, w.qANorm(), vectors), mat(device, w.q()),
                        mat(device, w.kvA()), vec(device, w.kvANorm(), vectors), mat(device, w.kBAll().all()),
                        mat(device, w.vBAll().all()), mat(device, w.attnOut()), vec(device, w.ffnNorm(), vectors),
                        w.dense() == null ? null : mats(device, w.dense()),
                        w.router() == null ? null : mat(device, w.router()),
                        w.shared() == null ? null : mats(device, w.shared()));
            }
            DeviceWeights on = new DeviceWeights(device, ls, vec(device, m.outputNorm, vectors), mat(device, m.output));
            if (device instanceof HostFallback f && !f.hostMatrices().isEmpty()) {
                System.getLogger(DeepseekModel.class.getName()).log(System.Logger.Level.INFO,
                        "decode step on " + device.name() + "; on the host CPU (no kernel or no room there): "
                                + f.hostMatrices());
            }
            return on;
        } catch (NotOnDevice e) {
            vectors.forEach(device::release);
            System.getLogger(DeepseekModel.class.getName()).log(System.Logger.Level.INFO,
                    "decode step on the host (matrices offloaded one by one): {0} has {1}", e.getMessage(),
                    "no kernel or no room on " + device.name());
            return null;
        } catch (RuntimeException e) {   // the device refused a vector (memory, driver): the host step
            vectors.forEach(device::release);
            System.getLogger(DeepseekModel.class.getName()).log(System.Logger.Level.WARNING,
                    "decode step on the host (matrices offloaded one by one): " + device.name() + " failed", e);
            return null;
        }
    }

    private static Device.Mat mat(Device d, Tensor t) {
        Device.Mat m = d.matrix(t);
        if (m == null && d instanceof HostFallback f) {
            m = f.onHost(t);
        }
        if (m == null) {
            throw new NotOnDevice(t.name() + " (" + t.type() + ")");
        }
        return m;
    }

    private static Device.Mat[] mats(Device d, ExpertWeights e) {
        return new Device.Mat[] {mat(d, e.gate()), mat(d, e.up()), mat(d, e.down())};
    }

    private static Device.Vec vec(Device d, float[] v, java.util.List<Device.Vec> all) {
        Device.Vec dv = d.vector("weights", v.length);
        all.add(dv);
        d.upload(v, 0, dv, 0, v.length);
        return dv;
    }

    /** One block's weights on the device; {@code dense} and {@code shared} are {gate, up, down}. */
    record Layer(Device.Vec attnNorm, Device.Mat qA, Device.Vec qANorm, Device.Mat q, Device.Mat kvA,
                 Device.Vec kvANorm, Device.Mat kB, Device.Mat vB, Device.Mat attnOut,
                 Device.Vec ffnNorm, Device.Mat[] dense, Device.Mat router, Device.Mat[] shared) {
    }

    private static final class NotOnDevice extends RuntimeException {
        NotOnDevice(String what) {
            super(what, null, false, false);
        }
    }
}
