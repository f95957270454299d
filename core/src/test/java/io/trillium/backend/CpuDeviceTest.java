package io.trillium.backend;

import io.trillium.quant.Numerics;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CPU device: its vectors carry their arrays (no lookup per operand), release is checked, and its
 * attention adds no allocation per call to the host code's (the parallel attention's task is reused, not a
 * lambda per call), with the host code's results.
 */
class CpuDeviceTest {

    @Test
    void vectorsCarryTheirArraysAndAreReleasedOnce() {
        try (CpuBackend cpu = new CpuBackend(1, Numerics.EXACT)) {
            CpuDevice d = new CpuDevice(cpu);
            float[] host = {1, 2, 3, 4};
            Device.Vec v = d.wrap(host);
            assertEquals(host, v.host());
            float[] out = new float[4];
            d.download(v, 0, out, 0, 4);
            assertArrayEquals(host, out);
            d.release(v);
            assertThrows(IllegalStateException.class, () -> d.release(v), "a second release");
            // a vector of another device (no host array) is refused with a clear error, not looked up
            Device.Vec foreign = new Device.Vec(99, 4);
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> d.download(foreign, 0, out, 0, 4));
            assertEquals("vector 99 (4 floats) is not a CPU device vector", e.getMessage());
        }
    }

    @Test
    void attentionMatchesTheHostCodeAndAllocatesNothingPerCall() {
        var mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        if (!mx.isThreadAllocatedMemoryEnabled()) {
            mx.setThreadAllocatedMemoryEnabled(true);
        }
        int heads = 16, kvLora = 64, rope = 16, width = kvLora + rope, npos = 200, attStride = 256;
        Random r = new Random(4);
        float[] q = random(r, heads * width);
        float[] cache = random(r, npos * width);
        float[] want = new float[heads * kvLora];
        float[] wantAtt = new float[heads * attStride];
        Ops.mlaAttendHeads(q, 0, 0, heads, cache, 0, npos, width, kvLora, 0.125f, wantAtt, attStride, want, 0);
        try (CpuBackend cpu = new CpuBackend(2, Numerics.EXACT)) {   // two threads: the parallel path
            CpuDevice d = new CpuDevice(cpu);
            Device.Vec vq = d.wrap(q.clone()), vc = d.wrap(cache.clone());
            Device.Vec att = d.vector("t", heads * attStride), o = d.vector("t", heads * kvLora);
            long tid = Thread.currentThread().threadId();
            // through the device and straight through the host code, alternated: what the vector code allocates
            // while the JIT settles (or in a JVM where it compiled elsewhere first) counts on both sides
            float[] qh = q.clone(), ch = cache.clone(), ah = new float[heads * attStride], oh = new float[heads * kvLora];
            WorkerPool pool = cpu.pool();
            WorkerPool.RangeTask direct = (from, to) ->
                    Ops.mlaAttendHeads(qh, 0, from, to, ch, 0, npos, width, kvLora, 0.125f, ah, attStride, oh, 0);
            long[] best = {Long.MAX_VALUE, Long.MAX_VALUE};
            StringBuilder rounds = new StringBuilder();
            for (int round = 0; round < 60; round++) {
                boolean device = round % 2 == 0;
                long before = mx.getThreadAllocatedBytes(tid);
                for (int i = 0; i < 500; i++) {
                    if (device) {
                        d.mlaAttend(vq, vc, 0, att, o, heads, kvLora, rope, npos, attStride, 0.125f);
                    } else {
                        pool.parallelFor(heads, 1, direct);
                    }
                }
                long bytes = mx.getThreadAllocatedBytes(tid) - before;
                best[device ? 0 : 1] = Math.min(best[device ? 0 : 1], bytes);
                rounds.append(device ? " device " : " host ").append(bytes);
            }
            // a capturing lambda or a task object per call is at least 16 bytes: 8000 per round of 500
            assertTrue(best[0] - best[1] < 8000, "the device allocates per call: " + best[0] + " vs " + best[1]
                    + " bytes per 500 calls at best; rounds:" + rounds);
            d.mlaAttend(vq, vc, 0, att, o, heads, kvLora, rope, npos, attStride, 0.125f);
            float[] got = new float[heads * kvLora];
            d.download(o, 0, got, 0, got.length);
            assertArrayEquals(want, got, "the host code's attention, bit for bit");
        }
    }

    private static float[] random(Random r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return v;
    }
}
