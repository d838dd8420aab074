#include "ops/hadamard.h"

#include <cmath>

#include "runtime/cpu_features.h"

namespace llmrt::ops {

void hadamard_blocks(float* x, int64_t n_rows, int64_t row_len, int block) {
#if defined(__x86_64__) || defined(_M_X64)
    if (block % 8 == 0 && simd_level() >= SimdLevel::AVX2) return avx2::hadamard_blocks(x, n_rows, row_len, block);
#endif
    const float norm = 1.0f / std::sqrt((float)block);
    const int64_t n = n_rows * row_len;
    for (int64_t b = 0; b < n; b += block) {
        float* v = x + b;
        for (int h = 1; h < block; h *= 2)
            for (int i = 0; i < block; i += 2 * h)
                for (int j = i; j < i + h; ++j) {
                    const float a = v[j], c = v[j + h];
                    v[j] = a + c;
                    v[j + h] = a - c;
                }
        for (int j = 0; j < block; ++j) v[j] *= norm;
    }
}

int hadamard_block_k(int head_dim) {
    if (head_dim <= 0 || head_dim % 64 != 0) return 0;
    int n = 64;
    while (head_dim % (2 * n) == 0) n *= 2;
    return n;
}

int hadamard_block_v(int head_dim) { return head_dim > 0 && head_dim % 64 == 0 ? 64 : 0; }

}  // namespace llmrt::ops
