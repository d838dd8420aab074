#include "cuda/matmul.cuh"

#include <string>

#include "cuda/matvec_float.cuh"
#include "cuda/mmvq.cuh"
#include "cuda/quantize_act.cuh"

namespace llmrt::cuda {

bool matmul_supports(uint32_t type) { return mmvq_supports(type) || matvec_float_supports(type); }

void matmul(uint32_t type, const void* w, size_t row_bytes, int64_t n_in, int64_t n_out, const float* x,
            int64_t n_tokens, float* y, DeviceBuffer& act, cudaStream_t stream) {
    if (matvec_float_supports(type)) return matvec_float(type, w, n_in, n_out, x, n_tokens, y, stream);
    if (!mmvq_supports(type)) throw DeviceError("CUDA matmul: tensor type " + std::to_string(type) + " is not supported");
    const size_t need = (size_t)n_tokens * (size_t)(n_in / 32) * sizeof(block_a8_32);
    if (act.bytes() < need) act = DeviceBuffer(need);
    quantize_a8_32(x, act.as<block_a8_32>(), n_tokens, n_in, stream);
    mmvq(type, w, row_bytes, n_in, n_out, act.as<block_a8_32>(), n_tokens, y, stream);
}

}  // namespace llmrt::cuda
