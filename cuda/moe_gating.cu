// One warp per token; the expert values live in shared memory. Selection is k rounds of a warp
// arg-max (larger value first, then lower index), which orders exactly as the CPU's stable sort.
#include <climits>
#include <string>

#include "cuda/common.cuh"
#include "cuda/device.cuh"
#include "cuda/moe_gating.cuh"

namespace llmrt::cuda {
namespace {

__device__ __forceinline__ bool better(float v, int i, float bv, int bi) { return v > bv || (v == bv && i < bi); }

// Index of the best value among v[0..n) not yet taken (taken[i] != 0); marks it taken.
__device__ int take_best(const float* v, uint8_t* taken, int n) {
    const int lane = threadIdx.x;
    float bv = -INFINITY;
    int bi = INT_MAX;
    for (int i = lane; i < n; i += kWarp)
        if (!taken[i] && better(v[i], i, bv, bi)) bv = v[i], bi = i;
#pragma unroll
    for (int o = kWarp / 2; o > 0; o >>= 1) {
        const float ov = __shfl_xor_sync(0xffffffffu, bv, o);
        const int oi = __shfl_xor_sync(0xffffffffu, bi, o);
        if (better(ov, oi, bv, bi)) bv = ov, bi = oi;
    }
    __syncwarp();
    if (lane == 0) taken[bi] = 1;
    __syncwarp();
    return bi;
}

__device__ void limit_groups(float* choice, uint8_t* taken, float* group_score, const ops::GatingParams& p) {
    const int per_group = p.n_expert / p.n_group;
    for (int g = threadIdx.x; g < p.n_group; g += kWarp) {
        const float* c = choice + g * per_group;
        float best = -INFINITY, second = -INFINITY;
        for (int e = 0; e < per_group; ++e) {
            if (c[e] > best) second = best, best = c[e];
            else if (c[e] > second) second = c[e];
        }
        group_score[g] = per_group >= 2 ? best + second : best;
        taken[g] = 0;
    }
    __syncwarp();
    for (int j = 0; j < p.topk_group; ++j) take_best(group_score, taken, p.n_group);
    // taken[g] now marks the kept groups; the others can never be chosen
    for (int e = threadIdx.x; e < p.n_expert; e += kWarp)
        if (!taken[e / per_group]) choice[e] = -INFINITY;
    __syncwarp();
}

__global__ void moe_gating_kernel(const float* __restrict__ logits, ops::GatingParams p, int32_t* __restrict__ ids,
                                  float* __restrict__ weights) {
    extern __shared__ float smem[];
    const int n = p.n_expert, k = p.n_used, lane = threadIdx.x;
    float* scores = smem;                         // (n)
    float* choice = scores + n;                   // (n)
    float* group_score = choice + n;              // (n_group)
    uint8_t* taken = (uint8_t*)(group_score + (p.n_group > 1 ? p.n_group : 1));  // (n)
    const int64_t t = blockIdx.x;
    const float* lg = logits + t * n;

    if (p.func == ops::GatingFunc::Sigmoid) {
        for (int e = lane; e < n; e += kWarp) scores[e] = 1.0f / (1.0f + expf(-lg[e]));
    } else {
        float mx = -INFINITY;
        for (int e = lane; e < n; e += kWarp) mx = fmaxf(mx, lg[e]);
        mx = warp_max(mx);
        float sum = 0.0f;
        for (int e = lane; e < n; e += kWarp) sum += scores[e] = expf(lg[e] - mx);
        sum = warp_sum(sum);
        for (int e = lane; e < n; e += kWarp) scores[e] /= sum;
    }
    for (int e = lane; e < n; e += kWarp) choice[e] = scores[e] + (p.bias ? p.bias[e] : 0.0f);
    __syncwarp();
    if (p.n_group > 1 && p.topk_group < p.n_group) limit_groups(choice, taken, group_score, p);
    for (int e = lane; e < n; e += kWarp) taken[e] = 0;
    __syncwarp();

    int32_t* id = ids + t * k;
    for (int j = 0; j < k; ++j) {
        const int best = take_best(choice, taken, n);
        if (lane == 0) id[j] = best;
    }
    if (lane == 0) {
        float* w = weights + t * k;
        float sum = 0.0f;
        for (int j = 0; j < k; ++j) sum += w[j] = scores[id[j]];
        const float mul = p.scale * (p.norm_weights && sum > 0.0f ? 1.0f / sum : 1.0f);
        for (int j = 0; j < k; ++j) w[j] *= mul;
    }
}

}  // namespace

void moe_gating(const float* logits, int64_t n_tokens, const ops::GatingParams& p, int32_t* ids, float* weights,
                cudaStream_t stream) {
    ops::check_gating_params(p);
    if (p.n_expert > kMoeMaxExperts)
        throw DeviceError("CUDA moe_gating: more than " + std::to_string(kMoeMaxExperts) + " experts");
    if (n_tokens == 0) return;
    if (n_tokens > 0x7fffffff) throw InvalidArgument("moe_gating: too many tokens");
    const size_t smem = (size_t)(2 * p.n_expert + (p.n_group > 1 ? p.n_group : 1)) * sizeof(float) + (size_t)p.n_expert;
    moe_gating_kernel<<<(unsigned)n_tokens, kWarp, smem, stream>>>(logits, p, ids, weights);
    LLMRT_CUDA_CHECK_LAUNCH("moe_gating");
}

}  // namespace llmrt::cuda
