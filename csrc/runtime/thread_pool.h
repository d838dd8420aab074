// A fixed pool of worker threads for the forward pass. Workers spin briefly between jobs (a
// decode step runs a few hundred short parallel regions; waking sleeping threads through the
// kernel for each would cost more than the work), then fall back to sleeping on a condition
// variable when idle.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace llmrt {

class ThreadPool {
public:
    // n_threads counts the calling thread: ThreadPool(1) runs everything inline.
    explicit ThreadPool(int n_threads);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int size() const { return n_threads_; }

    // Runs fn(thread_index, n_threads) once on every thread, the caller included; returns when
    // all are done. An exception thrown by any of them is rethrown here.
    void run(const std::function<void(int, int)>& fn);

    // Splits [0, n) into chunks of `grain` handed out dynamically; fn(begin, end) per chunk.
    void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

    // The same chunks, but thread t owns the t-th contiguous share of them and runs it front to
    // back, so what it reads is one forward stream that hardware and software prefetch follow;
    // a thread done with its share takes chunks from the back of the others'. For loops that
    // stream memory in index order (the matmul's weight rows). With a prologue, every thread
    // first runs prologue(thread_index, n_threads) and waits for all the others to finish theirs
    // (the matmul's activation quantization, split between the threads in the same region).
    void parallel_for_streams(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn,
                              const std::function<void(int, int)>* prologue = nullptr);

private:
    void worker_loop(int index);
    void run_job(int index);

    int n_threads_;
    std::vector<std::thread> workers_;
    const std::function<void(int, int)>* job_ = nullptr;
    std::atomic<uint64_t> generation_{0};
    std::atomic<int> pending_{0};
    std::atomic<bool> stop_{false};
    std::atomic<int> sleeping_{0};
    std::mutex mutex_;
    std::condition_variable wake_;
    std::mutex error_mutex_;
    std::exception_ptr error_;
};

// Number of physical cores (hyper-threads not counted), at least 1.
int physical_core_count();

}  // namespace llmrt
