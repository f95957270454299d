package io.trillium.json;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeType;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A JSON Schema compiled for constrained generation: the documents it lets a model write. Immutable
 * and independent of any vocabulary; compile once and use for many requests.
 *
 * <p>Supported: {@code type} (one or a list), {@code properties} / {@code required} (properties are
 * written in declared order; an object without {@code properties} takes any keys, with values of its
 * {@code additionalProperties} schema), {@code enum}, {@code const}, {@code items}, {@code minItems},
 * {@code maxItems}, {@code minLength}, {@code maxLength}, {@code anyOf}, {@code oneOf} (generated as
 * {@code anyOf}, so accepted only when no value can match two branches: they differ in type, or in a required
 * const property), {@code allOf} of one schema, {@code $ref} to
 * {@code #}, {@code #/$defs/…} or {@code #/definitions/…} (recursion allowed), and the annotations
 * (title, description, default, examples, format, …), which do not constrain. A keyword that would
 * constrain values in a way the generator cannot guarantee ({@code multipleOf},
 * {@code uniqueItems}, …) is an error naming it and its place, never silently ignored.
 *
 * <p>Written documents are compact JSON with at most {@value JsonMatcher#MAX_WHITESPACE} whitespace
 * bytes in a row; numbers have at most 15 integer and 15 fraction digits and 2 exponent digits (every one a finite double).
 */
public final class JsonSchema {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> ANNOTATIONS = Set.of("$schema", "$id", "$comment", "title", "description",
            "default", "examples", "format", "deprecated", "readOnly", "writeOnly", "contentMediaType",
            "contentEncoding", "$defs", "definitions", "strict", "name", "additionalItems");
    private static final Set<String> KEYWORDS = Set.of("type", "properties", "required", "additionalProperties",
            "items", "minItems", "maxItems", "enum", "const", "anyOf", "oneOf", "allOf", "$ref", "minLength",
            "maxLength", "pattern", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum");
    /** Longest strings and arrays a schema may ask for at least (larger minimums are certainly a mistake). */
    private static final int MAX_MINIMUM = 100_000;

    private final Shape root;
    private final String source;

    private JsonSchema(Shape root, String source) {
        this.root = root;
        this.source = source;
    }

    /** Any JSON object (OpenAI's {@code {"type": "json_object"}}). */
    public static JsonSchema anyObject() {
        return compile("{\"type\": \"object\"}");
    }

    /**
     * Compiles a schema given as JSON text.
     *
     * @throws SchemaException the text is not JSON, or the schema is invalid or uses an unsupported keyword
     */
    public static JsonSchema compile(String schema) {
        JsonNode node;
        try {
            node = JSON.readTree(schema);
        } catch (JsonProcessingException e) {
            throw new SchemaException("#", "not JSON: " + e.getOriginalMessage());
        }
        if (node == null || node.isMissingNode()) {
            throw new SchemaException("#", "empty schema text");
        }
        return compile(node);
    }

    /** Compiles a schema given as a Jackson tree. @throws SchemaException as {@link #compile(String)} */
    public static JsonSchema compile(JsonNode schema) {
        checkSubschemas(schema, "#", 0);
        Compiler c = new Compiler(schema);
        Shape root = c.shape(schema, "#", 0);
        c.resolve();
        c.checkOneOfs();
        sizes(c.all);
        if (root.minBytes >= Shape.NEVER) {
            throw new SchemaException("#", "no finite document matches the schema (a required property or item refers back to itself)");
        }
        return new JsonSchema(root, schema.toString());
    }

    Shape root() {
        return root;
    }

    /** Fewest bytes of a matching document. */
    public int minBytes() {
        return root.minBytes;
    }

    @Override
    public String toString() {
        return source;
    }

    /**
     * Every place that must hold a schema holds an object or a boolean, also where the generator
     * would not look (the items of a string schema): the schema is invalid as a whole otherwise.
     */
    private static void checkSubschemas(JsonNode n, String path, int depth) {
        if (n.isBoolean()) {
            return;
        }
        if (!n.isObject()) {
            throw new SchemaException(path, "a schema must be an object or a boolean, got " + kind(n));
        }
        if (depth > 64) {
            throw new SchemaException(path, "nested deeper than 64 levels");
        }
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!KEYWORDS.contains(k) && !ANNOTATIONS.contains(k)) {
                throw new SchemaException(path, "keyword '" + k + "' is not supported for constrained output"
                        + " (supported: " + String.join(", ", new java.util.TreeSet<>(KEYWORDS)) + ")");
            }
        }
        for (String k : List.of("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")) {
            JsonNode v = n.get(k);
            if (v != null && !v.isNumber() && !(v.isBoolean() && k.startsWith("exclusive"))) {
                throw new SchemaException(path + "/" + k, k + " must be a number, got " + kind(v));
            }
            if (v != null && v.isNumber() && !Double.isFinite(v.doubleValue())) {
                throw new SchemaException(path + "/" + k, k + " must be a finite number, got " + v);
            }
        }
        for (String k : List.of("minLength", "maxLength", "minItems", "maxItems")) {
            JsonNode v = n.get(k);
            if (v != null && (!v.isIntegralNumber() || v.asLong() < 0)) {
                throw new SchemaException(path + "/" + k, k + " must be a non-negative integer, got " + v);
            }
        }
        if (n.has("pattern") && !n.get("pattern").isTextual()) {
            throw new SchemaException(path + "/pattern", "pattern must be a string, got " + kind(n.get("pattern")));
        }
        if (n.has("required") && (!n.get("required").isArray() || !allText(n.get("required")))) {
            throw new SchemaException(path + "/required", "required must be an array of property names");
        }
        if (n.has("enum") && (!n.get("enum").isArray() || n.get("enum").isEmpty())) {
            throw new SchemaException(path + "/enum", "enum must be a non-empty array");
        }
        for (String k : List.of("items", "additionalProperties")) {
            if (k.equals("items") && n.path(k).isArray()) {
                throw new SchemaException(path + "/items", "items as an array (tuples, prefixItems) is not supported");
            }
            if (n.has(k)) {
                checkSubschemas(n.get(k), path + "/" + k, depth + 1);
            }
        }
        for (String k : List.of("properties", "$defs", "definitions")) {
            JsonNode m = n.get(k);
            if (m != null) {
                if (!m.isObject()) {
                    throw new SchemaException(path + "/" + k, k + " must be an object of schemas, got " + kind(m));
                }
                for (Iterator<Map.Entry<String, JsonNode>> it = m.fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> e = it.next();
                    checkSubschemas(e.getValue(), path + "/" + k + "/" + escapePointer(e.getKey()), depth + 1);
                }
            }
        }
        for (String k : List.of("anyOf", "oneOf", "allOf")) {
            JsonNode a = n.get(k);
            if (a != null) {
                if (!a.isArray() || a.isEmpty()) {
                    throw new SchemaException(path + "/" + k, k + " must be a non-empty array of schemas");
                }
                for (int i = 0; i < a.size(); i++) {
                    checkSubschemas(a.get(i), path + "/" + k + "/" + i, depth + 1);
                }
            }
        }
    }

    private static boolean allText(JsonNode a) {
        for (JsonNode x : a) {
            if (!x.isTextual()) {
                return false;
            }
        }
        return true;
    }

    /** Fills in every shape's {@link Shape#minBytes}: iterated to a fixed point, as shapes may form cycles. */
    private static void sizes(List<Shape> all) {
        boolean changed = true;
        for (int round = 0; changed; round++) {
            if (round > all.size() + 2 && round > 64) {
                break;   // sizes only decrease and are bounded below; this is a guard, not a path
            }
            changed = false;
            for (Shape s : all) {
                int before = s.minBytes;
                int now = switch (s) {
                    case Shape.Literals l -> {
                        int m = Shape.NEVER;
                        for (byte[] v : l.values) {
                            m = Math.min(m, v.length);
                        }
                        yield m;
                    }
                    case Shape.Str st -> st.pattern == null ? 2 + st.minLength : Shape.add(2, st.pattern.cost(st.pattern.start));
                    case Shape.Num n -> NumberFrames.minBytes(n);
                    case Shape.Obj o -> {
                        boolean c = o.update();
                        changed |= c;
                        yield Shape.add(1, o.freeForm() ? 1 : o.afterOpen());
                    }
                    case Shape.Arr a -> Shape.add(1, a.minItems == 0 ? 1 : Shape.add(a.items.minBytes, a.afterItems(1)));
                    case Shape.AnyOf any -> {
                        int m = Shape.NEVER;
                        for (Shape alt : any.alternatives) {
                            m = Math.min(m, alt.minBytes);
                        }
                        yield m;
                    }
                    case Shape.Ref r -> r.target.minBytes;
                };
                if (now != before) {
                    s.minBytes = now;
                    changed = true;
                }
            }
        }
    }

    /** Schema tree → shapes, with the path of every error. */
    private static final class Compiler {
        private final JsonNode document;
        final List<Shape> all = new ArrayList<>();
        private final Map<String, Shape.Ref> refs = new HashMap<>();
        private final Map<JsonNode, Shape> compiled = new IdentityHashMap<>();
        private final List<Map.Entry<String, Shape.AnyOf>> oneOfs = new ArrayList<>();
        private Shape any;

        Compiler(JsonNode document) {
            this.document = document;
        }

        private <S extends Shape> S add(S s) {
            all.add(s);
            return s;
        }

        Shape shape(JsonNode n, String path, int depth) {
            if (depth > 64) {
                throw new SchemaException(path, "nested deeper than 64 levels");
            }
            if (n.isBoolean()) {
                if (!n.booleanValue()) {
                    throw new SchemaException(path, "schema false allows no value");
                }
                return any();
            }
            if (!n.isObject()) {
                throw new SchemaException(path, "a schema must be an object or a boolean, got " + kind(n));
            }
            Shape done = compiled.get(n);
            if (done != null) {
                return done;
            }
            Shape s = build(n, path, depth);
            compiled.put(n, s);
            return s;
        }

        private Shape build(JsonNode n, String path, int depth) {
            // keywords that apply together must be intersected; where the generator cannot, it says so
            List<String> present = new ArrayList<>();
            for (String k : KEYWORDS) {
                if (n.has(k)) {
                    present.add(k);
                }
            }
            for (String alone : List.of("$ref", "anyOf", "oneOf", "allOf")) {
                if (n.has(alone) && present.size() > 1) {
                    throw new SchemaException(path, alone + " next to " + present.stream().filter(k -> !k.equals(alone)).toList()
                            + " is not supported (move them into each branch)");
                }
            }
            for (String literal : List.of("enum", "const")) {
                if (n.has(literal) && present.stream().anyMatch(k -> !k.equals(literal) && !k.equals("type"))) {
                    throw new SchemaException(path, literal + " next to " + present.stream().filter(k -> !k.equals(literal)).toList()
                            + " is not supported (only type may accompany it)");
                }
            }
            if (n.has("$ref")) {
                return ref(text(n, "$ref", path), path + "/$ref");
            }
            if (n.has("allOf")) {
                JsonNode all = n.get("allOf");
                if (!all.isArray() || all.size() != 1) {
                    throw new SchemaException(path + "/allOf", "only allOf with exactly one schema is supported");
                }
                return shape(all.get(0), path + "/allOf/0", depth + 1);
            }
            if (n.has("const")) {
                Set<String> types = n.has("type") ? types(n, path) : null;
                if (types != null && !hasType(types, n.get("const"))) {
                    throw new SchemaException(path + "/const", "const " + n.get("const") + " is not of the schema's type " + types);
                }
                return add(new Shape.Literals(new byte[][]{bytes(n.get("const"))}));
            }
            if (n.has("enum")) {
                JsonNode e = n.get("enum");
                if (!e.isArray() || e.isEmpty()) {
                    throw new SchemaException(path + "/enum", "enum must be a non-empty array");
                }
                Set<String> types = n.has("type") ? types(n, path) : null;
                List<byte[]> values = new ArrayList<>();
                Set<String> seen = new LinkedHashSet<>();
                for (JsonNode v : e) {
                    if ((types == null || hasType(types, v)) && seen.add(v.toString())) {
                        values.add(bytes(v));
                    }
                }
                if (values.isEmpty()) {
                    throw new SchemaException(path + "/enum", "no enum value has the schema's type " + types);
                }
                return add(new Shape.Literals(values.toArray(byte[][]::new)));
            }
            String alternatives = n.has("anyOf") ? "anyOf" : n.has("oneOf") ? "oneOf" : null;
            if (alternatives != null) {
                if (n.has("anyOf") && n.has("oneOf")) {
                    throw new SchemaException(path, "anyOf and oneOf together are not supported");
                }
                JsonNode alts = n.get(alternatives);
                if (!alts.isArray() || alts.isEmpty()) {
                    throw new SchemaException(path + "/" + alternatives, alternatives + " must be a non-empty array");
                }
                Shape[] shapes = new Shape[alts.size()];
                for (int i = 0; i < shapes.length; i++) {
                    shapes[i] = shape(alts.get(i), path + "/" + alternatives + "/" + i, depth + 1);
                }
                Shape.AnyOf any = add(new Shape.AnyOf(shapes));
                if (alternatives.equals("oneOf")) {
                    oneOfs.add(Map.entry(path + "/oneOf", any));
                }
                return any;
            }
            Set<String> types;
            if (n.has("type")) {
                types = types(n, path);
            } else if (n.has("properties") || n.has("required") || n.has("additionalProperties")) {
                types = Set.of("object");
            } else if (n.has("items") || n.has("minItems") || n.has("maxItems")) {
                types = Set.of("array");
            } else if (n.has("minLength") || n.has("maxLength") || n.has("pattern")) {
                types = Set.of("string");
            } else if (n.has("minimum") || n.has("maximum") || n.has("exclusiveMinimum") || n.has("exclusiveMaximum")) {
                types = Set.of("number");
            } else {
                return any();
            }
            List<Shape> shapes = new ArrayList<>();
            for (String t : types) {
                shapes.add(typed(t, n, path, depth));
            }
            return shapes.size() == 1 ? shapes.get(0) : add(new Shape.AnyOf(shapes.toArray(Shape[]::new)));
        }

        private Shape typed(String type, JsonNode n, String path, int depth) {
            return switch (type) {
                case "string" -> {
                    int min = count(n, "minLength", 0, path);
                    int max = count(n, "maxLength", Integer.MAX_VALUE, path);
                    if (min > max) {
                        throw new SchemaException(path, "minLength " + min + " > maxLength " + max);
                    }
                    JsonNode pattern = n.get("pattern");
                    if (pattern == null) {
                        yield add(new Shape.Str(min, max));
                    }
                    if (!pattern.isTextual()) {
                        throw new SchemaException(path + "/pattern", "pattern must be a string");
                    }
                    if (n.has("minLength") || n.has("maxLength")) {
                        throw new SchemaException(path, "pattern together with minLength/maxLength is not supported"
                                + " (write the length into the pattern, e.g. ^[a-z]{2,8}$)");
                    }
                    JsonRegex rx;
                    try {
                        rx = JsonRegex.compile(pattern.textValue());
                    } catch (IllegalArgumentException e) {
                        throw new SchemaException(path + "/pattern", e.getMessage());
                    }
                    if (rx.cost(rx.start) >= Shape.NEVER) {
                        throw new SchemaException(path + "/pattern", "pattern /" + pattern.textValue() + "/ matches no string");
                    }
                    yield add(new Shape.Str(0, Integer.MAX_VALUE, rx));
                }
                case "integer", "number" -> number(type.equals("integer"), n, path);
                case "boolean" -> add(new Shape.Literals(new byte[][]{ascii("true"), ascii("false")}));
                case "null" -> add(new Shape.Literals(new byte[][]{ascii("null")}));
                case "array" -> {
                    int min = count(n, "minItems", 0, path);
                    int max = count(n, "maxItems", Integer.MAX_VALUE, path);
                    if (min > max) {
                        throw new SchemaException(path, "minItems " + min + " > maxItems " + max);
                    }
                    JsonNode items = n.get("items");
                    if (items != null && items.isArray()) {
                        throw new SchemaException(path + "/items", "items as an array (tuples) is not supported");
                    }
                    Shape item = items == null ? any() : shape(items, path + "/items", depth + 1);
                    yield add(new Shape.Arr(item, min, max));
                }
                case "object" -> object(n, path, depth);
                default -> throw new SchemaException(path + "/type", "unknown type '" + type
                        + "' (expected string, number, integer, boolean, null, array or object)");
            };
        }

        /** A number, within minimum/maximum/exclusiveMinimum/exclusiveMaximum when given. */
        private Shape number(boolean integer, JsonNode n, String path) {
            java.math.BigDecimal min = null, max = null;
            boolean minOpen = false, maxOpen = false;
            for (String k : List.of("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum")) {
                JsonNode v = n.get(k);
                if (v == null) {
                    continue;
                }
                if (v.isBoolean()) {   // draft 4: a flag on minimum/maximum
                    if (!k.startsWith("exclusive")) {
                        throw new SchemaException(path + "/" + k, k + " must be a number");
                    }
                    continue;
                }
                if (!v.isNumber()) {
                    throw new SchemaException(path + "/" + k, k + " must be a number, got " + kind(v));
                }
                if (!Double.isFinite(v.doubleValue())) {
                    throw new SchemaException(path + "/" + k, k + " must be a finite number, got " + v);
                }
                java.math.BigDecimal x = v.decimalValue();
                if (x.abs().compareTo(java.math.BigDecimal.TEN.pow(15)) >= 0) {
                    throw new SchemaException(path + "/" + k, k + " " + x + " is beyond the 15 integer digits numbers are written with");
                }
                boolean open = k.startsWith("exclusive");
                if (k.endsWith("inimum")) {
                    if (min == null || x.compareTo(min) > 0 || (x.compareTo(min) == 0 && open)) {
                        min = x;
                        minOpen = open;
                    }
                } else if (max == null || x.compareTo(max) < 0 || (x.compareTo(max) == 0 && open)) {
                    max = x;
                    maxOpen = open;
                }
            }
            if (n.path("exclusiveMinimum").isBoolean() && n.get("exclusiveMinimum").booleanValue() && min != null) {
                minOpen = true;
            }
            if (n.path("exclusiveMaximum").isBoolean() && n.get("exclusiveMaximum").booleanValue() && max != null) {
                maxOpen = true;
            }
            Shape.Num s = new Shape.Num(integer, min, minOpen, max, maxOpen);
            if (s.bounded() && NumberFrames.minBytes(s) >= Shape.NEVER) {
                throw new SchemaException(path, "no " + (integer ? "integer" : "number") + " lies within the bounds"
                        + " (minimum " + min + (minOpen ? " exclusive" : "") + ", maximum " + max + (maxOpen ? " exclusive" : "") + ")");
            }
            return add(s);
        }

        private Shape object(JsonNode n, String path, int depth) {
            JsonNode props = n.get("properties");
            if (props != null && !props.isObject()) {
                throw new SchemaException(path + "/properties", "properties must be an object, got " + kind(props));
            }
            Set<String> required = new LinkedHashSet<>();
            JsonNode req = n.get("required");
            if (req != null) {
                if (!req.isArray()) {
                    throw new SchemaException(path + "/required", "required must be an array of property names");
                }
                for (JsonNode r : req) {
                    if (!r.isTextual()) {
                        throw new SchemaException(path + "/required", "required must hold strings, got " + kind(r));
                    }
                    if (props == null || !props.has(r.textValue())) {
                        throw new SchemaException(path + "/required", "required property '" + r.textValue()
                                + "' is not declared in properties (only declared properties are generated)");
                    }
                    required.add(r.textValue());
                }
            }
            JsonNode extra = n.get("additionalProperties");
            if (props != null && !props.isEmpty()) {
                int size = props.size();
                byte[][] keys = new byte[size][];
                Shape[] values = new Shape[size];
                boolean[] isRequired = new boolean[size];
                int i = 0;
                for (Iterator<Map.Entry<String, JsonNode>> it = props.fields(); it.hasNext(); i++) {
                    Map.Entry<String, JsonNode> e = it.next();
                    keys[i] = bytes(JSON.getNodeFactory().textNode(e.getKey()));
                    values[i] = shape(e.getValue(), path + "/properties/" + escapePointer(e.getKey()), depth + 1);
                    isRequired[i] = required.contains(e.getKey());
                }
                return add(new Shape.Obj(keys, values, isRequired, null));
            }
            Shape additional;
            if (extra == null || (extra.isBoolean() && extra.booleanValue())) {
                additional = any();
            } else if (extra.isBoolean()) {
                additional = null;   // additionalProperties: false and no properties: only {}
            } else {
                additional = shape(extra, path + "/additionalProperties", depth + 1);
            }
            return add(new Shape.Obj(new byte[0][], new Shape[0], new boolean[0], additional));
        }

        /** Any JSON value: objects of any values, arrays of any values, strings, numbers, literals. */
        private Shape any() {
            if (any == null) {
                Shape.AnyOf a = add(new Shape.AnyOf(null));
                any = a;
                a.alternatives = new Shape[]{
                        add(new Shape.Obj(new byte[0][], new Shape[0], new boolean[0], a)),
                        add(new Shape.Arr(a, 0, Integer.MAX_VALUE)),
                        add(new Shape.Str(0, Integer.MAX_VALUE)),
                        add(new Shape.Num(false)),
                        add(new Shape.Literals(new byte[][]{ascii("true"), ascii("false"), ascii("null")}))};
            }
            return any;
        }

        private Shape ref(String ref, String path) {
            if (!ref.equals("#") && !ref.startsWith("#/")) {
                throw new SchemaException(path, "only local references (#, #/$defs/…) are supported, got '" + ref + "'");
            }
            return refs.computeIfAbsent(ref, r -> add(new Shape.Ref()));
        }

        /**
         * oneOf is generated as anyOf, which is right only if no value can match two branches: each pair of
         * branches must differ in the bytes a value starts with (its type), or be objects with a required
         * property whose constant values differ (a discriminator).
         */
        void checkOneOfs() {
            for (Map.Entry<String, Shape.AnyOf> e : oneOfs) {
                Shape[] alts = e.getValue().alternatives;
                for (int i = 0; i < alts.length; i++) {
                    for (int j = i + 1; j < alts.length; j++) {
                        if (!disjoint(alts[i], alts[j], 0)) {
                            throw new SchemaException(e.getKey(), "branches " + i + " and " + j + " can match the same value,"
                                    + " which oneOf forbids and the generator cannot rule out; use anyOf, or make the branches"
                                    + " differ in type or in a required const property");
                        }
                    }
                }
            }
        }

        private static Shape deref(Shape s) {
            for (int guard = 0; s instanceof Shape.Ref r && guard < 64; guard++) {
                s = r.target;
            }
            return s;
        }

        private static boolean disjoint(Shape a, Shape b, int depth) {
            a = deref(a);
            b = deref(b);
            if (depth > 8) {
                return false;
            }
            if (a instanceof Shape.AnyOf x) {
                for (Shape alt : x.alternatives) {
                    if (!disjoint(alt, b, depth + 1)) {
                        return false;
                    }
                }
                return true;
            }
            if (b instanceof Shape.AnyOf) {
                return disjoint(b, a, depth + 1);
            }
            java.util.BitSet fa = firstBytes(a, 0), fb = firstBytes(b, 0);
            if (!fa.intersects(fb)) {
                return true;
            }
            if (a instanceof Shape.Obj oa && b instanceof Shape.Obj ob) {
                for (int i = 0; i < oa.keys.length; i++) {
                    for (int j = 0; j < ob.keys.length; j++) {
                        if (oa.required[i] && ob.required[j] && java.util.Arrays.equals(oa.keys[i], ob.keys[j])
                                && deref(oa.values[i]) instanceof Shape.Literals la && deref(ob.values[j]) instanceof Shape.Literals lb
                                && noCommonValue(la, lb)) {
                            return true;
                        }
                    }
                }
            }
            if (a instanceof Shape.Literals la && b instanceof Shape.Literals lb) {
                return noCommonValue(la, lb) && !(anyNumber(la) && anyNumber(lb));   // 1 and 1.0 are one value
            }
            return false;
        }

        private static boolean noCommonValue(Shape.Literals a, Shape.Literals b) {
            for (byte[] x : a.values) {
                for (byte[] y : b.values) {
                    if (java.util.Arrays.equals(x, y)) {
                        return false;
                    }
                }
            }
            return true;
        }

        private static boolean anyNumber(Shape.Literals l) {
            for (byte[] v : l.values) {
                if (v.length > 0 && (v[0] == '-' || (v[0] >= '0' && v[0] <= '9'))) {
                    return true;
                }
            }
            return false;
        }

        /** The bytes a value of this shape may start with. */
        private static java.util.BitSet firstBytes(Shape s, int depth) {
            java.util.BitSet f = new java.util.BitSet(256);
            if (depth > 16) {
                f.set(0, 256);   // deeply nested alternatives (or a cycle of them): assume anything
                return f;
            }
            switch (deref(s)) {
                case Shape.Literals l -> {
                    for (byte[] v : l.values) {
                        f.set(v[0] & 0xff);
                    }
                }
                case Shape.Str st -> f.set('"');
                case Shape.Num n -> {
                    f.set('-');
                    f.set('0', '9' + 1);
                }
                case Shape.Obj o -> f.set('{');
                case Shape.Arr a -> f.set('[');
                case Shape.AnyOf any -> {
                    for (Shape alt : any.alternatives) {
                        f.or(firstBytes(alt, depth + 1));
                    }
                }
                case Shape.Ref r -> f.set(0, 256);   // a reference cycle: anything
            }
            return f;
        }

        /** Compiles the referenced schemas (which may add references of their own). */
        void resolve() {
            Set<String> done = new java.util.HashSet<>();
            while (done.size() < refs.size()) {
                for (Map.Entry<String, Shape.Ref> e : List.copyOf(refs.entrySet())) {
                    if (done.add(e.getKey())) {
                        JsonNode target = document.at(e.getKey().substring(1));
                        if (target.isMissingNode()) {
                            throw new SchemaException(e.getKey(), "$ref points at nothing");
                        }
                        e.getValue().target = shape(target, e.getKey(), 1);
                    }
                }
            }
            for (Shape.Ref r : refs.values()) {
                Set<Shape> chain = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
                Shape s = r;
                while (s instanceof Shape.Ref rr) {
                    if (!chain.add(rr)) {
                        throw new SchemaException("#", "$ref cycle without any value in between");
                    }
                    s = rr.target;
                }
            }
        }

        private Set<String> types(JsonNode n, String path) {
            JsonNode t = n.get("type");
            Set<String> out = new LinkedHashSet<>();
            if (t.isTextual()) {
                out.add(t.textValue());
            } else if (t.isArray() && !t.isEmpty()) {
                for (JsonNode x : t) {
                    if (!x.isTextual()) {
                        throw new SchemaException(path + "/type", "type list must hold strings, got " + kind(x));
                    }
                    out.add(x.textValue());
                }
            } else {
                throw new SchemaException(path + "/type", "type must be a string or a non-empty array of strings");
            }
            return out;
        }

        private static int count(JsonNode n, String key, int absent, String path) {
            JsonNode v = n.get(key);
            if (v == null) {
                return absent;
            }
            if (!v.isIntegralNumber() || v.asLong() < 0) {
                throw new SchemaException(path + "/" + key, key + " must be a non-negative integer, got " + v);
            }
            long x = v.asLong();
            if (key.startsWith("min") && x > MAX_MINIMUM) {
                throw new SchemaException(path + "/" + key, key + " " + x + " is larger than " + MAX_MINIMUM);
            }
            return (int) Math.min(Integer.MAX_VALUE, x);
        }

        private static String text(JsonNode n, String key, String path) {
            JsonNode v = n.get(key);
            if (!v.isTextual()) {
                throw new SchemaException(path + "/" + key, key + " must be a string, got " + kind(v));
            }
            return v.textValue();
        }
    }

    private static boolean hasType(Set<String> types, JsonNode v) {
        String t = typeOf(v);
        return types.contains(t) || (t.equals("integer") && types.contains("number"));
    }

    static String typeOf(JsonNode v) {
        return switch (v.getNodeType()) {
            case STRING -> "string";
            case NUMBER -> v.isIntegralNumber() ? "integer" : "number";
            case BOOLEAN -> "boolean";
            case NULL -> "null";
            case ARRAY -> "array";
            case OBJECT -> "object";
            default -> "other";
        };
    }

    private static String kind(JsonNode n) {
        JsonNodeType t = n.getNodeType();
        return t.name().toLowerCase(java.util.Locale.ROOT);
    }

    private static String escapePointer(String key) {
        return key.replace("~", "~0").replace("/", "~1");
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    /** Compact JSON of a value (what the generator writes for an enum or const value). */
    private static byte[] bytes(JsonNode v) {
        try {
            return JSON.writeValueAsBytes(v);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
