package io.trillium.server;

import java.util.Objects;

/**
 * How an {@link OpenAiServer} listens and what it admits.
 *
 * @param host          address to bind (default 127.0.0.1: loopback only)
 * @param port          TCP port; 0 picks a free one (see {@link OpenAiServer#port()})
 * @param modelId       the id clients name in {@code model} and {@code /v1/models} lists
 * @param maxSessions   requests generating at once (each holds a session and its KV cache)
 * @param queue         further requests that wait for a session; beyond that: 429 with Retry-After
 * @param apiKey        the bearer token {@code /v1/*} requires; {@code null}: none
 * @param contextLength each session's context in tokens (0: the model's default)
 * @param maxBodyBytes  largest request body; larger: 413
 * @param maxTokens     most tokens one request may generate (0: the context length)
 */
public record ServerOptions(String host, int port, String modelId, int maxSessions, int queue, String apiKey,
                            int contextLength, int maxBodyBytes, int maxTokens) {
    public static final int DEFAULT_PORT = 8080;
    public static final int DEFAULT_MAX_SESSIONS = 8;
    public static final int DEFAULT_QUEUE = 64;
    public static final int DEFAULT_MAX_BODY_BYTES = 4 << 20;

    public ServerOptions {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(modelId, "modelId");
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be 0..65535: " + port);
        }
        if (maxSessions < 1) {
            throw new IllegalArgumentException("maxSessions must be >= 1: " + maxSessions);
        }
        if (queue < 0) {
            throw new IllegalArgumentException("queue must be >= 0: " + queue);
        }
        if (contextLength < 0 || maxBodyBytes < 1 || maxTokens < 0) {
            throw new IllegalArgumentException("contextLength and maxTokens must be >= 0, maxBodyBytes >= 1");
        }
        if (apiKey != null && apiKey.isBlank()) {
            apiKey = null;
        }
    }

    /** Defaults: 127.0.0.1:8080, 8 sessions, a queue of 64, no key, 4 MiB bodies. */
    public static ServerOptions defaults(String modelId) {
        return new ServerOptions("127.0.0.1", DEFAULT_PORT, modelId, DEFAULT_MAX_SESSIONS, DEFAULT_QUEUE, null, 0,
                DEFAULT_MAX_BODY_BYTES, 0);
    }

    public ServerOptions withPort(int port) {
        return new ServerOptions(host, port, modelId, maxSessions, queue, apiKey, contextLength, maxBodyBytes, maxTokens);
    }

    public ServerOptions withHost(String host) {
        return new ServerOptions(host, port, modelId, maxSessions, queue, apiKey, contextLength, maxBodyBytes, maxTokens);
    }

    public ServerOptions withSessions(int maxSessions, int queue) {
        return new ServerOptions(host, port, modelId, maxSessions, queue, apiKey, contextLength, maxBodyBytes, maxTokens);
    }

    public ServerOptions withApiKey(String apiKey) {
        return new ServerOptions(host, port, modelId, maxSessions, queue, apiKey, contextLength, maxBodyBytes, maxTokens);
    }

    public ServerOptions withContextLength(int contextLength) {
        return new ServerOptions(host, port, modelId, maxSessions, queue, apiKey, contextLength, maxBodyBytes, maxTokens);
    }

    public ServerOptions withLimits(int maxBodyBytes, int maxTokens) {
        return new ServerOptions(host, port, modelId, maxSessions, queue, apiKey, contextLength, maxBodyBytes, maxTokens);
    }
}
