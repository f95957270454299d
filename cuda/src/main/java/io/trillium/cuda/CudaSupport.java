package io.trillium.cuda;

import jcuda.driver.CUdevice;
import jcuda.driver.JCudaDriver;

import static jcuda.driver.CUresult.CUDA_SUCCESS;

/** Finds out whether a usable CUDA device is present, and if not, exactly why. */
public final class CudaSupport {
    private CudaSupport() {
    }

    /**
     * What the probe found: a device, or the reason there is none.
     *
     * @param available     a device can be used
     * @param deviceCount   number of CUDA devices (0 when unavailable)
     * @param deviceName    name of device 0, or {@code null}
     * @param totalMemory   bytes of memory on device 0, or 0
     * @param computeMajor  compute capability major of device 0, or 0
     * @param computeMinor  compute capability minor of device 0, or 0
     * @param reason        why no device can be used, or {@code null} when one can
     */
    public record Probe(boolean available, int deviceCount, String deviceName, long totalMemory,
                        int computeMajor, int computeMinor, String reason) {
        static Probe unavailable(String reason) {
            return new Probe(false, 0, null, 0, 0, 0, reason);
        }

        @Override
        public String toString() {
            return available
                    ? String.format("CUDA device 0 of %d: %s, %.1f GiB, compute %d.%d", deviceCount, deviceName,
                    totalMemory / (1024.0 * 1024 * 1024), computeMajor, computeMinor)
                    : "no usable CUDA device: " + reason;
        }
    }

    private static volatile Probe cached;

    /**
     * Probes the CUDA driver once per JVM (a failed JCuda static initializer cannot be retried, and
     * its first error is the informative one). Never throws: every failure becomes a {@link Probe}
     * with a reason.
     */
    public static Probe probe() {
        Probe p = cached;
        if (p == null) {
            synchronized (CudaSupport.class) {
                p = cached;
                if (p == null) {
                    cached = p = doProbe();
                }
            }
        }
        return p;
    }

    private static Probe doProbe() {
        try {
            JCudaDriver.setExceptionsEnabled(false);
            int rc = JCudaDriver.cuInit(0);
            if (rc != CUDA_SUCCESS) {
                return Probe.unavailable("cuInit failed: " + jcuda.driver.CUresult.stringFor(rc));
            }
            int[] count = new int[1];
            rc = JCudaDriver.cuDeviceGetCount(count);
            if (rc != CUDA_SUCCESS) {
                return Probe.unavailable("cuDeviceGetCount failed: " + jcuda.driver.CUresult.stringFor(rc));
            }
            if (count[0] == 0) {
                return Probe.unavailable("the CUDA driver reports 0 devices");
            }
            CUdevice dev = new CUdevice();
            JCudaDriver.cuDeviceGet(dev, 0);
            byte[] name = new byte[256];
            JCudaDriver.cuDeviceGetName(name, name.length, dev);
            long[] mem = new long[1];
            JCudaDriver.cuDeviceTotalMem(mem, dev);
            int[] major = new int[1];
            int[] minor = new int[1];
            JCudaDriver.cuDeviceGetAttribute(major,
                    jcuda.driver.CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev);
            JCudaDriver.cuDeviceGetAttribute(minor,
                    jcuda.driver.CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev);
            int len = 0;
            while (len < name.length && name[len] != 0) {
                len++;
            }
            return new Probe(true, count[0], new String(name, 0, len, java.nio.charset.StandardCharsets.UTF_8),
                    mem[0], major[0], minor[0], null);
        } catch (LinkageError e) {
            // Without libcuda, JCuda's static initializer throws UnsatisfiedLinkError (or a
            // NoClassDefFoundError on the next attempt).
            return Probe.unavailable("the JCuda native libraries could not be loaded ("
                    + e.getClass().getSimpleName() + ": " + briefly(e.getMessage()) + ")");
        } catch (RuntimeException e) {
            return Probe.unavailable("CUDA probe failed: " + e);
        }
    }

    /** JCuda's message carries nested stack traces: keep its first line and the loader's own complaint. */
    static String briefly(String message) {
        if (message == null) {
            return "no message";
        }
        String[] lines = message.split("\\R");
        String first = lines[0].strip();
        for (String l : lines) {
            int at = l.indexOf("cannot open shared object file");
            if (at >= 0) {
                String head = l.substring(0, at).replaceAll(":\\s*$", "");
                String lib = head.substring(head.lastIndexOf(": ") + 2);
                return first + ": " + lib + " not found (no NVIDIA driver installed?)";
            }
        }
        return first;
    }
}
