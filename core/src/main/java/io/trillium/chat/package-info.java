/**
 * Chat templates: turning a conversation into the prompt text a model was trained on.
 *
 * <p>{@link io.trillium.chat.ChatTemplate} renders Hugging Face chat templates (Jinja) the way
 * transformers does, byte for byte: templates are written against Python's Jinja2, so whitespace
 * control, {@code str()} of values, {@code tojson} ({@code json.dumps}), slicing and the str/list/dict
 * methods they call must all behave like CPython. The interpreter here is small and covers what real
 * templates use (macros, namespaces, loop controls, filters, tests); HubSpot jinjava 2.7.4 was tried
 * first and rendered 6 of the 24 reference renderings: it mishandles {@code {{-}}} whitespace control
 * under trim/lstrip_blocks, cannot parse slices with expression bounds ({@code messages[:n+1]}) or
 * {@code [::-1]}, and drags in a Jackson newer than ours.
 *
 * <p>{@link io.trillium.chat.ChatTemplates} finds a model's template (its GGUF
 * {@code tokenizer.chat_template}, or a built-in); {@link io.trillium.chat.KimiToolCalls} reads the tool
 * calls back out of Kimi K2's output.
 */
package io.trillium.chat;
