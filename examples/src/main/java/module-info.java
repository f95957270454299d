/** The trillium command-line tool and embedding examples. */
module io.trillium.examples {
    requires io.trillium.core;
    requires info.picocli;
    requires com.fasterxml.jackson.databind;
    // langchain4j-core has no module descriptor or Automatic-Module-Name: its name derives from the jar file name.
    requires langchain4j.core;

    exports io.trillium.examples;
    exports io.trillium.examples.langchain4j;

    opens io.trillium.cli to info.picocli;
}
