package io.trillium.json;

/** A JSON Schema that cannot be compiled for constrained output: where (a JSON pointer) and why. */
public final class SchemaException extends IllegalArgumentException {
    private final String pointer;

    public SchemaException(String pointer, String message) {
        super("schema " + pointer + ": " + message);
        this.pointer = pointer;
    }

    /** Where in the schema, as a JSON pointer fragment ({@code #/properties/name}). */
    public String pointer() {
        return pointer;
    }
}
