#include "cuda/device.cuh"

#include <string>

namespace llmrt::cuda {

int device_count() noexcept {
    int n = 0;
    // Without a driver this returns cudaErrorInsufficientDriver / cudaErrorNoDevice; the static
    // runtime neither aborts nor prints. Reset the error so later calls do not see it.
    const cudaError_t err = cudaGetDeviceCount(&n);
    if (err != cudaSuccess) {
        cudaGetLastError();
        return 0;
    }
    return n;
}

void require_device() {
    if (device_count() == 0)
        throw DeviceError("no CUDA device: no NVIDIA GPU or driver was found (llmrt was built with CUDA)");
}

void fail(cudaError_t err, const char* what, const char* file, int line) {
    cudaGetLastError();
    throw DeviceError(std::string("CUDA error ") + cudaGetErrorName(err) + " (" + cudaGetErrorString(err) +
                      ") in " + what + " at " + file + ":" + std::to_string(line));
}

DeviceBuffer::DeviceBuffer(size_t bytes) : bytes_(bytes) {
    if (bytes > 0) LLMRT_CUDA_CHECK(cudaMalloc(&ptr_, bytes));
}

DeviceBuffer::~DeviceBuffer() {
    if (ptr_) cudaFree(ptr_);
}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
        if (ptr_) cudaFree(ptr_);
        ptr_ = o.ptr_;
        bytes_ = o.bytes_;
        o.ptr_ = nullptr;
        o.bytes_ = 0;
    }
    return *this;
}

void DeviceBuffer::upload(const void* host, size_t bytes, size_t offset) {
    if (offset + bytes > bytes_) throw DeviceError("DeviceBuffer::upload past the end of the buffer");
    if (bytes) LLMRT_CUDA_CHECK(cudaMemcpy(static_cast<char*>(ptr_) + offset, host, bytes, cudaMemcpyHostToDevice));
}

void DeviceBuffer::download(void* host, size_t bytes, size_t offset) const {
    if (offset + bytes > bytes_) throw DeviceError("DeviceBuffer::download past the end of the buffer");
    if (bytes) LLMRT_CUDA_CHECK(cudaMemcpy(host, static_cast<const char*>(ptr_) + offset, bytes, cudaMemcpyDeviceToHost));
}

void DeviceBuffer::zero() {
    if (bytes_) LLMRT_CUDA_CHECK(cudaMemset(ptr_, 0, bytes_));
}

void synchronize() { LLMRT_CUDA_CHECK(cudaDeviceSynchronize()); }

}  // namespace llmrt::cuda
