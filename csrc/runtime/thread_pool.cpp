#include "runtime/thread_pool.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define LLMRT_CPU_RELAX() _mm_pause()
#else
#define LLMRT_CPU_RELAX() std::this_thread::yield()
#endif

namespace llmrt {
namespace {
// Waiting escalates: busy-spin (cheapest wake-up, right for back-to-back regions of one decode
// step), then yield the core (so an oversubscribed machine still makes progress), then sleep.
constexpr int kPauseSpins = 2000;
constexpr int kYieldSpins = 20000;

inline void wait_step(int spins) {
    if (spins < kPauseSpins) LLMRT_CPU_RELAX();
    else std::this_thread::yield();
}
}

ThreadPool::ThreadPool(int n_threads) : n_threads_(std::max(1, n_threads)) {
    for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_.store(true);
        generation_.fetch_add(1);
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
}

void ThreadPool::run_job(int index) {
    try {
        (*job_)(index, n_threads_);
    } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex_);
        if (!error_) error_ = std::current_exception();
    }
}

void ThreadPool::worker_loop(int index) {
    uint64_t seen = 0;
    for (;;) {
        int spins = 0;
        while (generation_.load(std::memory_order_acquire) == seen) {
            if (++spins < kPauseSpins + kYieldSpins) { wait_step(spins); continue; }
            std::unique_lock<std::mutex> lock(mutex_);
            sleeping_.fetch_add(1);
            wake_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
            sleeping_.fetch_sub(1);
            break;
        }
        seen = generation_.load(std::memory_order_acquire);
        if (stop_.load()) return;
        run_job(index);
        pending_.fetch_sub(1, std::memory_order_acq_rel);
    }
}

void ThreadPool::run(const std::function<void(int, int)>& fn) {
    if (n_threads_ == 1) { fn(0, 1); return; }
    job_ = &fn;
    error_ = nullptr;
    pending_.store(n_threads_ - 1, std::memory_order_release);
    {
        // Taking the lock orders the generation bump against a worker about to sleep.
        std::lock_guard<std::mutex> lock(mutex_);
        generation_.fetch_add(1, std::memory_order_acq_rel);
    }
    if (sleeping_.load() > 0) wake_.notify_all();
    run_job(0);
    for (int spins = 0; pending_.load(std::memory_order_acquire) != 0; ++spins) wait_step(spins);
    job_ = nullptr;
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
}

void ThreadPool::parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
    if (n <= 0) return;
    grain = std::max<int64_t>(1, grain);
    if (n_threads_ == 1 || n <= grain) { fn(0, n); return; }
    std::atomic<int64_t> next{0};
    run([&](int, int) {
        for (;;) {
            const int64_t begin = next.fetch_add(grain, std::memory_order_relaxed);
            if (begin >= n) break;
            fn(begin, std::min(n, begin + grain));
        }
    });
}

namespace {
// A thread's share of chunks [front, back), both in one word so that the owner (taking the
// front) and a thief (taking the back) never hand out the same chunk.
struct alignas(64) Share {
    std::atomic<uint64_t> bounds{0};
    static uint64_t pack(uint64_t front, uint64_t back) { return front | back << 32; }
    // The next chunk from the front (owner) or the back (thief), or -1 when the share is empty.
    int64_t take(bool from_front) {
        uint64_t v = bounds.load(std::memory_order_relaxed);
        for (;;) {
            const uint64_t front = v & 0xFFFFFFFFu, back = v >> 32;
            if (front >= back) return -1;
            const uint64_t next = from_front ? pack(front + 1, back) : pack(front, back - 1);
            if (bounds.compare_exchange_weak(v, next, std::memory_order_relaxed))
                return (int64_t)(from_front ? front : back - 1);
        }
    }
};
}  // namespace

void ThreadPool::parallel_for_streams(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn,
                                      const std::function<void(int, int)>* prologue) {
    grain = std::max<int64_t>(1, grain);
    const int64_t n_chunks = n > 0 ? (n + grain - 1) / grain : 0;
    if (n_threads_ == 1 || n_chunks <= 1) {
        if (prologue) (*prologue)(0, 1);
        if (n > 0) fn(0, n);
        return;
    }
    if (n_chunks > (int64_t)0xFFFFFFFF) throw std::length_error("parallel_for_streams: too many chunks");
    std::vector<Share> shares((size_t)n_threads_);
    for (int t = 0; t < n_threads_; ++t)
        shares[t].bounds.store(Share::pack((uint64_t)(n_chunks * t / n_threads_), (uint64_t)(n_chunks * (t + 1) / n_threads_)));
    std::atomic<int> arrived{0};
    run([&](int t, int n_threads) {
        if (prologue) {
            // Arrive even when the prologue throws, so no thread waits forever; run() rethrows.
            std::exception_ptr failed;
            try {
                (*prologue)(t, n_threads);
            } catch (...) {
                failed = std::current_exception();
            }
            arrived.fetch_add(1, std::memory_order_acq_rel);
            for (int spins = 0; arrived.load(std::memory_order_acquire) < n_threads; ++spins) wait_step(spins);
            if (failed) std::rethrow_exception(failed);
        }
        auto run_chunk = [&](int64_t c) { fn(c * grain, std::min(n, (c + 1) * grain)); };
        for (int64_t c; (c = shares[t].take(true)) >= 0;) run_chunk(c);
        for (int k = 1; k < n_threads; ++k)
            for (int64_t c; (c = shares[(t + k) % n_threads].take(false)) >= 0;) run_chunk(c);
    });
}

int physical_core_count() {
    // Count distinct (physical id, core id) pairs; fall back to the logical count.
    std::ifstream cpuinfo("/proc/cpuinfo");
    std::set<std::pair<std::string, std::string>> cores;
    std::string line, phys = "0";
    while (std::getline(cpuinfo, line)) {
        auto value = [&] { auto p = line.find(':'); return p == std::string::npos ? std::string() : line.substr(p + 1); };
        if (line.rfind("physical id", 0) == 0) phys = value();
        else if (line.rfind("core id", 0) == 0) cores.insert({phys, value()});
    }
    if (!cores.empty()) return (int)cores.size();
    const unsigned hw = std::thread::hardware_concurrency();
    return hw > 0 ? (int)hw : 1;
}

}  // namespace llmrt
