package io.trillium.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/** The process's resident memory from {@code /proc/self/status} (Linux), and the heap in use. */
final class ResidentMemory {
    private ResidentMemory() {
    }

    /** "RSS X MiB (peak Y MiB; file-backed Z MiB), Java heap H MiB", or what could be read. */
    static String now() {
        Runtime rt = Runtime.getRuntime();
        String heap = String.format(Locale.ROOT, "Java heap %.0f MiB", (rt.totalMemory() - rt.freeMemory()) / 1048576.0);
        try {
            long rss = -1, hwm = -1, file = -1;
            for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (l.startsWith("VmRSS:")) {
                    rss = kib(l);
                } else if (l.startsWith("VmHWM:")) {
                    hwm = kib(l);
                } else if (l.startsWith("RssFile:")) {
                    file = kib(l);
                }
            }
            return String.format(Locale.ROOT, "RSS %.0f MiB (peak %.0f MiB; file-backed %.0f MiB), %s",
                    rss / 1024.0, hwm / 1024.0, file / 1024.0, heap);
        } catch (IOException | RuntimeException e) {
            return "RSS unknown (" + e.getMessage() + "), " + heap;
        }
    }

    private static long kib(String line) {
        return Long.parseLong(line.replaceAll("[^0-9]", ""));
    }
}
