package io.trillium.tokenizer;

import io.trillium.gguf.GgufFormatException;
import io.trillium.gguf.GgufMetadata;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.PriorityQueue;

/**
 * SentencePiece (BPE-by-score) tokenizer of GGUF files with {@code tokenizer.ggml.model = "llama"},
 * token for token what llama.cpp's SPM tokenizer produces: spaces become {@code ▁} (U+2581), one
 * space is put in front of the text ({@code add_space_prefix}), then adjacent pieces are merged
 * greedily, highest vocabulary score first; what no piece covers falls back to {@code <0xNN>} byte
 * tokens.
 */
public final class SentencePieceTokenizer implements Tokenizer {
    public static final String MODEL = "tokenizer.ggml.model";
    public static final String TOKENS = "tokenizer.ggml.tokens";
    public static final String SCORES = "tokenizer.ggml.scores";
    public static final String TOKEN_TYPE = "tokenizer.ggml.token_type";
    public static final String BOS_ID = "tokenizer.ggml.bos_token_id";
    public static final String EOS_ID = "tokenizer.ggml.eos_token_id";
    public static final String UNK_ID = "tokenizer.ggml.unknown_token_id";
    public static final String ADD_BOS = "tokenizer.ggml.add_bos_token";
    public static final String ADD_EOS = "tokenizer.ggml.add_eos_token";
    public static final String ADD_SPACE_PREFIX = "tokenizer.ggml.add_space_prefix";

    private static final char SPACE = '\u2581';

    private final String[] tokens;
    private final float[] scores;
    private final TokenType[] types;
    private final Map<String, Integer> ids;
    private final int[] byteToken;      // byte value → token id, -1 if the vocabulary has none
    private final int[] tokenByte;      // token id → byte value for BYTE tokens, else -1
    private final int bos, eos, unk;    // -1 when absent
    private final boolean addBos, addEos, addSpacePrefix;
    private final Map<String, Integer> userDefined;  // split out of the text always (as llama.cpp)
    private final Map<String, Integer> specials;     // control + user-defined + unknown: with parseSpecial

    private SentencePieceTokenizer(GgufMetadata md, List<String> tokens, float[] scores, TokenType[] types,
                                   int bos, int eos, int unk, boolean addBos, boolean addEos, boolean addSpacePrefix) {
        int n = tokens.size();
        this.tokens = new String[n];
        this.scores = scores;
        this.types = types;
        this.ids = HashMap.newHashMap(n);
        this.tokenByte = new int[n];
        Map<String, Integer> user = new HashMap<>();
        Map<String, Integer> special = new HashMap<>();
        for (int i = 0; i < n; i++) {
            String t = tokens.get(i);
            if (t.isEmpty()) {
                t = "[EMPTY_" + i + "]"; // as llama.cpp: an empty piece could never match anyway
            }
            Integer dup = ids.putIfAbsent(t, i);
            if (dup != null) {
                throw new GgufFormatException(md.source(), -1, TOKENS + ": token '" + t + "' has ids " + dup
                        + " and " + i + ", expected unique tokens");
            }
            this.tokens[i] = t;
            tokenByte[i] = types[i] == TokenType.BYTE ? parseByte(md, t, i) : -1;
            switch (types[i]) {
                case USER_DEFINED -> {
                    user.put(t, i);
                    special.put(t, i);
                }
                case CONTROL, UNKNOWN -> special.put(t, i);
                default -> {
                }
            }
        }
        this.byteToken = new int[256];
        for (int b = 0; b < 256; b++) {
            Integer id = ids.get(String.format("<0x%02X>", b));
            if (id == null && b < 0x80) {
                id = ids.get(String.valueOf((char) b)); // llama.cpp falls back to the byte as a piece
            }
            byteToken[b] = id == null ? -1 : id;
        }
        this.bos = bos;
        this.eos = eos;
        this.unk = unk;
        this.addBos = addBos;
        this.addEos = addEos;
        this.addSpacePrefix = addSpacePrefix;
        this.userDefined = Map.copyOf(user);
        this.specials = Map.copyOf(special);
    }

    /**
     * Reads the vocabulary from GGUF metadata. Required: {@code tokenizer.ggml.model = "llama"},
     * {@code tokens} and {@code scores} of equal length; {@code token_type} defaults to NORMAL,
     * BOS/EOS/UNK to 1/2/0 (llama.cpp's SPM defaults), {@code add_bos_token} to true,
     * {@code add_eos_token} to false and {@code add_space_prefix} to true.
     *
     * @throws GgufFormatException naming the key that is missing or wrong
     */
    public static Tokenizer fromGguf(GgufMetadata md) {
        String model = md.getString(MODEL);
        if (!model.equals("llama")) {
            throw new GgufFormatException(md.source(), -1, MODEL + " is '" + model
                    + "', expected 'llama' for a SentencePiece tokenizer");
        }
        List<String> tokens = md.getStringArray(TOKENS);
        int n = tokens.size();
        if (n == 0) {
            throw new GgufFormatException(md.source(), -1, TOKENS + " is empty");
        }
        float[] scores = scores(md);
        if (scores.length != n) {
            throw new GgufFormatException(md.source(), -1, SCORES + " has " + scores.length + " entries but "
                    + TOKENS + " has " + n);
        }
        TokenType[] types = new TokenType[n];
        if (md.has(TOKEN_TYPE)) {
            int[] raw = md.getIntArray(TOKEN_TYPE);
            if (raw.length != n) {
                throw new GgufFormatException(md.source(), -1, TOKEN_TYPE + " has " + raw.length
                        + " entries but " + TOKENS + " has " + n);
            }
            for (int i = 0; i < n; i++) {
                try {
                    types[i] = TokenType.byId(raw[i]);
                } catch (IllegalArgumentException e) {
                    throw new GgufFormatException(md.source(), -1, TOKEN_TYPE + "[" + i + "]: " + e.getMessage());
                }
            }
        } else {
            Arrays.fill(types, TokenType.NORMAL);
        }
        int bos = specialId(md, BOS_ID, 1, n);
        int eos = specialId(md, EOS_ID, 2, n);
        int unk = specialId(md, UNK_ID, 0, n);
        boolean addBos = md.getBoolean(ADD_BOS, true);
        boolean addEos = md.getBoolean(ADD_EOS, false);
        if (addBos && bos < 0) {
            throw new GgufFormatException(md.source(), -1, ADD_BOS + " is true but " + BOS_ID + " is not set");
        }
        if (addEos && eos < 0) {
            throw new GgufFormatException(md.source(), -1, ADD_EOS + " is true but " + EOS_ID + " is not set");
        }
        return new SentencePieceTokenizer(md, tokens, scores, types, bos, eos, unk, addBos, addEos,
                md.getBoolean(ADD_SPACE_PREFIX, true));
    }

    private static float[] scores(GgufMetadata md) {
        // llama.cpp also accepts i32 scores.
        if (md.getArray(SCORES).values() instanceof int[] ints) {
            float[] f = new float[ints.length];
            for (int i = 0; i < ints.length; i++) {
                f[i] = ints[i];
            }
            return f;
        }
        return md.getFloatArray(SCORES);
    }

    /** The id under {@code key}, else the default if it is in range, else -1 (absent). */
    private static int specialId(GgufMetadata md, String key, int otherwise, int n) {
        if (!md.has(key)) {
            return otherwise < n ? otherwise : -1;
        }
        long id = md.getLong(key);
        if (id < 0 || id >= n) {
            throw new GgufFormatException(md.source(), -1, key + " = " + id + " is outside the vocabulary (0.."
                    + (n - 1) + ")");
        }
        return (int) id;
    }

    private static int parseByte(GgufMetadata md, String t, int id) {
        if (t.length() == 6 && t.startsWith("<0x") && t.endsWith(">")) {
            int hi = Character.digit(t.charAt(3), 16);
            int lo = Character.digit(t.charAt(4), 16);
            if (hi >= 0 && lo >= 0) {
                return hi << 4 | lo;
            }
        }
        throw new GgufFormatException(md.source(), -1, TOKENS + "[" + id + "] = '" + t
                + "' has type BYTE but is not of the form <0xNN>");
    }

    // ---- encode

    @Override
    public int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
        Ints out = new Ints(text.length() / 2 + 4);
        if (addSpecial && addBos) {
            out.add(bos);
        }
        if (!text.isEmpty()) {
            // Without parseSpecial control tokens are plain text, but user-defined ones are still
            // split out first, as in llama.cpp (and Hugging Face tokenizers).
            Map<String, Integer> split = parseSpecial ? specials : userDefined;
            List<SpecialTokens.Segment> segments = split.isEmpty()
                    ? List.of(new SpecialTokens.Segment(text, -1))
                    : SpecialTokens.split(text, split);
            boolean afterSpecial = true; // the text start counts as "after a special token"
            for (SpecialTokens.Segment s : segments) {
                if (s.isSpecial()) {
                    out.add(s.id());
                    afterSpecial = true;
                } else if (!s.text().isEmpty()) {
                    String piece = addSpacePrefix && afterSpecial ? " " + s.text() : s.text();
                    encodePiece(piece.replace(' ', SPACE), out);
                    afterSpecial = false;
                }
            }
        }
        if (addSpecial && addEos) {
            out.add(eos);
        }
        return out.toArray();
    }

    /** A candidate merge of two adjacent symbols; {@code size} detects that one of them changed since. */
    private record Bigram(int left, int right, float score, int size) {
    }

    /**
     * llama.cpp's llm_tokenizer_spm_session: start from one symbol per code point and keep merging
     * the adjacent pair that forms the vocabulary piece of highest score (leftmost on ties).
     */
    private void encodePiece(String s, Ints out) {
        int len = s.codePointCount(0, s.length());
        int[] start = new int[len];
        int[] size = new int[len];   // chars; 0 once merged into the symbol on its left
        int[] prev = new int[len];
        int[] next = new int[len];
        for (int i = 0, k = 0; k < len; k++) {
            int c = Character.charCount(s.codePointAt(i));
            start[k] = i;
            size[k] = c;
            prev[k] = k - 1;
            next[k] = k + 1 < len ? k + 1 : -1;
            i += c;
        }
        PriorityQueue<Bigram> queue = new PriorityQueue<>((a, b) ->
                a.score != b.score ? (a.score > b.score ? -1 : 1) : Integer.compare(a.left, b.left));
        for (int k = 1; k < len; k++) {
            addBigram(s, start, size, k - 1, k, queue);
        }
        while (!queue.isEmpty()) {
            Bigram b = queue.poll();
            if (size[b.left] == 0 || size[b.right] == 0 || size[b.left] + size[b.right] != b.size) {
                continue; // stale: a side was merged elsewhere in the meantime
            }
            size[b.left] += size[b.right];
            size[b.right] = 0;
            next[b.left] = next[b.right];
            if (next[b.right] >= 0) {
                prev[next[b.right]] = b.left;
            }
            addBigram(s, start, size, prev[b.left], b.left, queue);
            addBigram(s, start, size, b.left, next[b.left], queue);
        }
        for (int k = len == 0 ? -1 : 0; k != -1; k = next[k]) {
            resegment(s.substring(start[k], start[k] + size[k]), out);
        }
    }

    private void addBigram(String s, int[] start, int[] size, int left, int right, PriorityQueue<Bigram> queue) {
        if (left < 0 || right < 0) {
            return;
        }
        int end = start[left] + size[left] + size[right];
        Integer id = ids.get(s.substring(start[left], end));
        if (id != null) {
            queue.add(new Bigram(left, right, scores[id], end - start[left]));
        }
    }

    /**
     * Emits one final symbol. A merged symbol is always a vocabulary piece (merges only happen into
     * pieces), so llama.cpp's recursive re-split never applies here; a single code point missing
     * from the vocabulary falls back to its UTF-8 bytes, and a byte without a token to UNK.
     */
    private void resegment(String symbol, Ints out) {
        Integer id = ids.get(symbol);
        if (id != null) {
            out.add(id);
            return;
        }
        for (byte b : symbol.getBytes(StandardCharsets.UTF_8)) {
            int t = byteToken[b & 0xFF];
            if (t < 0) {
                if (unk < 0) {
                    throw new IllegalStateException(String.format(
                            "no token for byte 0x%02X and the vocabulary has no unknown token", b & 0xFF));
                }
                t = unk;
            }
            out.add(t);
        }
    }

    // ---- decode

    @Override
    public byte[] tokenBytes(int id) {
        check(id);
        return switch (types[id]) {
            case NORMAL -> tokens[id].replace(SPACE, ' ').getBytes(StandardCharsets.UTF_8);
            case BYTE -> new byte[]{(byte) tokenByte[id]};
            case CONTROL, UNKNOWN, USER_DEFINED -> tokens[id].getBytes(StandardCharsets.UTF_8);
            case UNUSED, UNDEFINED -> new byte[0]; // llama.cpp prints nothing for these
        };
    }

    /**
     * Concatenates the tokens' bytes, dropping the one space that {@code add_space_prefix} put in
     * front: llama.cpp strips a leading space from the first token only (so after a BOS it stays).
     */
    @Override
    public String decode(int... ids) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        boolean strip = addSpacePrefix;
        for (int id : ids) {
            byte[] b = tokenBytes(id);
            int from = strip && b.length > 0 && b[0] == ' ' ? 1 : 0;
            out.write(b, from, b.length - from);
            strip = false;
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    // ---- vocabulary

    @Override
    public int vocabSize() {
        return tokens.length;
    }

    @Override
    public String tokenText(int id) {
        check(id);
        return tokens[id];
    }

    @Override
    public TokenType tokenType(int id) {
        check(id);
        return types[id];
    }

    /** The token's score (log probability in SentencePiece's model). */
    public float score(int id) {
        check(id);
        return scores[id];
    }

    @Override
    public OptionalInt tokenId(String text) {
        return Ints.optionalId(ids.getOrDefault(text, -1));
    }

    @Override
    public OptionalInt bos() {
        return Ints.optionalId(bos);
    }

    @Override
    public OptionalInt eos() {
        return Ints.optionalId(eos);
    }

    /** Unknown-token id, if the vocabulary has one. */
    public OptionalInt unk() {
        return Ints.optionalId(unk);
    }

    /** Whether {@code encode(..., addSpecial = true, ...)} puts BOS first. */
    public boolean addsBos() {
        return addBos;
    }

    /** Whether {@code encode(..., addSpecial = true, ...)} puts EOS last. */
    public boolean addsEos() {
        return addEos;
    }

    /** Whether a space is put in front of the text (and removed again by {@link #decode}). */
    public boolean addsSpacePrefix() {
        return addSpacePrefix;
    }

    private void check(int id) {
        Ints.checkId(id, tokens.length);
    }

}
