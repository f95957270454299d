/**
 * GGUF model files: {@link io.trillium.gguf.GgufFile} maps a file or a split set and hands out
 * zero-copy {@link io.trillium.quant.Tensor} views; {@link io.trillium.gguf.GgufMetadata} holds
 * the typed key/value metadata; {@link io.trillium.gguf.GgufWriter} writes files and split sets,
 * streaming tensor data. Malformed input raises {@link io.trillium.gguf.GgufFormatException}
 * naming the file, the byte offset and what was expected.
 */
package io.trillium.gguf;
