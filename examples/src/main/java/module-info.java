/** The trillium command-line tool and embedding examples. */
module io.trillium.examples {
    requires io.trillium.core;
    requires info.picocli;
    requires com.fasterxml.jackson.databind;

    exports io.trillium.examples;

    opens io.trillium.cli to info.picocli;
}
