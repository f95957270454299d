package io.trillium.cli;

import io.trillium.fixtures.Fixtures;
import org.junit.jupiter.api.Test;

import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code trillium serve} with the flags: it answers, wants its key, and stops when interrupted. */
class ServeCommandTest {
    @Test
    void servesUntilInterrupted() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        String model = Fixtures.models().resolve("ds2-tiny-F32.gguf").toString();
        int[] rc = {-1};
        Thread serve = new Thread(() -> rc[0] = Main.run("serve", "--model", model, "--host", "127.0.0.1",
                "--port", Integer.toString(port), "--max-sessions", "2", "--queue", "4", "--api-key", "k1",
                "--ctx", "128", "--threads", "2"));
        serve.start();
        HttpClient http = HttpClient.newHttpClient();
        String base = "http://127.0.0.1:" + port;
        assertTimeoutPreemptively(Duration.ofMinutes(1), () -> {
            while (true) {
                try {
                    if (http.send(HttpRequest.newBuilder(URI.create(base + "/health")).build(),
                            HttpResponse.BodyHandlers.ofString()).statusCode() == 200) {
                        break;
                    }
                } catch (java.io.IOException notYet) {
                    Thread.sleep(100);
                }
            }
            String body = "{\"model\": \"ds2-tiny-F32\", \"max_tokens\": 4, \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}";
            HttpResponse<String> ok = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/chat/completions"))
                    .header("Authorization", "Bearer k1").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, ok.statusCode(), ok.body());
            assertTrue(ok.body().contains("\"object\":\"chat.completion\""), ok.body());
            HttpResponse<String> noKey = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/chat/completions"))
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(401, noKey.statusCode());
            HttpResponse<String> overflow = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/chat/completions"))
                    .header("Authorization", "Bearer k1")
                    .POST(HttpRequest.BodyPublishers.ofString(body.replace("\"max_tokens\": 4", "\"max_tokens\": 127"))).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(400, overflow.statusCode(), overflow.body());
            assertTrue(overflow.body().contains("context_length_exceeded"), overflow.body());
            serve.interrupt();
            serve.join();
        });
        assertEquals(0, rc[0]);
        boolean refused;
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
            refused = false;
        } catch (java.io.IOException e) {
            refused = true;
        }
        assertTrue(refused, "the port is closed after the command returns");
        assertFalse(serve.isAlive());
    }
}
