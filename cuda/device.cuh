// The CUDA runtime as the rest of llmrt sees it: device discovery that never throws, an error
// check that turns a cudaError_t into llmrt::DeviceError (a typed Python exception through the
// bindings), and a byte buffer in device memory. Plain C++: included from .cpp and .cu alike.
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "runtime/errors.h"

namespace llmrt::cuda {

// Number of usable CUDA devices; 0 when there is no driver, no GPU or any error (never throws).
int device_count() noexcept;

// Throws DeviceError("no CUDA device ...") unless device_count() > 0.
void require_device();

// Throws DeviceError naming the failed call and the CUDA error; clears the sticky error state.
void fail(cudaError_t err, const char* what, const char* file, int line);
inline void check(cudaError_t err, const char* what, const char* file, int line) {
    if (err != cudaSuccess) fail(err, what, file, line);
}
#define LLMRT_CUDA_CHECK(expr) ::llmrt::cuda::check((expr), #expr, __FILE__, __LINE__)
// After a kernel launch: reports a bad launch configuration as DeviceError.
#define LLMRT_CUDA_CHECK_LAUNCH(name) ::llmrt::cuda::check(cudaGetLastError(), name, __FILE__, __LINE__)

// Owning device allocation (bytes). Move-only; freed on destruction (errors ignored there).
class DeviceBuffer {
public:
    DeviceBuffer() = default;
    explicit DeviceBuffer(size_t bytes);
    ~DeviceBuffer();
    DeviceBuffer(DeviceBuffer&& o) noexcept : ptr_(o.ptr_), bytes_(o.bytes_) { o.ptr_ = nullptr; o.bytes_ = 0; }
    DeviceBuffer& operator=(DeviceBuffer&& o) noexcept;
    DeviceBuffer(const DeviceBuffer&) = delete;
    DeviceBuffer& operator=(const DeviceBuffer&) = delete;

    void* get() const { return ptr_; }
    template <typename T> T* as() const { return static_cast<T*>(ptr_); }
    size_t bytes() const { return bytes_; }
    void upload(const void* host, size_t bytes, size_t offset = 0);
    void download(void* host, size_t bytes, size_t offset = 0) const;
    void zero();

private:
    void* ptr_ = nullptr;
    size_t bytes_ = 0;
};

// Waits for all queued work on the current device; reports asynchronous kernel faults.
void synchronize();

}  // namespace llmrt::cuda
