package io.trillium.server;

import io.trillium.api.Model;
import io.trillium.api.TierReport;

import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/** The server's counters, written as Prometheus text for {@code GET /metrics}. Thread-safe. */
public final class ServerMetrics {
    private final Map<String, LongAdder> requests = new ConcurrentHashMap<>();   // "endpoint status" → count
    private final LongAdder promptTokens = new LongAdder();
    private final LongAdder completionTokens = new LongAdder();
    private final LongAdder decodeNanos = new LongAdder();
    private final LongAdder cancelled = new LongAdder();
    private final Admission admission;

    ServerMetrics(Admission admission) {
        this.admission = admission;
    }

    void request(String endpoint, int status) {
        requests.computeIfAbsent(endpoint + " " + status, k -> new LongAdder()).increment();
    }

    void generation(int prompt, int completion, long nanos, boolean wasCancelled) {
        promptTokens.add(prompt);
        completionTokens.add(completion);
        decodeNanos.add(nanos);
        if (wasCancelled) {
            cancelled.increment();
        }
    }

    /** Requests answered with {@code status} on {@code endpoint} so far. */
    public long requests(String endpoint, int status) {
        LongAdder a = requests.get(endpoint + " " + status);
        return a == null ? 0 : a.sum();
    }

    /** Generations stopped because their client went away. */
    public long cancelled() {
        return cancelled.sum();
    }

    String prometheus(Model model) {
        StringBuilder b = new StringBuilder();
        b.append("# HELP trillium_requests_total HTTP requests by endpoint and status.\n");
        b.append("# TYPE trillium_requests_total counter\n");
        new TreeMap<>(requests).forEach((k, v) -> {
            int sp = k.lastIndexOf(' ');
            b.append("trillium_requests_total{endpoint=\"").append(k, 0, sp).append("\",status=\"")
                    .append(k.substring(sp + 1)).append("\"} ").append(v.sum()).append('\n');
        });
        counter(b, "trillium_prompt_tokens_total", "Prompt tokens of finished generations.", promptTokens.sum());
        counter(b, "trillium_completion_tokens_total", "Generated tokens.", completionTokens.sum());
        counter(b, "trillium_generations_cancelled_total", "Generations cancelled by a client that went away.", cancelled.sum());
        double seconds = decodeNanos.sum() / 1e9;
        gauge(b, "trillium_generation_seconds_total", "Wall time spent in generations (prompt and decode).", seconds);
        gauge(b, "trillium_tokens_per_second", "Generated tokens per second of generation time, since start.",
                seconds > 0 ? completionTokens.sum() / seconds : 0);
        gauge(b, "trillium_sessions_active", "Requests generating now.", admission.active());
        gauge(b, "trillium_queue_length", "Requests waiting for a session.", admission.waiting());
        TierReport r = model.tierReport();
        b.append("# HELP trillium_weight_bytes_read_total Weight bytes read, by memory tier.\n");
        b.append("# TYPE trillium_weight_bytes_read_total counter\n");
        new TreeMap<>(r.bytesRead()).forEach((tier, bytes) -> b.append("trillium_weight_bytes_read_total{tier=\"")
                .append(tier).append("\"} ").append(bytes).append('\n'));
        r.cache().ifPresent(c -> gauge(b, "trillium_expert_cache_hit_rate", "Expert cache hits / lookups since load.", c.hitRate()));
        counter(b, "trillium_model_tokens_total", "Tokens run through the model.", r.tokens());
        return b.toString();
    }

    private static void counter(StringBuilder b, String name, String help, long v) {
        b.append("# HELP ").append(name).append(' ').append(help).append('\n');
        b.append("# TYPE ").append(name).append(" counter\n").append(name).append(' ').append(v).append('\n');
    }

    private static void gauge(StringBuilder b, String name, String help, double v) {
        b.append("# HELP ").append(name).append(' ').append(help).append('\n');
        b.append("# TYPE ").append(name).append(" gauge\n").append(name).append(' ')
                .append(String.format(Locale.ROOT, "%.6g", Double.isNaN(v) ? 0 : v)).append('\n');
    }
}
