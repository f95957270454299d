package io.trillium.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/** Writing JSON bodies and OpenAI error objects. */
final class Http {
    private Http() {
    }

    static void json(Response response, Callback callback, int status, JsonNode body) {
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
        Content.Sink.write(response, true, text(body), callback);
    }

    static void error(Response response, Callback callback, ApiError e) {
        if (response.isCommitted()) {
            callback.failed(e);   // a stream already under way: the connection is aborted, the client sees it end
            return;
        }
        ObjectNode body = RequestParser.JSON.createObjectNode();
        ObjectNode err = body.putObject("error");
        err.put("message", e.getMessage()).put("type", e.type);
        if (e.param == null) {
            err.putNull("param");
        } else {
            err.put("param", e.param);
        }
        if (e.code == null) {
            err.putNull("code");
        } else {
            err.put("code", e.code);
        }
        if (e.status == 429) {
            response.getHeaders().put(HttpHeader.RETRY_AFTER, "1");
        }
        json(response, callback, e.status, body);
    }

    static String text(JsonNode n) {
        try {
            return RequestParser.JSON.writeValueAsString(n);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
