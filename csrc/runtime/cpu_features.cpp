#include "runtime/cpu_features.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace llmrt {
namespace {

SimdLevel detect_cpu() {
#if defined(__x86_64__) || defined(_M_X64)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vnni") &&
        __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c"))
        return SimdLevel::AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c"))
        return SimdLevel::AVX2;
#endif
    return SimdLevel::Scalar;
}

SimdLevel initial_level() {
    SimdLevel level = detect_cpu();
    if (const char* env = std::getenv("LLMRT_SIMD")) {
        SimdLevel cap = level;
        if (std::strcmp(env, "scalar") == 0) cap = SimdLevel::Scalar;
        else if (std::strcmp(env, "avx2") == 0) cap = SimdLevel::AVX2;
        else if (std::strcmp(env, "avx512") == 0) cap = SimdLevel::AVX512;
        if ((int)cap < (int)level) level = cap;
    }
    return level;
}

std::atomic<int>& current() {
    static std::atomic<int> level{(int)initial_level()};
    return level;
}

}  // namespace

SimdLevel simd_level() { return (SimdLevel)current().load(std::memory_order_relaxed); }

SimdLevel set_simd_level(SimdLevel wanted) {
    SimdLevel cpu = detect_cpu();
    SimdLevel level = (int)wanted < (int)cpu ? wanted : cpu;
    current().store((int)level);
    return level;
}

const char* simd_level_name(SimdLevel level) {
    switch (level) {
        case SimdLevel::AVX512: return "avx512";
        case SimdLevel::AVX2: return "avx2";
        default: return "scalar";
    }
}

}  // namespace llmrt
