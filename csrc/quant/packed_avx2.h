// Private to the *_packed_avx2.cpp files: helpers shared by the packed-layout kernels
// (quant/packed.h). Include only inside an `#if defined(__AVX2__)` guard; everything is in an
// anonymous namespace so no AVX2 code can be merged with a baseline copy by the linker.
#pragma once
#include <immintrin.h>

#include <cstdint>
#include <cstring>

namespace llmrt::avx2 {
namespace {

// Every cache line of the block `ahead` blocks on. A packed block spans 3-19 lines, and the
// weights stream from memory once per call, so a single prefetch per block left the first load
// of each block waiting on memory (perf: ~20% of the Q4_1 kernel's samples).
template <typename Block>
inline void prefetch_block(const Block* b, int ahead) {
    const char* p = (const char*)(b + ahead);
    for (size_t off = 0; off < sizeof(Block); off += 64) _mm_prefetch(p + off, _MM_HINT_T0);
}

// 4 activation bytes in all eight lanes (a broadcast load: no shuffle).
inline __m256i act_quad(const int8_t* qs) {
    int32_t v;
    std::memcpy(&v, qs, 4);
    return _mm256_set1_epi32(v);
}

}  // namespace
}  // namespace llmrt::avx2
