#include "ops/moe_gating.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "runtime/errors.h"

namespace llmrt::ops {
namespace {

void scores_of(const float* logits, int n, GatingFunc func, float* out) {
    if (func == GatingFunc::Sigmoid) {
        for (int e = 0; e < n; ++e) out[e] = 1.0f / (1.0f + std::exp(-logits[e]));
        return;
    }
    const float mx = *std::max_element(logits, logits + n);
    float sum = 0.0f;
    for (int e = 0; e < n; ++e) sum += out[e] = std::exp(logits[e] - mx);
    for (int e = 0; e < n; ++e) out[e] /= sum;
}

// Indices of the k largest values, largest first, ties to the lower index.
void top_k(const float* v, int n, int k, int32_t* out, std::vector<int32_t>& order) {
    order.resize((size_t)n);
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + k, order.end(), [v](int32_t a, int32_t b) {
        return v[a] > v[b] || (v[a] == v[b] && a < b);
    });
    std::copy(order.begin(), order.begin() + k, out);
}

// Experts outside the topk_group best groups get -inf, so top_k never picks them.
void limit_groups(float* choice, const GatingParams& p, std::vector<float>& group_score,
                  std::vector<int32_t>& kept, std::vector<int32_t>& order) {
    const int per_group = p.n_expert / p.n_group;
    group_score.assign((size_t)p.n_group, 0.0f);
    for (int g = 0; g < p.n_group; ++g) {
        const float* c = choice + g * per_group;
        float best = -std::numeric_limits<float>::infinity(), second = best;
        for (int e = 0; e < per_group; ++e) {
            if (c[e] > best) second = best, best = c[e];
            else if (c[e] > second) second = c[e];
        }
        group_score[g] = per_group >= 2 ? best + second : best;
    }
    kept.resize((size_t)p.topk_group);
    top_k(group_score.data(), p.n_group, p.topk_group, kept.data(), order);
    std::vector<uint8_t> keep((size_t)p.n_group, 0);
    for (int32_t g : kept) keep[g] = 1;
    for (int g = 0; g < p.n_group; ++g)
        if (!keep[g])
            std::fill(choice + g * per_group, choice + (g + 1) * per_group, -std::numeric_limits<float>::infinity());
}

}  // namespace

void check_gating_params(const GatingParams& p) {
    if (p.n_expert <= 0) throw InvalidArgument("moe_gating: n_expert must be positive");
    if (p.n_used <= 0 || p.n_used > p.n_expert)
        throw InvalidArgument("moe_gating: n_used must be in 1.." + std::to_string(p.n_expert));
    if (p.func != GatingFunc::Softmax && p.func != GatingFunc::Sigmoid)
        throw InvalidArgument("moe_gating: unknown gating function " + std::to_string((int)p.func));
    if (p.n_group > 1) {
        if (p.n_expert % p.n_group != 0) throw InvalidArgument("moe_gating: n_expert is not a multiple of n_group");
        if (p.topk_group <= 0 || p.topk_group > p.n_group)
            throw InvalidArgument("moe_gating: topk_group must be in 1..n_group");
        if (p.topk_group * (p.n_expert / p.n_group) < p.n_used)
            throw InvalidArgument("moe_gating: topk_group groups hold fewer than n_used experts");
    }
}

void moe_gating(const float* logits, int64_t n_tokens, const GatingParams& p, int32_t* ids, float* weights) {
    check_gating_params(p);
    const int n = p.n_expert, k = p.n_used;
    std::vector<float> scores((size_t)n), choice((size_t)n), group_score;
    std::vector<int32_t> order, kept;
    for (int64_t t = 0; t < n_tokens; ++t) {
        scores_of(logits + t * n, n, p.func, scores.data());
        for (int e = 0; e < n; ++e) choice[e] = scores[e] + (p.bias ? p.bias[e] : 0.0f);
        if (p.n_group > 1 && p.topk_group < p.n_group) limit_groups(choice.data(), p, group_score, kept, order);
        int32_t* id = ids + t * k;
        float* w = weights + t * k;
        top_k(choice.data(), n, k, id, order);
        float sum = 0.0f;
        for (int j = 0; j < k; ++j) sum += w[j] = scores[id[j]];
        const float mul = p.scale * (p.norm_weights && sum > 0.0f ? 1.0f / sum : 1.0f);
        for (int j = 0; j < k; ++j) w[j] *= mul;
    }
}

}  // namespace llmrt::ops
