// The CUDA backend's factory. The kernels exist (cuda/*.cu, each tested against its CPU op
// through llmrt._core_testing); a GPU forward pass over them is not implemented, so asking for
// this backend raises DeviceError.
#include "backend/backend.h"
#include "runtime/errors.h"

namespace llmrt {

std::unique_ptr<Backend> make_cuda_backend(int n_threads) {
    (void)n_threads;
    throw DeviceError("the CUDA backend has no forward pass; use the CPU backend");
}

}  // namespace llmrt
