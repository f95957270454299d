package io.trillium.server;

import io.trillium.api.GenerationRequest;
import io.trillium.api.LoadOptions;
import io.trillium.api.Model;
import io.trillium.api.Session;
import io.trillium.api.Trillium;
import io.trillium.chat.Message;
import io.trillium.fixtures.Fixtures;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;

/** The tiny deepseek2 fixture behind a server on a free loopback port, and raw HTTP for what clients cannot send. */
final class ServerFixture implements AutoCloseable {
    static final String MODEL_ID = "ds2-tiny";
    final Model model;
    final OpenAiServer server;
    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    ServerFixture(ServerOptions options) throws IOException {
        model = Trillium.load(Fixtures.models().resolve("ds2-tiny-F32.gguf"),
                LoadOptions.builder().threads(2).contextLength(256).build());
        server = OpenAiServer.start(model, options);
    }

    static ServerOptions options() {
        return ServerOptions.defaults(MODEL_ID).withPort(0).withContextLength(256);
    }

    String base() {
        return server.baseUri().toString();
    }

    /** What a session alone answers to one user message, greedy. */
    String solo(String prompt, int maxTokens) {
        try (Session s = model.newSession(256)) {
            return s.generate(GenerationRequest.builder().messages(List.of(Message.user(prompt))).maxTokens(maxTokens).build()).text();
        }
    }

    HttpResponse<String> post(String path, String body, String... headers) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base() + path)).timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create(base() + path)).timeout(Duration.ofSeconds(60)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Override
    public void close() {
        server.close();
        model.close();
    }
}
