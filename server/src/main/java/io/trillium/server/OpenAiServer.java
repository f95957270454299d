package io.trillium.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.trillium.api.Model;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/**
 * The OpenAI API over one {@link Model}, on Jetty 12: {@code POST /v1/chat/completions},
 * {@code POST /v1/completions}, {@code GET /v1/models}, {@code GET /health}, {@code GET /metrics}.
 * Requests generate on sessions from {@link Admission} (at most {@code maxSessions} at once, the
 * model batches their decode steps together); the rest queue, then get 429. Errors are OpenAI error
 * objects with the matching status; a handler never lets an exception out as a bare 500.
 *
 * <pre>{@code
 * try (Model model = Trillium.load(path);
 *      OpenAiServer server = OpenAiServer.start(model, ServerOptions.defaults("kimi-k2"))) {
 *     server.join();
 * }
 * }</pre>
 */
public final class OpenAiServer implements AutoCloseable {
    private final Model model;
    private final ServerOptions options;
    private final Server jetty;
    private final ServerConnector connector;
    private final Admission admission;
    private final ServerMetrics metrics;
    private final Completions completions;
    private final long created = System.currentTimeMillis() / 1000;

    private OpenAiServer(Model model, ServerOptions options) {
        this.model = model;
        this.options = options;
        this.admission = new Admission(model, options.maxSessions(), options.queue(), options.contextLength());
        this.metrics = new ServerMetrics(admission);
        this.completions = new Completions(model, options, admission, metrics);
        // blocking handlers: one thread per admitted or queued request, plus Jetty's own (acceptors, selectors)
        QueuedThreadPool threads = new QueuedThreadPool(options.maxSessions() + options.queue() + 32, 8);
        threads.setName("trillium-http");
        this.jetty = new Server(threads);
        this.connector = new ServerConnector(jetty);
        connector.setHost(options.host());
        connector.setPort(options.port());
        jetty.addConnector(connector);
        jetty.setHandler(new Routes());
    }

    /** Starts a server; it runs until {@link #close()}. @throws IOException the port could not be bound */
    public static OpenAiServer start(Model model, ServerOptions options) throws IOException {
        OpenAiServer s = new OpenAiServer(model, options);
        try {
            s.jetty.start();
        } catch (IOException e) {
            s.close();
            throw e;
        } catch (Exception e) {
            s.close();
            throw new IOException("server could not start on " + options.host() + ":" + options.port() + ": " + e.getMessage(), e);
        }
        return s;
    }

    /** The bound port (the chosen one when the options said 0). */
    public int port() {
        return connector.getLocalPort();
    }

    /** {@code http://host:port}. */
    public URI baseUri() {
        return URI.create("http://" + (options.host().contains(":") ? "[" + options.host() + "]" : options.host()) + ":" + port());
    }

    /** The server's counters. */
    public ServerMetrics metrics() {
        return metrics;
    }

    /** Waits until the server stops. */
    public void join() throws InterruptedException {
        jetty.join();
    }

    /**
     * Stops accepting, cancels the running generations and frees the sessions (each as its generation
     * returns). The model stays open.
     */
    @Override
    public void close() {
        admission.close();   // first: running generations stop, queued requests leave, new ones get 503
        try {
            jetty.stop();
        } catch (Exception e) {
            // stopping is best effort: the sessions are freed as their generations return
        }
    }

    private final class Routes extends Handler.Abstract {
        @Override
        public boolean handle(Request request, Response response, Callback callback) {
            String path = Request.getPathInContext(request);
            String endpoint = switch (path) {
                case "/v1/chat/completions", "/v1/completions", "/v1/models", "/health", "/metrics" -> path;
                default -> path.startsWith("/v1/models/") ? "/v1/models/{id}" : "other";
            };
            int status;
            try {
                status = route(path, request, response, callback);
            } catch (ApiError e) {
                status = e.status;
                Http.error(response, callback, e);
            } catch (Throwable t) {
                status = 500;
                Http.error(response, callback, new ApiError(500, "server_error", null, null,
                        "internal error: " + t.getClass().getSimpleName() + ": " + t.getMessage()));
            }
            metrics.request(endpoint, status);
            return true;
        }

        private int route(String path, Request request, Response response, Callback callback) throws Exception {
            String method = request.getMethod();
            if (path.equals("/health")) {
                requireMethod(method, "GET");
                Http.json(response, callback, 200, RequestParser.JSON.createObjectNode().put("status", "ok"));
                return 200;
            }
            if (path.equals("/metrics")) {
                requireMethod(method, "GET");
                response.setStatus(200);
                response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
                Content.Sink.write(response, true, metrics.prometheus(model), callback);
                return 200;
            }
            if (!path.startsWith("/v1/")) {
                throw new ApiError(404, "invalid_request_error", null, "not_found", "no such endpoint: " + method + " " + path);
            }
            authorize(request);
            switch (path) {
                case "/v1/models" -> {
                    requireMethod(method, "GET");
                    ObjectNode list = RequestParser.JSON.createObjectNode().put("object", "list");
                    list.putArray("data").add(modelObject());
                    Http.json(response, callback, 200, list);
                    return 200;
                }
                case "/v1/chat/completions", "/v1/completions" -> {
                    requireMethod(method, "POST");
                    JsonNode body = RequestParser.parse(body(request));
                    RequestParser.Parsed parsed = path.equals("/v1/chat/completions")
                            ? RequestParser.chat(body) : RequestParser.completion(body);
                    if (!parsed.model().equals(options.modelId())) {
                        throw new ApiError(404, "invalid_request_error", "model", "model_not_found",
                                "The model '" + parsed.model() + "' does not exist; this server serves '" + options.modelId() + "'");
                    }
                    return completions.run(parsed, path.equals("/v1/chat/completions"), request, response, callback);
                }
                default -> {
                    if (path.startsWith("/v1/models/")) {   // GET /v1/models/{id}, as clients retrieve a model
                        requireMethod(method, "GET");
                        String id = java.net.URLDecoder.decode(path.substring("/v1/models/".length()), StandardCharsets.UTF_8);
                        if (!id.equals(options.modelId())) {
                            throw new ApiError(404, "invalid_request_error", "model", "model_not_found",
                                    "The model '" + id + "' does not exist; this server serves '" + options.modelId() + "'");
                        }
                        Http.json(response, callback, 200, modelObject());
                        return 200;
                    }
                    throw new ApiError(404, "invalid_request_error", null, "not_found", "no such endpoint: " + method + " " + path);
                }
            }
        }

        private ObjectNode modelObject() {
            return RequestParser.JSON.createObjectNode().put("id", options.modelId()).put("object", "model")
                    .put("created", created).put("owned_by", "trillium");
        }

        private void requireMethod(String method, String expected) {
            if (!method.equals(expected)) {
                throw new ApiError(405, "invalid_request_error", null, "method_not_allowed",
                        "method " + method + " not allowed here; use " + expected);
            }
        }

        private void authorize(Request request) {
            String key = options.apiKey();
            if (key == null) {
                return;
            }
            String auth = request.getHeaders().get(HttpHeader.AUTHORIZATION);
            String given = auth != null && auth.regionMatches(true, 0, "Bearer ", 0, 7) ? auth.substring(7).strip() : null;
            if (given == null || !MessageDigest.isEqual(given.getBytes(StandardCharsets.UTF_8), key.getBytes(StandardCharsets.UTF_8))) {
                throw new ApiError(401, "invalid_request_error", null, "invalid_api_key",
                        given == null ? "missing API key: send 'Authorization: Bearer KEY'" : "incorrect API key");
            }
        }

        private byte[] body(Request request) throws IOException {
            int limit = options.maxBodyBytes();
            long length = request.getLength();
            if (length > limit) {
                throw tooLarge(limit);
            }
            try (InputStream in = Content.Source.asInputStream(request)) {
                byte[] b = in.readNBytes(limit + 1);
                if (b.length > limit) {
                    throw tooLarge(limit);
                }
                return b;
            }
        }

        private ApiError tooLarge(int limit) {
            return new ApiError(413, "invalid_request_error", null, "request_too_large",
                    "request body larger than " + limit + " bytes");
        }
    }
}
