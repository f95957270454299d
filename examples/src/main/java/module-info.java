/** The trillium command-line tool and embedding examples. */
module io.trillium.examples {
    requires io.trillium.core;
    requires info.picocli;
    requires com.fasterxml.jackson.databind;

    opens io.trillium.cli to info.picocli;
}
