package io.trillium.cli;

import io.trillium.fixtures.Fixtures;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

class BenchCommandTest {
    private static final Pattern LINE =
            Pattern.compile("(prefill|decode): ([0-9.]+) tok/s, ([0-9.]+) GB/s, ([0-9]+)% of the bandwidth ceiling");

    @Test
    void endsWithPrefillAndDecodeLinesThatAgreeWithTheActiveBytes() {
        CliTest.Result r = CliTest.run("bench", "--model", Fixtures.models().resolve("qwen3moe-tiny-F32.gguf").toString(),
                "--threads", "1", "--prompt-tokens", "4", "--decode-tokens", "4", "--repeats", "1", "--probe-mib", "64");
        assertEquals(0, r.rc(), r.err());
        List<String> lines = r.out().lines().toList();
        Matcher prefill = LINE.matcher(lines.get(lines.size() - 2));
        Matcher decode = LINE.matcher(lines.getLast());
        assertTrue(prefill.matches() && prefill.group(1).equals("prefill"), r.out());
        assertTrue(decode.matches() && decode.group(1).equals("decode"), r.out());
        // GB/s is tok/s times the active bytes per token the weights line reports (WeightBytesTest pins them).
        Matcher w = Pattern.compile("weights: .* in all, ([0-9.]+) (MiB|KiB|GiB) active per token").matcher(r.out());
        assertTrue(w.find(), r.out());
        double unit = switch (w.group(2)) { case "KiB" -> 1024; case "MiB" -> 1 << 20; default -> 1 << 30; };
        double active = Double.parseDouble(w.group(1)) * unit;
        double tok = Double.parseDouble(decode.group(2));
        double gbs = Double.parseDouble(decode.group(3));
        assertEquals(tok * active / 1e9, gbs, 0.02 * gbs + 0.01);
        assertTrue(tok > 0);
    }

    /** {@code --sessions N}: N sessions decoding together, the aggregate line last (issue 15's format). */
    @Test
    void sessionsTogetherEndWithTheAggregateLine() {
        String model = Fixtures.models().resolve("ds2-tiny-Q8_0.gguf").toString();
        CliTest.Result r = CliTest.run("bench", "--model", model, "--threads", "1", "--prompt-tokens", "4",
                "--decode-tokens", "3", "--repeats", "2", "--probe-mib", "64", "--sessions", "3");
        assertEquals(0, r.rc(), r.err());
        Matcher m = Pattern.compile("aggregate: ([0-9.]+) tok/s over 3 sessions \\(per session ([0-9.]+) tok/s\\)")
                .matcher(r.out().lines().toList().getLast());
        assertTrue(m.matches(), r.out());
        assertEquals(Double.parseDouble(m.group(1)) / 3, Double.parseDouble(m.group(2)), 0.01);
        assertTrue(Double.parseDouble(m.group(1)) > 0, r.out());
        CliTest.Result none = CliTest.run("bench", "--model", model, "--sessions", "0");
        assertEquals(1, none.rc());
        assertTrue(none.err().contains("--sessions"), none.err());
    }

    @Test
    void rejectsNonsense() {
        CliTest.Result r = CliTest.run("bench", "--model", Fixtures.models().resolve("qwen3moe-tiny-F32.gguf").toString(),
                "--threads", "0");
        assertEquals(1, r.rc());
        assertTrue(r.err().contains("--threads"), r.err());
    }

    @Test
    void forwardFlagsAreCheckedAndTokenByTokenPrefillRuns() {
        String model = Fixtures.models().resolve("ds2-tiny-Q8_0.gguf").toString();
        CliTest.Result bad = CliTest.run("bench", "--model", model, "--prefill", "sideways");
        assertEquals(1, bad.rc());
        assertTrue(bad.err().contains("--prefill sideways: expected batched or token"), bad.err());
        CliTest.Result negative = CliTest.run("bench", "--model", model, "--vram-experts-every", "-1");
        assertEquals(1, negative.rc());
        assertTrue(negative.err().contains("--vram-experts-every must be >= 0"), negative.err());
        CliTest.Result zero = CliTest.run("bench", "--model", model, "--stream-experts-from", "0");
        assertEquals(1, zero.rc());
        assertTrue(zero.err().contains("--stream-experts-from must be >= 1"), zero.err());
        CliTest.Result token = CliTest.run("bench", "--model", model, "--threads", "1", "--prompt-tokens", "4",
                "--decode-tokens", "2", "--repeats", "1", "--probe-mib", "64", "--prefill", "token");
        assertEquals(0, token.rc(), token.err());
        assertTrue(LINE.matcher(token.out().lines().toList().getLast()).matches(), token.out());
    }

    /** The figure is the median of the repeats; min-max and the CI of the mean bracket the samples printed. */
    @Test
    void figuresAreMediansWithTheirSpread() {
        CliTest.Result r = CliTest.run("bench", "--model", Fixtures.models().resolve("qwen3moe-tiny-F32.gguf").toString(),
                "--threads", "1", "--prompt-tokens", "4", "--decode-tokens", "4", "--repeats", "3", "--probe-mib", "64");
        assertEquals(0, r.rc(), r.err());
        Matcher samples = Pattern.compile("decode samples: ([0-9.]+) ([0-9.]+) ([0-9.]+) tok/s").matcher(r.out());
        assertTrue(samples.find(), r.out());
        double[] v = {Double.parseDouble(samples.group(1)), Double.parseDouble(samples.group(2)),
                Double.parseDouble(samples.group(3))};
        java.util.Arrays.sort(v);
        Matcher spread = Pattern.compile("decode spread: median ([0-9.]+) tok/s of 3 runs, min-max ([0-9.]+)-([0-9.]+), "
                + "95% CI of the mean (-?[0-9.]+)-([0-9.]+)").matcher(r.out());   // a wild run can take the bound below 0
        assertTrue(spread.find(), r.out());
        assertEquals(v[1], Double.parseDouble(spread.group(1)), 0.006);
        assertEquals(v[0], Double.parseDouble(spread.group(2)), 0.006);
        assertEquals(v[2], Double.parseDouble(spread.group(3)), 0.006);
        double mean = (v[0] + v[1] + v[2]) / 3;
        assertTrue(Double.parseDouble(spread.group(4)) <= mean && mean <= Double.parseDouble(spread.group(5)), r.out());
        Matcher decode = LINE.matcher(r.out().lines().toList().getLast());
        assertTrue(decode.matches(), r.out());
        assertEquals(v[1], Double.parseDouble(decode.group(2)), 0.006);
    }

    /**
     * --breakdown on a deepseek2 model: for the prompt and for the decode run, one line per operation class,
     * whose times add up to the time it reports, and the decode time per token agrees with the run's own
     * decode rate.
     */
    @Test
    void breakdownAccountsForThePrefillAndDecodeTime() {
        CliTest.Result r = CliTest.run("bench", "--model", Fixtures.models().resolve("ds2-tiny-Q4_K_M.gguf").toString(),
                "--threads", "2", "--prompt-tokens", "4", "--decode-tokens", "8", "--repeats", "1", "--probe-mib", "64",
                "--breakdown");
        assertEquals(0, r.rc(), r.err());
        String out = r.out();
        int prefillAt = out.indexOf("prefill breakdown: ");
        int decodeAt = out.indexOf("\nbreakdown: ");
        assertTrue(prefillAt >= 0 && decodeAt > prefillAt, out);
        checkSection(out.substring(prefillAt, decodeAt), "prefill breakdown: ([0-9.]+) ms per prompt token");
        double perToken = checkSection(out.substring(decodeAt + 1), "breakdown: ([0-9.]+) ms per decoded token");
        assertTrue(out.contains("routed experts") && out.contains("softmax over the KV cache"), out);
        Matcher decode = LINE.matcher(out.lines().toList().getLast());
        assertTrue(decode.matches(), out);
        double tokPerS = Double.parseDouble(decode.group(2));
        assertEquals(1000 / perToken, tokPerS, 0.02 * tokPerS + 0.1, "one run: the breakdown times the measured run");
    }

    /** One breakdown: its total per token, 7 classes and 'other' adding up to it, and the pool line. */
    private static double checkSection(String section, String header) {
        Matcher total = Pattern.compile(header).matcher(section);
        assertTrue(total.find(), section);
        double perToken = Double.parseDouble(total.group(1));
        Matcher op = Pattern.compile("(?m)^  (.+?) +([0-9.]+) ms/token +([0-9.]+)%$").matcher(section);
        double sum = 0, share = 0;
        int lines = 0;
        while (op.find()) {
            sum += Double.parseDouble(op.group(2));
            share += Double.parseDouble(op.group(3));
            lines++;
        }
        assertEquals(8, lines, "7 operation classes and 'other': " + section);
        assertEquals(perToken, sum, 0.05 * perToken + 0.02, section);
        assertEquals(100, share, 1.0, section);
        assertTrue(Pattern.compile("pool: [0-9]+ parallel loops per token").matcher(section).find(), section);
        return perToken;
    }
}
