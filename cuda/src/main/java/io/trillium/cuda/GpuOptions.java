package io.trillium.cuda;

import java.util.Locale;

/**
 * Where the GPU backend runs and how much VRAM it may take: {@code --gpu auto|off|N} and
 * {@code --vram SIZE}. Kept in the cuda module (the CLI/LoadOptions wiring is the lead's);
 * {@link #fromSystemProperties()} reads {@code -Dtrillium.gpu} and {@code -Dtrillium.vram}.
 *
 * @param mode        AUTO (device 0 when present), OFF, or DEVICE (the given ordinal)
 * @param device      device ordinal (0 for AUTO)
 * @param vramBudget  bytes of VRAM the backend may allocate; 0: the free memory at start less a 10% reserve
 */
public record GpuOptions(Mode mode, int device, long vramBudget) {

    public enum Mode { AUTO, OFF, DEVICE }

    public GpuOptions {
        if (device < 0) {
            throw new IllegalArgumentException("GPU device ordinal must be >= 0, got " + device);
        }
        if (vramBudget < 0) {
            throw new IllegalArgumentException("VRAM budget must be >= 0, got " + vramBudget);
        }
    }

    public static GpuOptions auto() {
        return new GpuOptions(Mode.AUTO, 0, 0);
    }

    public static GpuOptions off() {
        return new GpuOptions(Mode.OFF, 0, 0);
    }

    /**
     * Parses {@code gpu} ("auto", "off", or a device ordinal; null = auto) and {@code vram} (e.g. "10g",
     * "512MiB", "1073741824"; null or "auto" = free memory less a reserve).
     */
    public static GpuOptions parse(String gpu, String vram) {
        long budget = vram == null || vram.equalsIgnoreCase("auto") ? 0 : parseSize(vram);
        if (gpu == null || gpu.equalsIgnoreCase("auto")) {
            return new GpuOptions(Mode.AUTO, 0, budget);
        }
        if (gpu.equalsIgnoreCase("off")) {
            return new GpuOptions(Mode.OFF, 0, budget);
        }
        try {
            return new GpuOptions(Mode.DEVICE, Integer.parseInt(gpu.strip()), budget);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--gpu expects auto, off or a device number, got '" + gpu + "'");
        }
    }

    /** From {@code -Dtrillium.gpu} and {@code -Dtrillium.vram}. */
    public static GpuOptions fromSystemProperties() {
        return parse(System.getProperty("trillium.gpu"), System.getProperty("trillium.vram"));
    }

    /** A size such as {@code 12g}, {@code 12GiB}, {@code 512m}, {@code 4096k} or plain bytes (binary units). */
    public static long parseSize(String s) {
        String t = s.strip().toLowerCase(Locale.ROOT).replace("ib", "").replace("b", "");
        long unit = 1;
        if (!t.isEmpty()) {
            switch (t.charAt(t.length() - 1)) {
                case 'k' -> unit = 1L << 10;
                case 'm' -> unit = 1L << 20;
                case 'g' -> unit = 1L << 30;
                case 't' -> unit = 1L << 40;
                default -> unit = 1;
            }
        }
        String num = unit == 1 ? t : t.substring(0, t.length() - 1);
        try {
            double v = Double.parseDouble(num);
            if (v < 0 || Double.isNaN(v) || Double.isInfinite(v)) {
                throw new NumberFormatException();
            }
            return Math.round(v * unit);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--vram expects a size such as 10g or 512m, got '" + s + "'");
        }
    }
}
