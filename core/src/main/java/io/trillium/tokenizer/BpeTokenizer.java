package io.trillium.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.trillium.gguf.GgufMetadata;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Byte-level BPE (GPT-2 family: DeepSeek, Qwen, Llama 3, Kimi): the text is cut by a
 * {@link PreTokenizer}, each piece's UTF-8 bytes start as single-byte tokens and the adjacent pair
 * with the lowest merge rank is merged until none is left (llama.cpp's llm_tokenizer_bpe; with a
 * tiktoken vocabulary the rank of a pair is the rank of the merged token, which is the same
 * algorithm). A heap of candidate pairs over a linked list of symbols keeps a piece O(n log n), and
 * a bounded cache of piece → ids makes repeated words free. Immutable and thread-safe.
 */
public final class BpeTokenizer implements Tokenizer {
    private static final int CACHE_ENTRIES = 1 << 16;
    private static final int CACHE_MAX_PIECE = 64;
    /** Kimi's TikTokenTokenizer: specials are numbered right after the base ranks. */
    static final int TIKTOKEN_RESERVED_SPECIALS = 256;

    private final String source;
    private final String[] texts;
    private final TokenType[] types;
    private final byte[][] bytes;
    private final Map<String, Integer> idOfText;
    private final int[] byteToken = new int[256];
    private final MergeTable merges;
    private final PreTokenizer pre;
    private final int bos;
    private final int eos;
    private final boolean addBos;
    private final boolean addEos;
    private final boolean ignoreMerges;
    private final SpecialTokens specials;      // control + user-defined: matched with parseSpecial
    private final SpecialTokens userDefined;   // matched always, as llama.cpp's tokenizer_st_partition does
    private final ConcurrentHashMap<String, int[]> cache = new ConcurrentHashMap<>();

    private BpeTokenizer(String source, String[] texts, TokenType[] types, byte[][] bytes, MergeTable merges,
                         PreTokenizer pre, int bos, int eos, boolean addBos, boolean addEos, boolean ignoreMerges) {
        this.source = source;
        this.texts = texts;
        this.types = types;
        this.bytes = bytes;
        this.merges = merges;
        this.pre = pre;
        this.bos = bos;
        this.eos = eos;
        this.addBos = addBos;
        this.addEos = addEos;
        this.ignoreMerges = ignoreMerges;
        this.idOfText = textIndex(texts);
        Map<String, Integer> special = new LinkedHashMap<>();
        Map<String, Integer> user = new LinkedHashMap<>();
        for (int id = 0; id < texts.length; id++) {
            if ((types[id] == TokenType.CONTROL || types[id] == TokenType.USER_DEFINED) && !texts[id].isEmpty()) {
                special.putIfAbsent(texts[id], id);
                if (types[id] == TokenType.USER_DEFINED) {
                    user.putIfAbsent(texts[id], id);
                }
            }
        }
        this.specials = SpecialTokens.of(special);
        this.userDefined = SpecialTokens.of(user);
        for (int b = 0; b < 256; b++) {
            byteToken[b] = idOfText.getOrDefault(String.valueOf(ByteLevel.charOf(b)), -1);
        }
        if (addBos && bos < 0) {
            throw new IllegalArgumentException(source + ": add_bos_token is true but the vocabulary has no BOS id");
        }
        if (addEos && eos < 0) {
            throw new IllegalArgumentException(source + ": add_eos_token is true but the vocabulary has no EOS id");
        }
    }

    private static Map<String, Integer> textIndex(String[] texts) {
        Map<String, Integer> m = new HashMap<>(texts.length * 2);
        for (int id = 0; id < texts.length; id++) {
            m.put(texts[id], id); // a duplicate string maps to its last id, as in llama.cpp
        }
        return m;
    }

    // ---- GGUF

    /** The tokenizer of a GGUF file whose {@code tokenizer.ggml.model} is {@code gpt2}. */
    public static BpeTokenizer fromGguf(GgufMetadata md) {
        String src = md.source().toString();
        String model = md.getString("tokenizer.ggml.model");
        if (!model.equals("gpt2")) {
            throw new IllegalArgumentException(src + ": tokenizer.ggml.model is '" + model + "', not gpt2 (byte-level BPE)");
        }
        List<String> tokens = md.getStringArray("tokenizer.ggml.tokens");
        int n = tokens.size();
        String[] texts = tokens.toArray(new String[0]);
        TokenType[] types = new TokenType[n];
        if (md.has("tokenizer.ggml.token_type")) {
            int[] t = md.getIntArray("tokenizer.ggml.token_type");
            if (t.length != n) {
                throw new IllegalArgumentException(src + ": tokenizer.ggml.token_type has " + t.length
                        + " entries but tokenizer.ggml.tokens has " + n);
            }
            for (int i = 0; i < n; i++) {
                try {
                    types[i] = TokenType.byId(t[i]);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException(src + ": token " + i + ": " + e.getMessage(), e);
                }
            }
        } else {
            Arrays.fill(types, TokenType.NORMAL);
        }
        if (!md.has("tokenizer.ggml.merges")) {
            throw new IllegalArgumentException(src + ": a gpt2 tokenizer needs tokenizer.ggml.merges");
        }
        List<String> mergeLines = md.getStringArray("tokenizer.ggml.merges");
        Map<String, Integer> ids = textIndex(texts);
        MergeTable merges = new MergeTable(mergeLines.size());
        for (int rank = 0; rank < mergeLines.size(); rank++) {
            String line = mergeLines.get(rank);
            int sp = line.indexOf(' ', 1);
            if (sp < 0 || sp == line.length() - 1) {
                throw new IllegalArgumentException(src + ": merge " + rank + " '" + line
                        + "' is malformed (expected 'left right')");
            }
            String left = line.substring(0, sp);
            String right = line.substring(sp + 1);
            int l = lookup(ids, left, src, rank, line);
            int r = lookup(ids, right, src, rank, line);
            int m = lookup(ids, left + right, src, rank, line);
            merges.putIfAbsent(l, r, rank, m);
        }
        String preName = md.getString("tokenizer.ggml.pre", "default");
        PreTokenizer pre;
        try {
            pre = PreTokenizer.forName(preName);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(src + ": " + e.getMessage(), e);
        }
        boolean llama3 = preName.equals("llama-bpe") || preName.equals("llama3") || preName.equals("llama-v3");
        int bos = tokenIdKey(md, "tokenizer.ggml.bos_token_id", n);
        int eos = tokenIdKey(md, "tokenizer.ggml.eos_token_id", n);
        boolean addBos = md.booleanValue("tokenizer.ggml.add_bos_token").orElse(llama3);
        boolean addEos = md.booleanValue("tokenizer.ggml.add_eos_token").orElse(false);
        byte[][] bytes = new byte[n][];
        for (int i = 0; i < n; i++) {
            bytes[i] = tokenBytesOf(texts[i], types[i]);
        }
        return new BpeTokenizer(src, texts, types, bytes, merges, pre, bos, eos, addBos, addEos, llama3);
    }

    private static int lookup(Map<String, Integer> ids, String text, String src, int rank, String line) {
        Integer id = ids.get(text);
        if (id == null) {
            throw new IllegalArgumentException(src + ": merge " + rank + " '" + line + "' references '" + text
                    + "', which is not in the vocabulary");
        }
        return id;
    }

    private static int tokenIdKey(GgufMetadata md, String key, int n) {
        if (!md.has(key)) {
            return -1;
        }
        long id = md.getLong(key);
        if (id < 0 || id >= n) {
            throw new IllegalArgumentException(md.source() + ": " + key + " = " + id + " is outside the vocabulary (0.."
                    + (n - 1) + ")");
        }
        return (int) id;
    }

    private static byte[] tokenBytesOf(String text, TokenType type) {
        if (type != TokenType.CONTROL && type != TokenType.USER_DEFINED && type != TokenType.UNKNOWN) {
            byte[] b = ByteLevel.decode(text);
            if (b != null) {
                return b;
            }
        }
        return text.getBytes(StandardCharsets.UTF_8);
    }

    // ---- tiktoken

    /**
     * A tiktoken checkpoint directory: {@code tiktoken.model} (base64 token, space, rank per line;
     * rank = id) and {@code tokenizer_config.json} (specials in {@code added_tokens_decoder},
     * numbered from the number of base ranks, 256 of them, unnamed ones {@code <|reserved_token_i|>}).
     * The split pattern is Kimi K2's.
     */
    public static BpeTokenizer fromTiktoken(Path dir) throws IOException {
        Path modelFile = dir.resolve("tiktoken.model");
        Path configFile = dir.resolve("tokenizer_config.json");
        if (!Files.isRegularFile(modelFile)) {
            throw new NoSuchFileException(modelFile.toString(), null, "no tiktoken.model in " + dir);
        }
        List<String> lines = Files.readAllLines(modelFile, StandardCharsets.UTF_8);
        Map<Integer, byte[]> byRank = new HashMap<>(lines.size() * 2);
        Map<String, Integer> lineOfText = new HashMap<>(lines.size() * 2);
        Base64.Decoder b64 = Base64.getDecoder();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.isBlank()) {
                continue;
            }
            int lineNo = i + 1;
            int sp = line.indexOf(' ');
            if (sp <= 0 || sp != line.lastIndexOf(' ')) {
                throw bad(modelFile, lineNo, "expected '<base64 token> <rank>', got '" + line + "'");
            }
            byte[] token;
            int rank;
            try {
                token = b64.decode(line.substring(0, sp));
            } catch (IllegalArgumentException e) {
                throw bad(modelFile, lineNo, "bad base64 '" + line.substring(0, sp) + "': " + e.getMessage());
            }
            try {
                rank = Integer.parseInt(line.substring(sp + 1).strip());
            } catch (NumberFormatException e) {
                throw bad(modelFile, lineNo, "bad rank '" + line.substring(sp + 1) + "'");
            }
            if (token.length == 0) {
                throw bad(modelFile, lineNo, "empty token");
            }
            if (rank < 0) {
                throw bad(modelFile, lineNo, "negative rank " + rank);
            }
            if (byRank.putIfAbsent(rank, token) != null) {
                throw bad(modelFile, lineNo, "rank " + rank + " appears twice");
            }
            Integer prev = lineOfText.putIfAbsent(ByteLevel.encode(token), lineNo);
            if (prev != null) {
                throw bad(modelFile, lineNo, "same token as line " + prev);
            }
        }
        int base = byRank.size();
        for (int r = 0; r < base; r++) {
            if (!byRank.containsKey(r)) {
                throw new IllegalArgumentException(modelFile + ": ranks must be 0.." + (base - 1) + " but " + r
                        + " is missing");
            }
        }
        int n = base + TIKTOKEN_RESERVED_SPECIALS;
        String[] texts = new String[n];
        TokenType[] types = new TokenType[n];
        byte[][] bytes = new byte[n][];
        Map<String, Integer> baseIds = new HashMap<>(base * 2);
        long pairBound = 0;
        for (int r = 0; r < base; r++) {
            bytes[r] = byRank.get(r);
            texts[r] = ByteLevel.encode(bytes[r]);
            types[r] = TokenType.NORMAL;
            baseIds.put(texts[r], r);
            pairBound += bytes[r].length - 1;
        }
        // a pair merges when its concatenation is a token; the merged token's rank is the priority
        MergeTable merges = new MergeTable((int) Math.min(pairBound, Integer.MAX_VALUE / 4));
        for (int r = 0; r < base; r++) {
            String t = texts[r];
            for (int i = 1; i < t.length(); i++) {
                Integer a = baseIds.get(t.substring(0, i));
                Integer b = a == null ? null : baseIds.get(t.substring(i));
                if (b != null) {
                    merges.putIfAbsent(a, b, r, r);
                }
            }
        }
        JsonNode config = Files.isRegularFile(configFile) ? new ObjectMapper().readTree(configFile.toFile()) : null;
        Map<String, Integer> specialIds = new HashMap<>();
        if (config != null && config.has("added_tokens_decoder")) {
            Iterator<Map.Entry<String, JsonNode>> it = config.get("added_tokens_decoder").fields();
            while (it.hasNext()) {
                Map.Entry<String, JsonNode> e = it.next();
                int id;
                try {
                    id = Integer.parseInt(e.getKey());
                } catch (NumberFormatException ex) {
                    throw new IllegalArgumentException(configFile + ": added_tokens_decoder key '" + e.getKey()
                            + "' is not a token id");
                }
                String content = e.getValue().path("content").asText(null);
                if (content == null || content.isEmpty()) {
                    throw new IllegalArgumentException(configFile + ": special token " + id + " has no content");
                }
                if (id < base) {
                    throw new IllegalArgumentException(configFile + ": special token " + id + " '" + content
                            + "' clashes with base rank " + id + " of tiktoken.model (specials start at " + base + ")");
                }
                if (id >= n) {
                    throw new IllegalArgumentException(configFile + ": special token " + id + " '" + content
                            + "' is beyond the " + TIKTOKEN_RESERVED_SPECIALS + " special ids " + base + ".." + (n - 1));
                }
                Integer other = specialIds.putIfAbsent(content, id);
                if (other != null) {
                    throw new IllegalArgumentException(configFile + ": special tokens " + other + " and " + id
                            + " are both '" + content + "'");
                }
                texts[id] = content;
                types[id] = e.getValue().path("special").asBoolean(true) ? TokenType.CONTROL : TokenType.USER_DEFINED;
            }
        }
        for (int id = base; id < n; id++) {
            if (texts[id] == null) {
                texts[id] = "<|reserved_token_" + id + "|>";
                types[id] = TokenType.CONTROL;
                if (specialIds.putIfAbsent(texts[id], id) != null) {
                    throw new IllegalArgumentException(configFile + ": special token '" + texts[id]
                            + "' is named like reserved id " + id);
                }
            }
            bytes[id] = texts[id].getBytes(StandardCharsets.UTF_8);
        }
        int bos = specialKey(config, "bos_token", specialIds, configFile);
        int eos = specialKey(config, "eos_token", specialIds, configFile);
        boolean addBos = config != null && config.path("add_bos_token").asBoolean(false);
        boolean addEos = config != null && config.path("add_eos_token").asBoolean(false);
        return new BpeTokenizer(dir.toString(), texts, types, bytes, merges, PreTokenizer.forName("kimi-k2"),
                bos, eos, addBos, addEos, false);
    }

    private static IllegalArgumentException bad(Path file, int line, String message) {
        return new IllegalArgumentException(file + ":" + line + ": " + message);
    }

    private static int specialKey(JsonNode config, String key, Map<String, Integer> specialIds, Path file) {
        if (config == null || !config.has(key) || config.get(key).isNull()) {
            return -1;
        }
        JsonNode v = config.get(key);
        String text = v.isTextual() ? v.asText() : v.path("content").asText(null);
        Integer id = text == null ? null : specialIds.get(text);
        if (id == null) {
            throw new IllegalArgumentException(file + ": " + key + " '" + text + "' is not a special token");
        }
        return id;
    }

    // ---- Tokenizer

    @Override
    public int vocabSize() {
        return texts.length;
    }

    @Override
    public int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
        checkUtf16(text);
        Ints out = new Ints(text.length() / 3 + 4);
        if (addSpecial && addBos) {
            out.add(bos);
        }
        // Control tokens are plain text unless parseSpecial; user-defined ones (added words) are
        // always split out first, like llama.cpp and Hugging Face tokenizers do.
        SpecialTokens split = parseSpecial ? specials : userDefined;
        if (!split.isEmpty()) {
            for (SpecialTokens.Segment seg : split.split(text)) {
                if (seg.isSpecial()) {
                    out.add(seg.id());
                } else {
                    encodePlain(seg.text(), 0, seg.text().length(), out);
                }
            }
        } else {
            encodePlain(text, 0, text.length(), out);
        }
        if (addSpecial && addEos) {
            out.add(eos);
        }
        return out.toArray();
    }

    /** Text that cannot be UTF-8 (a lone surrogate) is an error, not a silent U+FFFD. */
    private static void checkUtf16(String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (Character.isSurrogate(c)) {
                if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
                    i++;
                } else {
                    throw new IllegalArgumentException(String.format(
                            "text has a lone surrogate U+%04X at index %d: it cannot be encoded as UTF-8", (int) c, i));
                }
            }
        }
    }

    private void encodePlain(String text, int start, int end, Ints out) {
        Ints ends = new Ints(Math.max(8, (end - start) / 3));
        pre.split(text, start, end, ends);
        int a = start;
        for (int i = 0; i < ends.size; i++) {
            int b = ends.get(i);
            if (b - a == 1 && text.charAt(a) < 128) {
                out.add(byteTokenOf(text.charAt(a)));
            } else if (b - a <= CACHE_MAX_PIECE) {
                String piece = text.substring(a, b);
                int[] ids = cache.get(piece);
                if (ids == null) {
                    ids = bpe(piece);
                    if (cache.size() >= CACHE_ENTRIES) {
                        cache.clear(); // crude but bounded; hot words come straight back
                    }
                    cache.put(piece, ids);
                }
                out.addAll(ids);
            } else {
                out.addAll(bpe(text.substring(a, b)));
            }
            a = b;
        }
    }

    private int byteTokenOf(int b) {
        int id = byteToken[b & 0xFF];
        if (id < 0) {
            throw new IllegalArgumentException(source + ": cannot encode byte 0x"
                    + Integer.toHexString(b & 0xFF) + ": the vocabulary has no token for it");
        }
        return id;
    }

    /** BPE of one piece: merge the lowest-ranked adjacent pair (leftmost on ties) until none is left. */
    int[] bpe(String piece) {
        byte[] b = piece.getBytes(StandardCharsets.UTF_8);
        int n = b.length;
        if (ignoreMerges) {
            Integer whole = idOfText.get(ByteLevel.encode(b));
            if (whole != null) {
                return new int[]{whole};
            }
        }
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = byteTokenOf(b[i]);
        }
        if (n == 1) {
            return ids;
        }
        int[] next = new int[n];
        int[] prev = new int[n];
        for (int i = 0; i < n; i++) {
            next[i] = i + 1 < n ? i + 1 : -1;
            prev[i] = i - 1;
        }
        // heap entries: rank << 32 | left position, so ties go to the leftmost pair
        long[] heap = new long[n];
        int size = 0;
        for (int i = 0; i + 1 < n; i++) {
            long m = merges.get(ids[i], ids[i + 1]);
            if (m >= 0) {
                size = push(heap, size, (m & 0xFFFFFFFF00000000L) | i);
            }
        }
        int alive = n;
        while (size > 0) {
            long top = heap[0];
            size = pop(heap, size);
            int left = (int) top;
            int right = next[left];
            if (ids[left] < 0 || right < 0) {
                continue;
            }
            long m = merges.get(ids[left], ids[right]);
            if (m < 0 || (m >>> 32) != (top >>> 32)) {
                continue; // stale: a neighbour changed since this pair was queued
            }
            ids[left] = (int) m;
            ids[right] = -1;
            alive--;
            next[left] = next[right];
            if (next[right] >= 0) {
                prev[next[right]] = left;
            }
            if (heap.length < size + 2) {
                heap = Arrays.copyOf(heap, heap.length * 2 + 2);
            }
            if (prev[left] >= 0) {
                long pm = merges.get(ids[prev[left]], ids[left]);
                if (pm >= 0) {
                    size = push(heap, size, (pm & 0xFFFFFFFF00000000L) | prev[left]);
                }
            }
            if (next[left] >= 0) {
                long nm = merges.get(ids[left], ids[next[left]]);
                if (nm >= 0) {
                    size = push(heap, size, (nm & 0xFFFFFFFF00000000L) | left);
                }
            }
        }
        int[] out = new int[alive];
        int k = 0;
        for (int i = 0; i >= 0; i = next[i]) {
            out[k++] = ids[i];
        }
        return out;
    }

    private static int push(long[] heap, int size, long v) {
        int i = size;
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (heap[parent] <= v) {
                break;
            }
            heap[i] = heap[parent];
            i = parent;
        }
        heap[i] = v;
        return size + 1;
    }

    private static int pop(long[] heap, int size) {
        size--;
        long v = heap[size];
        int i = 0;
        while (true) {
            int c = 2 * i + 1;
            if (c >= size) {
                break;
            }
            if (c + 1 < size && heap[c + 1] < heap[c]) {
                c++;
            }
            if (heap[c] >= v) {
                break;
            }
            heap[i] = heap[c];
            i = c;
        }
        if (size > 0) {
            heap[i] = v;
        }
        return size;
    }

    private void checkId(int id) {
        Ints.checkId(id, texts.length);
    }

    @Override
    public byte[] tokenBytes(int id) {
        checkId(id);
        return bytes[id].clone();
    }

    @Override
    public String tokenText(int id) {
        checkId(id);
        return texts[id];
    }

    @Override
    public TokenType tokenType(int id) {
        checkId(id);
        return types[id];
    }

    @Override
    public OptionalInt tokenId(String text) {
        return Ints.optionalId(idOfText.getOrDefault(text, -1));
    }

    @Override
    public OptionalInt bos() {
        return Ints.optionalId(bos);
    }

    @Override
    public OptionalInt eos() {
        return Ints.optionalId(eos);
    }

    @Override
    public String decode(int... ids) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(ids.length * 4);
        for (int id : ids) {
            checkId(id);
            out.writeBytes(bytes[id]);
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    /** Whether encode(.., addSpecial = true, ..) puts BOS first. */
    public boolean addsBos() {
        return addBos;
    }

    /** Whether encode(.., addSpecial = true, ..) puts EOS last. */
    public boolean addsEos() {
        return addEos;
    }

    /** The pre-tokenizer in use. */
    public PreTokenizer preTokenizer() {
        return pre;
    }

    @Override
    public String toString() {
        return "BpeTokenizer[" + source + ", " + texts.length + " tokens, " + merges.size() + " merges, pre="
                + pre.name() + "]";
    }
}
