package io.trillium.backend;

import io.trillium.quant.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code device} with a host fallback per matrix: a matrix it has no kernel or no room for is taken with
 * {@link #onHost} and computed on the host CPU, instead of sending the whole step back to the host. Such a
 * product waits for the device (its input is downloaded), runs on {@code host}'s kernels through a
 * {@link CpuDevice} with the same geometry (per-head views included), and uploads its output; every other
 * operation, and {@link #matrix} (null where the device has no room, as callers that place optional
 * matrices expect), is the device's own. One thread at a time, as every device: the host scratch is reused.
 */
public final class HostFallback implements Device {
    /** The handle of a matrix computed on the host (device handles are addresses or counters, never this). */
    private static final long HOST = Long.MIN_VALUE;

    private final Device device;
    private final CpuDevice cpu;
    private final List<String> onHost = new ArrayList<>();
    private Vec x;
    private Vec y;

    public HostFallback(Device device, CpuBackend host) {
        this.device = device;
        this.cpu = new CpuDevice(host);
        this.x = cpu.vector("host fallback", 0);
        this.y = cpu.vector("host fallback", 0);
    }

    /** The matrices computed on the host so far, as "name (TYPE)". */
    public List<String> hostMatrices() {
        return List.copyOf(onHost);
    }

    /** {@code w} computed on the host by this device's products (for a matrix {@link #matrix} refused). */
    public Mat onHost(Tensor w) {
        onHost.add(w.name() + " (" + w.type() + ")");
        return new Mat(HOST, w);
    }

    private static boolean host(Mat m) {
        return m.handle() == HOST;
    }

    @Override
    public String name() {
        return device.name();
    }

    @Override
    public Vec vector(String tag, int floats) {
        return device.vector(tag, floats);
    }

    @Override
    public void release(Vec v) {
        device.release(v);
    }

    @Override
    public void release(Mat m) {
        if (m != null && !host(m)) {
            device.release(m);
        }
    }

    @Override
    public long available() {
        return device.available();
    }

    @Override
    public Mat matrix(Tensor w) {
        return device.matrix(w);
    }

    @Override
    public Mat stage(Tensor w, int slot) {
        return device.stage(w, slot);
    }

    @Override
    public void upload(float[] src, int srcOff, Vec dst, int dstOff, int n) {
        device.upload(src, srcOff, dst, dstOff, n);
    }

    @Override
    public void download(Vec src, int srcOff, float[] dst, int dstOff, int n) {
        device.download(src, srcOff, dst, dstOff, n);
    }

    /** The host scratch {@code v} with room for {@code floats}, replaced by a larger one when it has not. */
    private Vec room(Vec v, int floats) {
        if (v.floats() >= floats) {
            return v;
        }
        cpu.release(v);
        return cpu.vector("host fallback", floats);
    }

    /**
     * The host scratch for outputs of {@code n} values, {@code count} of them {@code stride} apart from
     * {@code dst[dstOff ..]}: where they have gaps (MLA's per-head products into [q_abs | q_pe] rows), the
     * span is downloaded first so that one upload afterwards leaves the device's values between them as they
     * were (the input's download has waited for the device already).
     */
    private void outputSpan(Vec dst, int dstOff, int n, int count, int stride, int span) {
        y = room(y, span);
        if (count > 1 && stride != n) {
            device.download(dst, dstOff, y.host(), 0, span);
        }
    }

    @Override
    public void matVec(Mat w, int rows, int heads, long headBytes, Vec xv, int xOff, int xStride, Vec yv, int yOff,
                       int yStride) {
        if (!host(w)) {
            device.matVec(w, rows, heads, headBytes, xv, xOff, xStride, yv, yOff, yStride);
            return;
        }
        int in = (heads - 1) * xStride + Math.toIntExact(w.tensor().rowLength());
        int out = (heads - 1) * yStride + rows;
        x = room(x, in);
        device.download(xv, xOff, x.host(), 0, in);
        outputSpan(yv, yOff, rows, heads, yStride, out);
        cpu.matVec(w, rows, heads, headBytes, x, 0, xStride, y, 0, yStride);
        device.upload(y.host(), 0, yv, yOff, out);
    }

    @Override
    public void matMul(Mat w, Vec xv, int xOff, int xStride, Vec yv, int yOff, int yStride, int tokens) {
        if (!host(w)) {
            device.matMul(w, xv, xOff, xStride, yv, yOff, yStride, tokens);
            return;
        }
        int rows = Math.toIntExact(w.tensor().rowCount());
        int in = (tokens - 1) * xStride + Math.toIntExact(w.tensor().rowLength());
        int out = (tokens - 1) * yStride + rows;
        x = room(x, in);
        device.download(xv, xOff, x.host(), 0, in);
        outputSpan(yv, yOff, rows, tokens, yStride, out);
        cpu.matMul(w, x, 0, xStride, y, 0, yStride, tokens);
        device.upload(y.host(), 0, yv, yOff, out);
    }

    @Override
    public void mlaHeads(Mat kB, long kBHeadBytes, Mat vB, long vBHeadBytes, MlaHeads.Shape shape, Vec q, Vec cache,
                         int p0, int tokens, Vec o, Vec qAbs, Vec att, int attStride, Vec oLat) {
        if (host(kB) || host(vB)) {   // token by token through this device's operations, the host ones included
            Device.super.mlaHeads(kB, kBHeadBytes, vB, vBHeadBytes, shape, q, cache, p0, tokens, o, qAbs, att,
                    attStride, oLat);
            return;
        }
        device.mlaHeads(kB, kBHeadBytes, vB, vBHeadBytes, shape, q, cache, p0, tokens, o, qAbs, att, attStride, oLat);
    }

    @Override
    public void rmsnorm(Vec out, int outOff, Vec xv, int xOff, Vec w, int n, float eps) {
        device.rmsnorm(out, outOff, xv, xOff, w, n, eps);
    }

    @Override
    public void rmsnorm(Vec out, Vec xv, Vec w, int n, int count, int stride, float eps) {
        device.rmsnorm(out, xv, w, n, count, stride, eps);
    }

    @Override
    public void rope(Vec xv, int count, int stride, int offset, Vec cs, int csOff, int dims, boolean neox) {
        device.rope(xv, count, stride, offset, cs, csOff, dims, neox);
    }

    @Override
    public void copy(Vec src, int srcOff, int srcStride, Vec dst, int dstOff, int dstStride, int n, int count) {
        device.copy(src, srcOff, srcStride, dst, dstOff, dstStride, n, count);
    }

    @Override
    public void mlaAttend(Vec qAbs, Vec cache, int cacheOff, Vec att, Vec oLat, int heads, int kvLora, int rope,
                          int npos, int attStride, float scale) {
        device.mlaAttend(qAbs, cache, cacheOff, att, oLat, heads, kvLora, rope, npos, attStride, scale);
    }

    @Override
    public void swiglu(Vec gate, Vec up, int n) {
        device.swiglu(gate, up, n);
    }

    @Override
    public void add(Vec yv, Vec xv, int n) {
        device.add(yv, xv, n);
    }

    @Override
    public void axpy(Vec yv, float a, Vec xv, int n) {
        device.axpy(yv, a, xv, n);
    }
}
