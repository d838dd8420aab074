// Run-time choice of the SIMD level. Kernels ask `simd_level()` once and pick a function pointer;
// LLMRT_SIMD=scalar|avx2|avx512 in the environment caps the level (tests use it to compare paths).
#pragma once

namespace llmrt {

// AVX512 means F, BW, VL, DQ and VNNI (Ice Lake, Zen 4 and later): its kernels are built on
// vpdpbusd.
enum class SimdLevel : int { Scalar = 0, AVX2 = 1, AVX512 = 2 };

// Highest level this CPU supports, capped by LLMRT_SIMD and by what the build compiled.
SimdLevel simd_level();
// Force a level at run time (clamped to what the CPU supports); returns the level in effect.
SimdLevel set_simd_level(SimdLevel wanted);
const char* simd_level_name(SimdLevel level);

}  // namespace llmrt
