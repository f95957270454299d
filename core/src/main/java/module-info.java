/**
 * Trillium's engine and public API. Applications use {@code io.trillium.api} (with the built-in
 * samplers of {@code io.trillium.sample} and the chat/tokenizer types its signatures mention); the
 * documented lower layers {@code io.trillium.model} (raw logits), {@code io.trillium.gguf} (tensors
 * in place), {@code io.trillium.moe} (routing, expert statistics) and {@code io.trillium.tier} (memory
 * tiers, expert cache) stay open to power users. The engine's internals are exported only to Trillium's own
 * modules.
 */
module io.trillium.core {
    requires transitive io.trillium.quant;
    requires com.fasterxml.jackson.databind;
    requires jdk.unsupported;     // ExtendedOpenOption.DIRECT (NVMe tier)
    requires jdk.nio.mapmode;     // ExtendedMapMode.READ_ONLY_SYNC (PMem tier)

    exports io.trillium.api;
    exports io.trillium.sample;
    exports io.trillium.json;
    exports io.trillium.chat;
    exports io.trillium.tokenizer;
    exports io.trillium.model;
    exports io.trillium.gguf;
    exports io.trillium.safetensors;

    exports io.trillium.synth to io.trillium.examples, io.trillium.benchmarks, io.trillium.cuda;
    exports io.trillium.backend to io.trillium.examples, io.trillium.benchmarks, io.trillium.cuda;
    exports io.trillium.moe;
    exports io.trillium.tier;
    exports io.trillium.kv to io.trillium.examples, io.trillium.benchmarks, io.trillium.cuda;
    exports io.trillium.plan to io.trillium.examples, io.trillium.benchmarks, io.trillium.cuda;

    uses io.trillium.backend.BackendProvider;
}
