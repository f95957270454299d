// MoE router top-k (io.trillium.moe.Router.route): softmax or sigmoid scores, optional selection bias
// (affects only the choice), group-limited top-k (keep the groupsUsed groups with the largest sum of
// their two best selection scores), ties to the lower id, weights = unbiased scores of the chosen
// experts, optionally renormalised (sum clamped at 6.103515625e-5 like llama.cpp), then scaled.
// One block (grid 1, blockDim a multiple of 32); dynamic shared memory: 2 * experts + groups floats.
#include "common.cuh"

extern "C" __global__ void router_topk(const float* __restrict__ logits, const float* __restrict__ bias,
                                       int experts, int used, int sigmoid, int normalize, float scale,
                                       int groups, int groupsUsed, int* ids, float* weights) {
    TRILLIUM_DYNAMIC_SHARED(float, sh);
    float* probs = sh;
    float* select = sh + experts;
    float* groupScore = sh + 2 * experts;
    if (sigmoid) {
        for (int e = threadIdx.x; e < experts; e += blockDim.x)
            probs[e] = (float) (1.0 / (1.0 + exp(-(double) logits[e])));
    } else {
        float m = -INFINITY;
        for (int e = threadIdx.x; e < experts; e += blockDim.x) m = fmaxf(m, logits[e]);
        m = block_max(m);
        double s = 0.0;
        for (int e = threadIdx.x; e < experts; e += blockDim.x) {
            probs[e] = (float) exp((double) (logits[e] - m));
            s += probs[e];
        }
        s = block_sum_d(s);
        for (int e = threadIdx.x; e < experts; e += blockDim.x) probs[e] = (float) (probs[e] / s);
    }
    __syncthreads();
    for (int e = threadIdx.x; e < experts; e += blockDim.x)
        select[e] = bias == nullptr ? probs[e] : probs[e] + bias[e];
    __syncthreads();
    if (threadIdx.x != 0) return;   // the choice itself is a few thousand compares: one thread, exact order
    if (groups > 1) {
        int per = experts / groups;
        for (int g = 0; g < groups; g++) {
            float a = -INFINITY, b = -INFINITY;
            for (int e = g * per; e < (g + 1) * per; e++) {
                float v = select[e];
                if (v > a) { b = a; a = v; } else if (v > b) { b = v; }
            }
            groupScore[g] = per > 1 ? a + b : a;
        }
        for (int drop = 0; drop < groups - groupsUsed; drop++) {
            int worst = -1;
            for (int g = 0; g < groups; g++)
                if (groupScore[g] != INFINITY && (worst < 0 || groupScore[g] < groupScore[worst])) worst = g;
            groupScore[worst] = INFINITY;
            for (int e = worst * per; e < (worst + 1) * per; e++) select[e] = -INFINITY;
        }
    }
    for (int k = 0; k < used; k++) {
        int best = -1;
        for (int e = 0; e < experts; e++)
            if (select[e] != -INFINITY && (best < 0 || select[e] > select[best])) best = e;
        ids[k] = best;
        weights[k] = probs[best];
        select[best] = -INFINITY;
    }
    if (normalize) {
        double s = 0.0;
        for (int k = 0; k < used; k++) s += weights[k];
        float inv = (float) (1.0 / fmax(s, 6.103515625e-5));
        for (int k = 0; k < used; k++) weights[k] *= inv;
    }
    if (scale != 1.f)
        for (int k = 0; k < used; k++) weights[k] *= scale;
}
