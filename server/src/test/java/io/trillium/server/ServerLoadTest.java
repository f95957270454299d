package io.trillium.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Many clients at once on loopback: every request answered with its own solo answer (none lost or
 * mixed up), latencies reported; a full queue answers 429 with Retry-After; a client that goes away
 * (stream or not) cancels its generation, and the server serves the next request normally.
 */
class ServerLoadTest {
    static final ObjectMapper JSON = new ObjectMapper();

    private static String chatBody(String prompt, int maxTokens, boolean stream) {
        return chatBody(prompt, maxTokens, stream, "");
    }

    /** {@code extra}: more fields, each with a trailing comma. */
    private static String chatBody(String prompt, int maxTokens, boolean stream, String extra) {
        return "{" + extra + "\"model\": \"" + ServerFixture.MODEL_ID + "\", \"temperature\": 0, \"max_tokens\": " + maxTokens
                + ", \"stream\": " + stream + ", \"messages\": [{\"role\": \"user\", \"content\": \"" + prompt + "\"}]}";
    }

    private static String content(HttpResponse<String> r) throws Exception {
        assertEquals(200, r.statusCode(), r.body());
        return JSON.readTree(r.body()).get("choices").get(0).get("message").get("content").asText();
    }

    @Test
    void sixteenClientsFourRequestsEach() throws Exception {
        try (ServerFixture fx = new ServerFixture(ServerFixture.options())) {
            int clients = 16, each = 4, maxTokens = 8;
            String[] prompts = new String[clients * each];
            String[] expected = new String[prompts.length];
            for (int i = 0; i < prompts.length; i++) {
                prompts[i] = "Question " + i + ": what comes after " + (i * 7) + "?";
                expected[i] = fx.solo(prompts[i], maxTokens);
            }
            List<Long> latencies = Collections.synchronizedList(new ArrayList<>());
            assertTimeoutPreemptively(Duration.ofMinutes(3), () -> {
                ExecutorService pool = Executors.newFixedThreadPool(clients);
                try {
                    List<Future<?>> done = new ArrayList<>();
                    for (int c = 0; c < clients; c++) {
                        int client = c;
                        done.add(pool.submit(() -> {
                            for (int k = 0; k < each; k++) {
                                int i = client * each + k;
                                long t0 = System.nanoTime();
                                String got = content(fx.post("/v1/chat/completions", chatBody(prompts[i], maxTokens, false)));
                                latencies.add(System.nanoTime() - t0);
                                assertEquals(expected[i], got, "request " + i + " got another's answer or a different one");
                            }
                            return null;
                        }));
                    }
                    for (Future<?> f : done) {
                        f.get();
                    }
                } finally {
                    pool.shutdownNow();
                }
            });
            assertEquals(clients * each, latencies.size());
            List<Long> sorted = new ArrayList<>(latencies);
            Collections.sort(sorted);
            System.out.printf(Locale.ROOT, "16 clients x 4 requests (%d tokens each): p50 %.1f ms, p99 %.1f ms, max %.1f ms%n",
                    maxTokens, sorted.get(sorted.size() / 2) / 1e6, sorted.get((int) (sorted.size() * 0.99)) / 1e6,
                    sorted.get(sorted.size() - 1) / 1e6);
            assertEquals(clients * each, fx.server.metrics().requests("/v1/chat/completions", 200));
            assertEquals(fx.solo("And now?", 4), content(fx.post("/v1/chat/completions", chatBody("And now?", 4, false))));
        }
    }

    @Test
    void aFullQueueIsRefusedAndAClientThatLeavesIsCancelled() throws Exception {
        // a context long enough that a generation certainly outlasts its client, however fast the tiny model runs
        ServerOptions one = ServerFixture.options().withSessions(1, 0).withContextLength(16384);
        try (ServerFixture fx = new ServerFixture(one)) {
            StringBuilder noEnd = new StringBuilder("\"logit_bias\": {");   // the generation must outlast the client
            for (int id : fx.model.endOfGenerationIds()) {
                noEnd.append(noEnd.length() > 15 ? ", " : "").append('"').append(id).append("\": -100");
            }
            String forever = noEnd.append("}, ").toString();
            assertTimeoutPreemptively(Duration.ofMinutes(2), () -> {
                // a long streamed generation holds the only session
                try (Socket s = new Socket("127.0.0.1", fx.server.port())) {
                    send(s, chatBody("Write forever", 16000, true, forever));
                    BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
                    assertTrue(in.readLine().contains("200"), "status line");
                    String line;
                    while ((line = in.readLine()) != null && !line.startsWith("data: ")) {
                        // headers, then the first event
                    }
                    HttpResponse<String> busy = fx.post("/v1/chat/completions", chatBody("me too", 4, false));
                    assertEquals(429, busy.statusCode(), busy.body());
                    assertEquals("1", busy.headers().firstValue("Retry-After").orElseThrow());
                    JsonNode err = JSON.readTree(busy.body()).get("error");
                    assertEquals("queue_full", err.get("code").asText());
                }   // the client goes away mid-stream
                waitForCancelled(fx, 1);
                assertEquals(fx.solo("And now?", 4), content(fx.post("/v1/chat/completions", chatBody("And now?", 4, false))));

                // not streaming: the server notices the closed connection while it generates
                try (Socket s = new Socket("127.0.0.1", fx.server.port())) {
                    long before = modelTokens(fx);
                    send(s, chatBody("Write forever again", 16000, false, forever));
                    while (modelTokens(fx) < before + 64) {   // generating: then the client leaves
                        Thread.sleep(5);
                    }
                }
                waitForCancelled(fx, 2);
                assertEquals(fx.solo("And now?", 4), content(fx.post("/v1/chat/completions", chatBody("And now?", 4, false))));
            });
        }
    }

    /** Tokens the model has run so far (from /metrics, as an operator would watch it). */
    private static long modelTokens(ServerFixture fx) throws Exception {
        for (String line : fx.get("/metrics").body().split("\n")) {
            if (line.startsWith("trillium_model_tokens_total ")) {
                return Long.parseLong(line.substring(line.indexOf(' ') + 1).trim());
            }
        }
        throw new AssertionError("no trillium_model_tokens_total in /metrics");
    }

    private static void waitForCancelled(ServerFixture fx, int count) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;   // well inside Jetty's 30 s idle timeout: the probe must do it
        while (fx.server.metrics().cancelled() < count) {
            assertTrue(System.nanoTime() < deadline, "generation not cancelled after its client left");
            Thread.sleep(20);
        }
    }

    private static void send(Socket s, String body) throws Exception {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        OutputStream out = s.getOutputStream();
        out.write(("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                + "Content-Length: " + b.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(b);
        out.flush();
    }
}
