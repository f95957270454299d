/** An OpenAI-compatible HTTP server over a Trillium {@code Model}, on Jetty 12. */
module io.trillium.server {
    requires io.trillium.core;
    requires com.fasterxml.jackson.databind;
    requires org.eclipse.jetty.server;

    exports io.trillium.server;
}
