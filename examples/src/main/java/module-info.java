/** The trillium command-line tool and embedding examples. */
module io.trillium.examples {
    requires io.trillium.core;
    requires io.trillium.server;
    requires info.picocli;
    requires com.fasterxml.jackson.databind;
    // langchain4j-core has no module descriptor or Automatic-Module-Name: its name derives from the jar file name.
    requires langchain4j.core;
    // commons-math3 3.6.1 has no module descriptor either (statistics of bench and vs-llama figures)
    requires commons.math3;

    exports io.trillium.examples;
    exports io.trillium.examples.langchain4j;

    opens io.trillium.cli to info.picocli;
}
