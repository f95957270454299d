package io.trillium.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * A {@link Gpu} whose kernels are the project's {@code .cu} files compiled for the host
 * ({@code src/test/emu}: g++ with a CUDA stand-in header, threads of a block as coroutines), "device"
 * memory plain native memory, every operation done when it is called. It runs the backend and the real
 * kernel sources on machines without a GPU; it says nothing about speed.
 */
final class EmulatedGpu implements Gpu {
    /** The library the test build makes (system property set by the cuda module's pom). */
    static final String LIBRARY_PROPERTY = "trillium.cuda.emulator";

    private static MethodHandle launch;
    private static MethodHandle error;
    private static String kernelNames;

    private final long total;
    private final Map<Long, Arena> allocations = new HashMap<>();
    private final Map<Long, Long> sizes = new HashMap<>();
    private final Map<Long, Long> eventTimes = new HashMap<>();
    private long used;
    private long nextHandle = 1;
    private boolean closed;

    /** An emulated device of {@code total} bytes. */
    EmulatedGpu(long total) {
        load();
        this.total = total;
    }

    private static synchronized void load() {
        if (launch != null) {
            return;
        }
        String lib = System.getProperty(LIBRARY_PROPERTY);
        if (lib == null || !Files.isRegularFile(Path.of(lib))) {
            throw new IllegalStateException("the CUDA kernel emulator library is missing (" + LIBRARY_PROPERTY + " = "
                    + lib + "): the cuda module's build makes it with g++ (src/test/emu/build-emu.sh); install g++");
        }
        Linker linker = Linker.nativeLinker();
        SymbolLookup l = SymbolLookup.libraryLookup(Path.of(lib), Arena.global());
        launch = linker.downcallHandle(l.find("emu_launch").orElseThrow(), FunctionDescriptor.of(ValueLayout.JAVA_INT,
                ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                ValueLayout.ADDRESS));
        error = linker.downcallHandle(l.find("emu_error").orElseThrow(), FunctionDescriptor.of(ValueLayout.ADDRESS));
        MethodHandle names = linker.downcallHandle(l.find("emu_kernels").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.ADDRESS));
        try {
            kernelNames = ((MemorySegment) names.invokeExact()).reinterpret(1 << 16).getString(0);
        } catch (Throwable t) {
            throw new IllegalStateException("emulator library " + lib + ": " + t, t);
        }
    }

    /** The kernels the library holds, space-separated. */
    static String kernelNames() {
        load();
        return kernelNames;
    }

    @Override
    public String name() {
        return "host emulator of the CUDA kernels";
    }

    @Override
    public long[] memInfo() {
        return new long[] {total - used, total};
    }

    @Override
    public synchronized long alloc(long bytes) {
        if (used + bytes > total) {
            throw new JCudaGpu.CudaException("cuMemAlloc(" + bytes + ") failed: CUDA_ERROR_OUT_OF_MEMORY (emulated)");
        }
        Arena a = Arena.ofShared();
        long address = a.allocate(bytes, 256).address();
        allocations.put(address, a);
        sizes.put(address, bytes);
        used += bytes;
        return address;
    }

    @Override
    public synchronized void free(long address) {
        Arena a = allocations.remove(address);
        if (a == null) {
            throw new JCudaGpu.CudaException("cuMemFree failed: CUDA_ERROR_INVALID_VALUE (not an allocation)");
        }
        used -= sizes.remove(address);
        a.close();
    }

    /** The device bytes at {@code address}: must lie inside one live allocation (a bad address fails here, not in a kernel). */
    private synchronized MemorySegment device(long address, long bytes) {
        for (var e : sizes.entrySet()) {
            if (address >= e.getKey() && address + bytes <= e.getKey() + e.getValue()) {
                return MemorySegment.ofAddress(address).reinterpret(bytes);
            }
        }
        throw new JCudaGpu.CudaException("copy of " + bytes + " bytes at 0x" + Long.toHexString(address)
                + ": CUDA_ERROR_INVALID_VALUE (outside every allocation)");
    }

    @Override
    public MemorySegment allocPinned(long bytes) {
        Arena a = Arena.ofShared();
        MemorySegment s = a.allocate(bytes, 64);
        synchronized (this) {
            allocations.put(-s.address(), a);   // negative keys: host allocations
        }
        return s;
    }

    @Override
    public synchronized void freePinned(MemorySegment pinned) {
        Arena a = allocations.remove(-pinned.address());
        if (a != null) {
            a.close();
        }
    }

    @Override
    public long newStream() {
        return nextHandle++;
    }

    @Override
    public long newEvent() {
        return nextHandle++;
    }

    @Override
    public void copyToDevice(long dst, MemorySegment src, long bytes, long stream) {
        MemorySegment.copy(src, 0, device(dst, bytes), 0, bytes);
    }

    @Override
    public void copyToHost(MemorySegment dst, long src, long bytes, long stream) {
        MemorySegment.copy(device(src, bytes), 0, dst, 0, bytes);
    }

    @Override
    public void zero(long dst, long bytes, long stream) {
        device(dst, bytes).fill((byte) 0);
    }

    @Override
    public void launch(String kernel, int gridX, int gridY, int block, int sharedBytes, long stream, Object... args) {
        // the limits of every CUDA device from compute 3.0 on: a launch beyond them fails on the hardware
        if (gridX < 1 || gridY < 1 || gridY > 65535 || block < 1 || block > 1024 || sharedBytes > 48 * 1024) {
            throw new JCudaGpu.CudaException("launch " + kernel + " failed (emulator): grid " + gridX + " x " + gridY
                    + ", block " + block + ", shared " + sharedBytes + " bytes: CUDA_ERROR_INVALID_VALUE");
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment argv = a.allocate(ValueLayout.ADDRESS, args.length);
            for (int i = 0; i < args.length; i++) {
                MemorySegment v = switch (args[i]) {
                    case Integer x -> a.allocateFrom(ValueLayout.JAVA_INT, x);
                    case Long x -> a.allocateFrom(ValueLayout.JAVA_LONG, x);
                    case Float x -> a.allocateFrom(ValueLayout.JAVA_FLOAT, x);
                    default -> throw new IllegalArgumentException("kernel argument " + args[i]);
                };
                argv.setAtIndex(ValueLayout.ADDRESS, i, v);
            }
            int rc = (int) launch.invokeExact(a.allocateFrom(kernel), gridX, gridY, 1, block, 1, 1, sharedBytes, argv);
            if (rc != 0) {
                String why = ((MemorySegment) error.invokeExact()).reinterpret(4096).getString(0);
                throw new JCudaGpu.CudaException("launch " + kernel + " failed (emulator): " + why);
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    @Override
    public void record(long event, long stream) {
        eventTimes.put(event, System.nanoTime());
    }

    @Override
    public void awaitEvent(long event) {
    }

    @Override
    public float elapsedMs(long from, long to) {
        return (eventTimes.getOrDefault(to, 0L) - eventTimes.getOrDefault(from, 0L)) / 1e6f;
    }

    @Override
    public void awaitStream(long stream) {
    }

    @Override
    public Map<String, String> kernelsFrom() {
        Map<String, String> m = new HashMap<>();
        CudaKernels.ENTRIES.keySet().forEach(k -> m.put(k, "host emulator"));
        return m;
    }

    @Override
    public boolean sgemv(long w, int n, int rows, int ld, long x, long y, long stream) {
        return false;
    }

    @Override
    public String sgemvPath() {
        return "own kernel (emulator)";
    }

    /** Device bytes still allocated (a test of the backend's frees). */
    synchronized long used() {
        return used;
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            allocations.values().forEach(Arena::close);
            allocations.clear();
            sizes.clear();
        }
    }
}
