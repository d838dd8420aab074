// Single-kernel throughput of the packed matmul kernels (quant/packed.h), outside the model:
// GMAC/s of the AVX2 8-row and AVX-512 VNNI 16-row kernels for Q4_1 and Q8_0 (576-element
// rows, SmolLM2's width), one and eight activation columns, the weights in cache (64 rows) or
// streamed from memory (a 96 MiB matrix, on one thread or two: contiguous halves, as the
// matmul's parallel_for_streams hands them out). Built and run by tools/bench_packed_kernels.sh;
// random bytes stand in for weights (speed does not depend on the values). Not a test.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "quant/blocks.h"
#include "runtime/cpu_features.h"

namespace llmrt::avx2 {
void vec_dot_packed_q4_1(int64_t, const void*, const void* const*, int, float*, int64_t);
void vec_dot_packed_q8_0(int64_t, const void*, const void* const*, int, float*, int64_t);
}  // namespace llmrt::avx2
namespace llmrt::avx512 {
void vec_dot_packed_q4_1(int64_t, const void*, const void* const*, int, float*, int64_t);
void vec_dot_packed_q8_0(int64_t, const void*, const void* const*, int, float*, int64_t);
}  // namespace llmrt::avx512

using namespace llmrt;
using Kernel = void (*)(int64_t, const void*, const void* const*, int, float*, int64_t);

struct Case {
    const char* name;
    Kernel kernel;
    int rows;            // rows per packed group
    size_t block_bytes;  // one packed block of `rows` rows
};

double gmacs(const Case& k, int64_t n_in, int64_t n_rows, int n_cols, int n_threads, double seconds) {
    const int64_t n_groups = n_rows / k.rows;
    const size_t group_bytes = (size_t)(n_in / 32) * k.block_bytes;
    std::vector<uint8_t> w(group_bytes * n_groups);
    std::mt19937 rng(1);
    for (auto& b : w) b = (uint8_t)rng();
    for (size_t i = 0; i < w.size(); i += k.block_bytes) std::memset(&w[i], 0x20, 2 * k.rows);  // small fp16 scales
    std::vector<block_a8_32> a((size_t)(n_in / 32) * 8);
    for (auto& b : a) {
        b.d = 0.01f;
        b.s = 0.1f;
        for (auto& q : b.qs) q = (int8_t)(rng() % 255 - 127);
    }
    const void* cols[8];
    for (int c = 0; c < 8; ++c) cols[c] = &a[(size_t)c * (n_in / 32)];
    std::vector<float> out((size_t)8 * n_rows);
    auto sweep = [&](int t) {
        for (int64_t g = n_groups * t / n_threads; g < n_groups * (t + 1) / n_threads; ++g)
            k.kernel(n_in, &w[g * group_bytes], cols, n_cols, &out[g * k.rows], n_rows);
    };
    int64_t reps = 0;
    const auto t0 = std::chrono::steady_clock::now();
    double dt = 0;
    while (dt < seconds) {
        std::vector<std::thread> pool;
        for (int t = 1; t < n_threads; ++t) pool.emplace_back([&, t] { sweep(t); });
        sweep(0);
        for (auto& th : pool) th.join();
        ++reps;
        dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    return (double)reps * n_rows * n_in * n_cols / dt / 1e9;
}

int main() {
    const bool avx512 = simd_level() >= SimdLevel::AVX512;
    std::vector<Case> cases = {
        {"Q4_1 avx2 x8", avx2::vec_dot_packed_q4_1, 8, sizeof(block_q4_1x8)},
        {"Q8_0 avx2 x8", avx2::vec_dot_packed_q8_0, 8, sizeof(block_q8_0x8)},
    };
    if (avx512) {
        cases.push_back({"Q4_1 avx512 x16", avx512::vec_dot_packed_q4_1, 16, sizeof(block_q4_1x16)});
        cases.push_back({"Q8_0 avx512 x16", avx512::vec_dot_packed_q8_0, 16, sizeof(block_q8_0x16)});
    } else {
        std::printf("(no AVX-512 VNNI on this CPU: AVX2 kernels only)\n");
    }
    const int64_t n_in = 576;
    std::printf("%-16s %8s %8s %12s %12s\n", "kernel", "threads", "columns", "in cache", "streamed");
    for (const Case& k : cases)
        for (int threads : {1, 2})
            for (int cols : {1, 8}) {
                // 64 rows stay in L1/L2; 96 MiB of rows stream from memory on every sweep
                const int64_t streamed_rows = (int64_t)(96 << 20) / (int64_t)((n_in / 32) * k.block_bytes / k.rows);
                // (in cache on two threads would time thread start-up, not the kernel)
                char cached[32] = "-";
                if (threads == 1) std::snprintf(cached, sizeof cached, "%.1f", gmacs(k, n_in, 64, cols, 1, 0.3));
                std::printf("%-16s %8d %8d %12s %12.1f\n", k.name, threads, cols, cached,
                            gmacs(k, n_in, streamed_rows / 16 * 16, cols, threads, 1.0));
            }
}
