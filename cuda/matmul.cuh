// y = x . W^T on the device for every weight type the CUDA kernels cover: quantized types
// quantize x once (quantize_act.cuh) and run mmvq; F32/F16/BF16 run matvec_float.
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "cuda/device.cuh"

namespace llmrt::cuda {

bool matmul_supports(uint32_t type);

// w: device rows (row_bytes each, GGUF layout); x: (n_tokens, n_in) device floats; y: (n_tokens,
// n_out). `act` holds the quantized activations and is grown when too small.
void matmul(uint32_t type, const void* w, size_t row_bytes, int64_t n_in, int64_t n_out, const float* x,
            int64_t n_tokens, float* y, DeviceBuffer& act, cudaStream_t stream);

}  // namespace llmrt::cuda
