/** Model files, tokenizers, architectures, tiers and the public API of Trillium. */
module io.trillium.core {
    requires transitive io.trillium.quant;
    requires com.fasterxml.jackson.databind;

    exports io.trillium.chat;
    exports io.trillium.gguf;
    exports io.trillium.tokenizer;
    exports io.trillium.model;
    exports io.trillium.model.synth;
    exports io.trillium.moe;
    exports io.trillium.backend;
    exports io.trillium.api;
    exports io.trillium.kv;
    exports io.trillium.sample;
}
