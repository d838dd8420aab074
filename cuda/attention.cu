// Kernel 1, grid (split, query head, token), 4 warps: each warp walks every 4th cell of the
// split with its own running softmax state (lane i holds dims i, i + 32, ... of q and of the
// accumulator); the warps merge through shared memory and write one partial per split.
// Kernel 2, grid (query head, token): merges the splits and normalises, as ops/attention.cpp
// merges its per-thread splits.
#include <algorithm>
#include <cmath>
#include <string>

#include "cuda/attention.cuh"
#include "cuda/common.cuh"
#include "cuda/device.cuh"

namespace llmrt::cuda {
namespace {

constexpr int kWarps = 4;
constexpr int kMinCellsPerSplit = 256;
constexpr int kMaxSplits = 64;

__device__ __forceinline__ float kv_load(const uint16_t* p) { return half_to_float(*p); }
__device__ __forceinline__ float kv_load(const float* p) { return *p; }

__device__ __forceinline__ bool visible(int32_t cell_pos, uint64_t cell_seqs, int32_t pos, int seq, int window) {
    return cell_pos >= 0 && cell_pos <= pos && ((cell_seqs >> seq) & 1) && (window <= 0 || pos - cell_pos < window);
}

// Partial of one (token, head, split): m, l, then acc[D].
template <int D>
__device__ __forceinline__ float* partial_at(float* ws, int64_t token, int head, int split, int n_head, int n_split) {
    return ws + (((token * n_head + head) * n_split) + split) * (int64_t)(D + 2);
}

template <int D, typename T>
__global__ void __launch_bounds__(kWarps * kWarp) attention_split_kernel(AttentionArgs a, float* __restrict__ ws, int n_split) {
    constexpr int kPer = D / kWarp;  // dims per lane
    const int split = blockIdx.x, head = blockIdx.y;
    const int64_t t = blockIdx.z;
    const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
    const int kv_head = head / (a.n_head / a.n_head_kv);
    const int32_t pos = a.positions[t];
    const int seq = a.seq_ids[t];

    float q[kPer], acc[kPer];
    const float* qh = a.q + (t * a.n_head + head) * D;
#pragma unroll
    for (int i = 0; i < kPer; ++i) {
        q[i] = qh[lane + kWarp * i];
        acc[i] = 0.0f;
    }
    float m = -INFINITY, l = 0.0f;

    const int64_t per = (a.n_cells + n_split - 1) / n_split;
    const int64_t c0 = (int64_t)split * per, c1 = c0 + per < a.n_cells ? c0 + per : a.n_cells;
    const int64_t row = (int64_t)a.n_head_kv * D;
    const T* kb = static_cast<const T*>(a.k_cache) + (int64_t)kv_head * D;
    const T* vb = static_cast<const T*>(a.v_cache) + (int64_t)kv_head * D;
    for (int64_t c = c0 + warp; c < c1; c += kWarps) {
        if (!visible(a.cell_pos[c], a.cell_seqs[c], pos, seq, a.sliding_window)) continue;
        const T* k = kb + c * row;
        float s = 0.0f;
#pragma unroll
        for (int i = 0; i < kPer; ++i) s += q[i] * kv_load(k + lane + kWarp * i);
        s = warp_sum(s) * a.scale;
        if (a.softcap > 0.0f) s = a.softcap * tanhf(s / a.softcap);
        const float m_new = fmaxf(m, s);
        const float r = expf(m - m_new);  // 0 while nothing was accumulated (m = -inf)
        const float p = expf(s - m_new);
        l = l * r + p;
        const T* v = vb + c * row;
#pragma unroll
        for (int i = 0; i < kPer; ++i) acc[i] = acc[i] * r + p * kv_load(v + lane + kWarp * i);
        m = m_new;
    }

    __shared__ float sm_m[kWarps], sm_l[kWarps];
    __shared__ float sm_acc[kWarps][D];
    if (lane == 0) {
        sm_m[warp] = m;
        sm_l[warp] = l;
    }
#pragma unroll
    for (int i = 0; i < kPer; ++i) sm_acc[warp][lane + kWarp * i] = acc[i];
    __syncthreads();

    float mm = -INFINITY;
#pragma unroll
    for (int w = 0; w < kWarps; ++w)
        if (sm_l[w] > 0.0f) mm = fmaxf(mm, sm_m[w]);
    float* out = partial_at<D>(ws, t, head, split, a.n_head, n_split);
    for (int d = threadIdx.x; d < D; d += kWarps * kWarp) {
        float sum = 0.0f;
#pragma unroll
        for (int w = 0; w < kWarps; ++w)
            if (sm_l[w] > 0.0f) sum += sm_acc[w][d] * expf(sm_m[w] - mm);  // skip warps that saw no cell
        out[2 + d] = sum;
    }
    if (threadIdx.x == 0) {
        float ll = 0.0f;
        for (int w = 0; w < kWarps; ++w)
            if (sm_l[w] > 0.0f) ll += sm_l[w] * expf(sm_m[w] - mm);
        out[0] = mm;
        out[1] = ll;
    }
}

template <int D>
__global__ void attention_merge_kernel(const float* __restrict__ ws, int n_head, int n_split, float* __restrict__ out) {
    const int head = blockIdx.x;
    const int64_t t = blockIdx.y;
    float m = -INFINITY;
    for (int s = 0; s < n_split; ++s) {
        const float* p = partial_at<D>(const_cast<float*>(ws), t, head, s, n_head, n_split);
        if (p[1] > 0.0f) m = fmaxf(m, p[0]);
    }
    float l = 0.0f;
    for (int s = 0; s < n_split; ++s) {
        const float* p = partial_at<D>(const_cast<float*>(ws), t, head, s, n_head, n_split);
        if (p[1] > 0.0f) l += p[1] * expf(p[0] - m);
    }
    const float inv = l > 0.0f ? 1.0f / l : 0.0f;
    float* o = out + (t * n_head + head) * D;
    for (int d = threadIdx.x; d < D; d += blockDim.x) {
        float sum = 0.0f;
        for (int s = 0; s < n_split; ++s) {
            const float* p = partial_at<D>(const_cast<float*>(ws), t, head, s, n_head, n_split);
            if (p[1] > 0.0f) sum += p[2 + d] * expf(p[0] - m);
        }
        o[d] = sum * inv;
    }
}

template <int D>
void launch(const AttentionArgs& a, float* ws, int n_split, cudaStream_t stream) {
    const dim3 grid((unsigned)n_split, (unsigned)a.n_head, (unsigned)a.n_tokens);
    if (a.kv_f32) attention_split_kernel<D, float><<<grid, kWarps * kWarp, 0, stream>>>(a, ws, n_split);
    else attention_split_kernel<D, uint16_t><<<grid, kWarps * kWarp, 0, stream>>>(a, ws, n_split);
    LLMRT_CUDA_CHECK_LAUNCH("attention_split");
    attention_merge_kernel<D><<<dim3((unsigned)a.n_head, (unsigned)a.n_tokens), std::min(D, 128), 0, stream>>>(
        ws, a.n_head, n_split, a.out);
    LLMRT_CUDA_CHECK_LAUNCH("attention_merge");
}

void check_args(const AttentionArgs& a) {
    if (!attention_supports_head_dim(a.head_dim))
        throw DeviceError("CUDA attention: head size " + std::to_string(a.head_dim) + " is not supported (64, 128, 256)");
    if (a.n_head_kv <= 0 || a.n_head % a.n_head_kv != 0)
        throw InvalidArgument("attention: n_head must be a multiple of n_head_kv");
    if (a.n_tokens > 65535 || a.n_head > 65535) throw InvalidArgument("attention: too many tokens or heads for one launch");
}

}  // namespace

bool attention_supports_head_dim(int head_dim) { return head_dim == 64 || head_dim == 128 || head_dim == 256; }

int attention_splits(const AttentionArgs& a) {
    // Enough thread blocks to fill a large GPU at decode (few tokens x heads), without splitting
    // short caches or multiplying the workspace of long prompts.
    const int64_t by_cells = (a.n_cells + kMinCellsPerSplit - 1) / kMinCellsPerSplit;
    const int64_t items = std::max<int64_t>(1, a.n_tokens * a.n_head);
    const int64_t by_items = (512 + items - 1) / items;
    return (int)std::max<int64_t>(1, std::min<int64_t>({by_cells, by_items, (int64_t)kMaxSplits}));
}

size_t attention_workspace_bytes(const AttentionArgs& a) {
    return (size_t)a.n_tokens * a.n_head * attention_splits(a) * (a.head_dim + 2) * sizeof(float);
}

void attention(const AttentionArgs& a, void* workspace, cudaStream_t stream) {
    check_args(a);
    if (a.n_tokens == 0 || a.n_head == 0) return;
    const int n_split = attention_splits(a);
    float* ws = static_cast<float*>(workspace);
    switch (a.head_dim) {
        case 64: return launch<64>(a, ws, n_split, stream);
        case 128: return launch<128>(a, ws, n_split, stream);
        default: return launch<256>(a, ws, n_split, stream);
    }
}

}  // namespace llmrt::cuda
