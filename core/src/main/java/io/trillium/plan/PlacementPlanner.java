package io.trillium.plan;

import io.trillium.gguf.GgufTensorInfo;
import io.trillium.model.ModelConfig;
import io.trillium.model.WeightBytes;
import io.trillium.moe.ExpertStats;
import io.trillium.synth.SynthSpec;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;

/**
 * Decides which tier holds every tensor of a model, from its tensor inventory alone (no weight is
 * read), and predicts the bytes one decoded token reads from each tier.
 *
 * <p>Every tensor that is not routed experts is one item; every routed expert of every MoE layer
 * (its gate, up and down slices) is another. An item's worth is the bytes a token reads of it per
 * byte it occupies: 1 for attention, norms, router, shared experts, dense FFNs and the head;
 * 1 / vocab for token_embd (a token reads one row); P(chosen) for an expert (from {@link ExpertStats},
 * else used / experts). Items go, most worth first, to the fastest tier with room left (ties keep
 * file order; experts of a layer in popularity order). For the serial time model this greedy is the
 * fractional-knapsack optimum up to the last item that does not fit a tier.
 */
public final class PlacementPlanner {
    private static final Pattern LAYER = Pattern.compile("^blk\\.(\\d+)\\.");

    private PlacementPlanner() {
    }

    /** One thing to place: a whole tensor ({@code expert} -1) or one routed expert of a layer. */
    private record Item(String tensor, int layer, int expert, long bytes, double read) {
        double worth() {
            return bytes == 0 ? Double.POSITIVE_INFINITY : read / bytes;
        }
    }

    /**
     * Plans the placement of {@code tensors} (a model's whole inventory) on {@code tiers}.
     *
     * @param stats   expert popularity, or null for uniform routing
     * @param reserve bytes kept free on the fastest tier for the KV cache and runtime (attention runs there)
     * @throws IllegalArgumentException when the model does not fit, or the stats do not match the model
     */
    public static Placement plan(List<GgufTensorInfo> tensors, ModelConfig cfg, List<TierSpec> tiers,
                                 ExpertStats stats, long reserve) {
        if (tiers.isEmpty()) {
            throw new IllegalArgumentException("no tiers to place the model on");
        }
        if (tiers.stream().map(TierSpec::name).distinct().count() != tiers.size()) {
            throw new IllegalArgumentException("tier names repeat: " + tiers.stream().map(TierSpec::name).toList());
        }
        if (stats != null && (stats.layers() != cfg.layers() || stats.experts() != cfg.experts())) {
            throw new IllegalArgumentException("expert stats are for " + stats.layers() + " layers x " + stats.experts()
                    + " experts, the model has " + cfg.layers() + " layers x " + cfg.experts() + " experts");
        }
        List<TierSpec> order = tiers.stream().sorted(Comparator.comparingDouble(TierSpec::bandwidth).reversed()).toList();
        if (reserve < 0 || reserve > order.getFirst().capacity()) {
            throw new IllegalArgumentException("reserve " + SynthSpec.formatBytes(reserve) + " does not fit the fastest tier "
                    + order.getFirst().name() + " (" + SynthSpec.formatBytes(order.getFirst().capacity()) + ")");
        }
        List<String> notes = new ArrayList<>();
        List<Item> items = items(tensors, cfg, stats, notes);

        long need = items.stream().mapToLong(Item::bytes).sum();
        long have = order.stream().mapToLong(TierSpec::capacity).sum() - reserve;
        if (need > have) {
            StringBuilder sb = new StringBuilder();
            for (TierSpec t : order) {
                sb.append(sb.isEmpty() ? "" : " + ").append(t.name()).append(' ').append(SynthSpec.formatBytes(t.capacity()));
            }
            throw new IllegalArgumentException("the model needs " + SynthSpec.formatBytes(need) + " (" + need
                    + " bytes) but the tiers hold " + SynthSpec.formatBytes(have) + " (" + sb + " - reserve "
                    + SynthSpec.formatBytes(reserve) + "): short by " + SynthSpec.formatBytes(need - have)
                    + "; give a larger tier or add --pmem / --nvme");
        }

        int n = order.size();
        long[] free = new long[n];
        for (int i = 0; i < n; i++) {
            free[i] = order.get(i).capacity() - (i == 0 ? reserve : 0);
        }
        long[] aaBytes = new long[n], exBytes = new long[n];
        int[] exCount = new int[n];
        double[] aaRead = new double[n], exRead = new double[n];
        Map<String, String> tensorTier = new LinkedHashMap<>();
        int[][] expertTier = new int[cfg.layers()][];
        List<Item> sorted = new ArrayList<>(items);
        sorted.sort(Comparator.comparingDouble(Item::worth).reversed());   // stable: ties keep file / popularity order
        for (Item it : sorted) {
            int tier = 0;
            while (tier < n && free[tier] < it.bytes()) {
                tier++;
            }
            if (tier == n) {
                throw new IllegalArgumentException((it.expert() < 0 ? "tensor " + it.tensor() : "expert " + it.expert()
                        + " of layer " + it.layer()) + " (" + SynthSpec.formatBytes(it.bytes())
                        + ") fits in no tier: room left " + roomLeft(order, free));
            }
            free[tier] -= it.bytes();
            if (it.expert() < 0) {
                tensorTier.put(it.tensor(), order.get(tier).name());
                aaBytes[tier] += it.bytes();
                aaRead[tier] += it.read();
            } else {
                if (expertTier[it.layer()] == null) {
                    expertTier[it.layer()] = new int[cfg.experts()];
                }
                expertTier[it.layer()][it.expert()] = tier;
                exBytes[tier] += it.bytes();
                exCount[tier]++;
                exRead[tier] += it.read();
            }
        }
        List<Placement.Use> uses = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            uses.add(new Placement.Use(order.get(i), i == 0 ? reserve : 0, aaBytes[i], exBytes[i], exCount[i],
                    aaRead[i], exRead[i]));
        }
        // keep file order for the tensor map
        Map<String, String> byFile = new LinkedHashMap<>();
        for (GgufTensorInfo t : tensors) {
            if (tensorTier.containsKey(t.name())) {
                byFile.put(t.name(), tensorTier.get(t.name()));
            }
        }
        return new Placement(List.copyOf(uses), byFile, expertTier, cfg.expertsUsed(), stats != null, List.copyOf(notes));
    }

    /** The items: whole tensors in file order, then each MoE layer's experts, most popular first. */
    private static List<Item> items(List<GgufTensorInfo> tensors, ModelConfig cfg, ExpertStats stats, List<String> notes) {
        boolean tied = WeightBytes.tiedOutput(tensors);
        List<Item> items = new ArrayList<>();
        long[] expertBytes = new long[cfg.layers()];
        for (GgufTensorInfo t : tensors) {
            if (!WeightBytes.isRoutedExperts(t, cfg)) {
                items.add(new Item(t.name(), -1, -1, t.byteSize(), WeightBytes.readPerToken(t, tied)));
                continue;
            }
            Matcher m = LAYER.matcher(t.name());
            int layer = m.find() ? Integer.parseInt(m.group(1)) : -1;
            if (layer < 0 || layer >= cfg.layers() || !cfg.isMoeLayer(layer) || t.dim(2) != cfg.experts()) {
                throw new IllegalArgumentException("routed-expert tensor " + t + ": expected blk.L.*_exps of a MoE layer L < "
                        + cfg.layers() + " with " + cfg.experts() + " experts in dim 2");
            }
            expertBytes[layer] += t.byteSize() / cfg.experts();
        }
        for (int l = 0; l < cfg.layers(); l++) {
            if (expertBytes[l] == 0) {
                if (cfg.isMoeLayer(l)) {
                    throw new IllegalArgumentException("MoE layer " + l + " has no blk." + l + ".*_exps tensors");
                }
                continue;
            }
            double[] p = new double[cfg.experts()];
            int[] byPopularity;
            if (stats != null && stats.tokens(l) > 0) {
                for (int e = 0; e < p.length; e++) {
                    p[e] = stats.frequency(l, e);
                }
                byPopularity = stats.byPopularity(l);
            } else {
                if (stats != null) {
                    notes.add("layer " + l + ": no routed tokens in the stats, uniform popularity assumed");
                }
                Arrays.fill(p, (double) cfg.expertsUsed() / cfg.experts());
                byPopularity = IntStream.range(0, cfg.experts()).toArray();
            }
            for (int e : byPopularity) {
                items.add(new Item(null, l, e, expertBytes[l], p[e] * expertBytes[l]));
            }
        }
        return items;
    }

    private static String roomLeft(List<TierSpec> order, long[] free) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < free.length; i++) {
            sb.append(i == 0 ? "" : ", ").append(order.get(i).name()).append(' ').append(SynthSpec.formatBytes(free[i]));
        }
        return sb.toString();
    }
}
