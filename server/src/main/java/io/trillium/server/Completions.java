package io.trillium.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.trillium.api.CancellationToken;
import io.trillium.api.ContextOverflowException;
import io.trillium.api.FinishReason;
import io.trillium.api.GenerationRequest;
import io.trillium.api.GenerationResult;
import io.trillium.api.Model;
import io.trillium.api.Session;
import io.trillium.api.Token;
import io.trillium.api.UnsupportedModelException;
import io.trillium.chat.ToolCall;
import io.trillium.sample.LogitsProcessor;
import io.trillium.sample.SamplingContext;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * One completion request, chat or text, streamed or not: admission, the generation on a session, and
 * OpenAI's response objects. A client that goes away (Jetty reports the failed connection, or a stream
 * write fails) cancels its generation before the next token.
 */
final class Completions {
    /** Status recorded for a request whose client left before the answer (nginx's convention). */
    static final int CLIENT_CLOSED = 499;

    private final Model model;
    private final ServerOptions options;
    private final Admission admission;
    private final ServerMetrics metrics;

    Completions(Model model, ServerOptions options, Admission admission, ServerMetrics metrics) {
        this.model = model;
        this.options = options;
        this.admission = admission;
        this.metrics = metrics;
    }

    int run(RequestParser.Parsed p, boolean chat, Request request, Response response, Callback callback) throws Exception {
        CancellationToken cancel = new CancellationToken();
        request.addFailureListener(t -> cancel.cancel());
        // a long prompt, a long non-streamed answer or a wait in the queue writes nothing for a while: that is
        // not a failure (Jetty's idle timeout would fail the request); a client that leaves is noticed by
        // ClientWatch's probe and by failed writes
        request.addIdleTimeoutListener(timeout -> false);
        ClientWatch watch = new ClientWatch(request, response, cancel);
        Session session = admission.acquire(watch::gone, cancel);
        if (session == null) {
            callback.failed(new IOException("client went away while queued"));
            return CLIENT_CLOSED;
        }
        long t0 = System.nanoTime();
        try {
            TopLogprobs recorder = p.logprobs() ? new TopLogprobs(p.topLogprobs()) : null;
            GenerationRequest.Builder b = GenerationRequest.builder().sampler(p.sampler()).seed(p.seed())
                    .cancellation(cancel).responseFormat(p.responseFormat()).tools(p.tools());
            p.stop().forEach(b::stop);
            if (recorder != null) {
                b.logitsProcessor(recorder);
            }
            if (p.messages() != null) {
                b.messages(p.messages());
            } else if (p.prompt() != null) {
                b.prompt(p.prompt());
            } else {
                b.prompt(p.promptIds());
            }
            int limit = Math.min(session.contextLength(), options.maxTokens() > 0 ? options.maxTokens() : Integer.MAX_VALUE);
            if (p.maxTokens() > limit) {
                throw ApiError.invalid(chat ? "max_completion_tokens" : "max_tokens", "max_tokens " + p.maxTokens()
                        + " is above this server's limit of " + limit);
            }
            Stream stream = p.stream() ? new Stream(response, callback, cancel, chat, p) : null;
            GenerationResult r;
            try {
                r = generate(session, b, p.maxTokens() > 0 ? p.maxTokens() : limit, p.maxTokens() == 0, stream, recorder,
                        stream == null ? watch : null);
            } catch (ContextOverflowException e) {
                throw new ApiError(400, "invalid_request_error", "messages", "context_length_exceeded", e.getMessage());
            } catch (UnsupportedModelException e) {
                throw ApiError.invalid("messages", e.getMessage());
            } catch (IllegalArgumentException e) {
                throw ApiError.invalid(null, e.getMessage());
            }
            boolean gone = r.finishReason() == FinishReason.CANCELLED;
            int promptTokens = r.metrics().promptTokens() + r.metrics().cachedPromptTokens();
            metrics.generation(promptTokens, r.ids().length, System.nanoTime() - t0, gone);
            if (gone) {
                callback.failed(new IOException("client went away"));
                return CLIENT_CLOSED;
            }
            String text = r.text();
            List<ToolCall> calls = List.of();
            if (p.toolsForced()) {
                calls = ToolCallText.forced(text);
                text = calls.isEmpty() ? text : "";
            } else if (p.tools() != null) {
                io.trillium.chat.ToolCalls.Parsed parsed = io.trillium.chat.ToolCalls.parse(text);
                text = parsed.content();
                calls = parsed.calls();
            }
            String finish = !calls.isEmpty() ? "tool_calls" : r.finishReason() == FinishReason.LENGTH ? "length" : "stop";
            ObjectNode usage = usage(promptTokens, r.ids().length);
            if (stream != null) {
                stream.finish(text, calls, finish, usage);
            } else if (chat) {
                Http.json(response, callback, 200, chatResponse(text, calls, finish, usage, recorder));
            } else {
                Http.json(response, callback, 200, completionResponse(p.echo() && p.prompt() != null ? p.prompt() + text : text,
                        finish, usage, recorder));
            }
            return 200;
        } finally {
            admission.release(session);
        }
    }

    /** Generates; without an explicit max_tokens, as many as the context leaves after the prompt. */
    private GenerationResult generate(Session session, GenerationRequest.Builder b, int maxTokens, boolean defaulted,
                                      Stream stream, TopLogprobs recorder, ClientWatch watch) {
        io.trillium.api.TokenListener listener = token -> {
            onToken(stream, recorder, token);
            if (watch != null) {
                watch.gone();
            }
        };
        try {
            return session.generate(b.maxTokens(maxTokens).build(), listener);
        } catch (ContextOverflowException e) {
            int prompt = e.required() - maxTokens;
            if (!defaulted || prompt >= e.capacity()) {
                throw e;
            }
            return session.generate(b.maxTokens(e.capacity() - prompt).build(), listener);
        }
    }

    private void onToken(Stream stream, TopLogprobs recorder, Token token) {
        if (recorder != null && token.id() != Token.NONE) {
            recorder.chosen(token.id(), token.logprob());
        }
        if (stream != null) {
            stream.token(token, recorder);
        }
    }

    private ObjectNode usage(int prompt, int completion) {
        return RequestParser.JSON.createObjectNode().put("prompt_tokens", prompt).put("completion_tokens", completion)
                .put("total_tokens", prompt + completion);
    }

    private ObjectNode chatResponse(String text, List<ToolCall> calls, String finish, ObjectNode usage, TopLogprobs recorder) {
        ObjectNode o = head("chatcmpl-", "chat.completion");
        ObjectNode choice = o.putArray("choices").addObject().put("index", 0);
        ObjectNode message = choice.putObject("message").put("role", "assistant");
        if (text.isEmpty() && !calls.isEmpty()) {
            message.putNull("content");
        } else {
            message.put("content", text);
        }
        if (!calls.isEmpty()) {
            toolCalls(message.putArray("tool_calls"), calls);
        }
        if (recorder == null) {
            choice.putNull("logprobs");
        } else {
            recorder.write(choice.putObject("logprobs").putArray("content"), 0, model);
        }
        choice.put("finish_reason", finish);
        o.set("usage", usage);
        return o;
    }

    private ObjectNode completionResponse(String text, String finish, ObjectNode usage, TopLogprobs recorder) {
        ObjectNode o = head("cmpl-", "text_completion");
        ObjectNode choice = o.putArray("choices").addObject().put("text", text).put("index", 0);
        if (recorder == null) {
            choice.putNull("logprobs");
        } else {
            recorder.writeLegacy(choice.putObject("logprobs"), 0, model);
        }
        choice.put("finish_reason", finish);
        o.set("usage", usage);
        return o;
    }

    private static void toolCalls(ArrayNode out, List<ToolCall> calls) {
        for (int i = 0; i < calls.size(); i++) {
            ToolCall c = calls.get(i);
            ObjectNode call = out.addObject().put("index", i).put("id", c.id()).put("type", "function");
            call.putObject("function").put("name", c.name()).put("arguments", c.argumentsJson());
        }
    }

    private ObjectNode head(String prefix, String object) {
        return RequestParser.JSON.createObjectNode()
                .put("id", prefix + UUID.randomUUID().toString().replace("-", ""))
                .put("object", object)
                .put("created", System.currentTimeMillis() / 1000)
                .put("model", options.modelId())
                .put("system_fingerprint", "trillium");
    }

    /**
     * Notices a client that closed its connection while nothing is written to it (queued, or generating
     * a non-streamed answer): Jetty reads nothing from an HTTP/1.1 connection while its handler runs, so
     * the connection is probed with a one-byte non-blocking read; end of stream means the client left.
     * A byte that arrives instead belongs to a pipelined request (which OpenAI clients never send): the
     * probing stops and the connection is closed after this answer, so that request is not misread.
     */
    private static final class ClientWatch {
        private final Request request;
        private final Response response;
        private final CancellationToken cancel;
        private final java.nio.ByteBuffer probe = org.eclipse.jetty.util.BufferUtil.allocate(1);
        private boolean stopped;

        ClientWatch(Request request, Response response, CancellationToken cancel) {
            this.request = request;
            this.response = response;
            this.cancel = cancel;
        }

        boolean gone() {
            if (!stopped && !cancel.isCancelled()) {
                try {
                    org.eclipse.jetty.io.EndPoint ep = request.getConnectionMetaData().getConnection().getEndPoint();
                    org.eclipse.jetty.util.BufferUtil.clear(probe);
                    int n = ep.fill(probe);
                    if (n < 0) {
                        cancel.cancel();
                    } else if (n > 0) {
                        stopped = true;
                        if (!response.isCommitted()) {
                            response.getHeaders().put(HttpHeader.CONNECTION, "close");
                        }
                    }
                } catch (IOException | RuntimeException e) {
                    cancel.cancel();
                }
            }
            return cancel.isCancelled();
        }
    }

    /** A streamed answer: server-sent events, one chunk per piece of text, then the finish, usage and [DONE]. */
    private final class Stream {
        private final Response response;
        private final Callback callback;
        private final CancellationToken cancel;
        private final boolean chat;
        private final ToolTextGate gate;   // with tools: the text streams up to a possible call marker
        private final boolean includeUsage;
        private final String id;
        private final long created = System.currentTimeMillis() / 1000;
        private OutputStream out;
        private boolean broken;
        private int logprobsSent;

        Stream(Response response, Callback callback, CancellationToken cancel, boolean chat, RequestParser.Parsed p) {
            this.response = response;
            this.callback = callback;
            this.cancel = cancel;
            this.chat = chat;
            this.gate = p.toolsForced() ? ToolTextGate.holdingAll() : p.tools() != null ? new ToolTextGate() : null;
            this.includeUsage = p.includeUsage();
            this.id = (chat ? "chatcmpl-" : "cmpl-") + UUID.randomUUID().toString().replace("-", "");
        }

        private ObjectNode chunk() {
            return RequestParser.JSON.createObjectNode().put("id", id)
                    .put("object", chat ? "chat.completion.chunk" : "text_completion")
                    .put("created", created).put("model", options.modelId()).put("system_fingerprint", "trillium");
        }

        private void open() {
            if (out != null) {
                return;
            }
            response.setStatus(200);
            response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/event-stream; charset=utf-8");
            response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-cache");
            out = Content.Sink.asOutputStream(response);
            if (chat) {
                ObjectNode c = chunk();
                ObjectNode choice = c.putArray("choices").addObject().put("index", 0);
                choice.putObject("delta").put("role", "assistant").put("content", "");
                choice.putNull("logprobs");
                choice.putNull("finish_reason");
                send(c);
            }
        }

        void token(Token token, TopLogprobs recorder) {
            if (broken) {
                return;
            }
            open();
            String text = gate == null ? token.text() : gate.accept(token.text());
            if (text.isEmpty() && (recorder == null || gate != null)) {
                return;
            }
            ObjectNode c = chunk();
            ObjectNode choice = c.putArray("choices").addObject().put("index", 0);
            if (chat) {
                choice.putObject("delta").put("content", text);
            } else {
                choice.put("text", text);
            }
            if (recorder != null && chat) {
                recorder.write(choice.putObject("logprobs").putArray("content"), logprobsSent, model);
                logprobsSent = recorder.size();
            } else if (recorder != null) {
                recorder.writeLegacy(choice.putObject("logprobs"), logprobsSent, model);
                logprobsSent = recorder.size();
            } else {
                choice.putNull("logprobs");
            }
            choice.putNull("finish_reason");
            send(c);
        }

        void finish(String text, List<ToolCall> calls, String finish, ObjectNode usage) throws IOException {
            open();
            String rest = gate == null ? "" : gate.remainder(text);
            if (!rest.isEmpty()) {
                ObjectNode c = chunk();
                ObjectNode choice = c.putArray("choices").addObject().put("index", 0);
                choice.putObject("delta").put("content", rest);
                choice.putNull("finish_reason");
                send(c);
            }
            if (!calls.isEmpty()) {
                ObjectNode c = chunk();
                ObjectNode choice = c.putArray("choices").addObject().put("index", 0);
                toolCalls(choice.putObject("delta").putArray("tool_calls"), calls);
                choice.putNull("finish_reason");
                send(c);
            }
            ObjectNode last = chunk();
            ObjectNode choice = last.putArray("choices").addObject().put("index", 0);
            if (chat) {
                choice.putObject("delta");
            } else {
                choice.put("text", "");
            }
            choice.putNull("logprobs");
            choice.put("finish_reason", finish);
            send(last);
            if (includeUsage) {
                ObjectNode u = chunk();
                u.putArray("choices");
                u.set("usage", usage);
                send(u);
            }
            write("data: [DONE]\n\n");
            if (broken) {
                callback.failed(new IOException("client went away"));
            } else {
                out.close();
                callback.succeeded();
            }
        }

        private void send(ObjectNode chunk) {
            write("data: " + Http.text(chunk) + "\n\n");
        }

        private void write(String s) {
            if (broken) {
                return;
            }
            try {
                out.write(s.getBytes(StandardCharsets.UTF_8));
                out.flush();
            } catch (IOException e) {
                broken = true;
                cancel.cancel();   // the client went away: stop generating for it
            }
        }
    }

    /**
     * Records the chosen token and the most likely ones at each step, all in the model's distribution
     * before sampling (temperature, top-p and a response format's mask come after).
     */
    static final class TopLogprobs implements LogitsProcessor {
        private final int k;
        private final List<int[]> topIds = new ArrayList<>();
        private final List<double[]> topLogprobs = new ArrayList<>();
        private final List<int[]> chosen = new ArrayList<>();
        private final List<Double> chosenLogprob = new ArrayList<>();
        private float[] raw;       // this step's logits as the model gave them (before the sampler rewrites them)
        private double rawLogZ;

        TopLogprobs(int k) {
            this.k = k;
        }

        @Override
        public void process(float[] logits, SamplingContext context) {
            double logZ = io.trillium.sample.LogProbs.logSumExp(logits);
            if (raw == null || raw.length != logits.length) {
                raw = new float[logits.length];
            }
            System.arraycopy(logits, 0, raw, 0, logits.length);   // the chosen token's logprob comes from here
            rawLogZ = logZ;
            int[] ids = new int[k];
            double[] lp = new double[k];
            java.util.Arrays.fill(lp, Double.NEGATIVE_INFINITY);
            for (int i = 0; i < logits.length && k > 0; i++) {
                double v = logits[i] - logZ;
                if (v > lp[k - 1]) {
                    int j = k - 1;
                    while (j > 0 && lp[j - 1] < v) {
                        lp[j] = lp[j - 1];
                        ids[j] = ids[j - 1];
                        j--;
                    }
                    lp[j] = v;
                    ids[j] = i;
                }
            }
            topIds.add(ids);
            topLogprobs.add(lp);
        }

        /** The sampled token: its logprob in the same distribution as the top ones (the model's, before sampling). */
        void chosen(int id, double sampledLogprob) {
            chosen.add(new int[]{id});
            chosenLogprob.add(raw != null && id < raw.length ? raw[id] - rawLogZ : sampledLogprob);
        }

        int size() {
            return chosen.size();
        }

        /** Chat format: {@code [{token, logprob, bytes, top_logprobs: [...]}]} from entry {@code from}. */
        void write(ArrayNode content, int from, Model model) {
            for (int i = from; i < chosen.size(); i++) {
                ObjectNode e = entry(content.addObject(), chosen.get(i)[0], chosenLogprob.get(i), model);
                ArrayNode top = e.putArray("top_logprobs");
                for (int j = 0; j < k && i < topIds.size(); j++) {
                    if (topLogprobs.get(i)[j] > Double.NEGATIVE_INFINITY) {
                        entry(top.addObject(), topIds.get(i)[j], topLogprobs.get(i)[j], model);
                    }
                }
            }
        }

        /** The legacy completions format: {@code tokens}, {@code token_logprobs}, {@code top_logprobs}, from entry {@code from}. */
        void writeLegacy(ObjectNode o, int from, Model model) {
            ArrayNode tokens = o.putArray("tokens");
            ArrayNode lps = o.putArray("token_logprobs");
            ArrayNode tops = o.putArray("top_logprobs");
            for (int i = from; i < chosen.size(); i++) {
                tokens.add(model.tokenizer().decode(chosen.get(i)[0]));
                lps.add(chosenLogprob.get(i));
                ObjectNode top = tops.addObject();
                for (int j = 0; j < k && i < topIds.size(); j++) {
                    top.put(model.tokenizer().decode(topIds.get(i)[j]), topLogprobs.get(i)[j]);
                }
            }
        }

        private static ObjectNode entry(ObjectNode e, int id, double logprob, Model model) {
            byte[] bytes = model.tokenizer().tokenBytes(id);
            e.put("token", model.tokenizer().decode(id)).put("logprob", logprob);
            ArrayNode b = e.putArray("bytes");
            for (byte x : bytes) {
                b.add(x & 0xff);
            }
            return e;
        }
    }
}
