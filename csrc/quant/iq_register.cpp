// Registration of the lattice i-quants (IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S) and the ternary
// formats (TQ1_0, TQ2_0): dequantize and dot products against A8_256 (scalar, and AVX2 for all
// but TQ1_0), no quantizers, no packed layouts. The IQ4 family registers itself in iq4.cpp.
#include "quant/iq_internal.h"
#include "quant/types.h"
#include "runtime/cpu_features.h"

namespace llmrt {

void register_lattice_types(TypeTraits* table) {
    using namespace iq;
    struct Entry { GGMLType type; DequantizeFn deq; VecDotFn ref; VecDotFn avx2; };
#if defined(LLMRT_IQ_HAVE_X86)
#define LLMRT_IQ_AVX2(fn) fn
#else
#define LLMRT_IQ_AVX2(fn) nullptr
#endif
    const Entry entries[] = {
        {GGMLType::IQ2_XXS, dequantize_iq2_xxs, vec_dot_iq2_xxs_ref, LLMRT_IQ_AVX2(vec_dot_iq2_xxs_avx2)},
        {GGMLType::IQ2_XS, dequantize_iq2_xs, vec_dot_iq2_xs_ref, LLMRT_IQ_AVX2(vec_dot_iq2_xs_avx2)},
        {GGMLType::IQ2_S, dequantize_iq2_s, vec_dot_iq2_s_ref, LLMRT_IQ_AVX2(vec_dot_iq2_s_avx2)},
        {GGMLType::IQ3_XXS, dequantize_iq3_xxs, vec_dot_iq3_xxs_ref, LLMRT_IQ_AVX2(vec_dot_iq3_xxs_avx2)},
        {GGMLType::IQ3_S, dequantize_iq3_s, vec_dot_iq3_s_ref, LLMRT_IQ_AVX2(vec_dot_iq3_s_avx2)},
        {GGMLType::TQ1_0, dequantize_tq1_0, vec_dot_tq1_0_ref, nullptr},
        {GGMLType::TQ2_0, dequantize_tq2_0, vec_dot_tq2_0_ref, LLMRT_IQ_AVX2(vec_dot_tq2_0_avx2)},
    };
#undef LLMRT_IQ_AVX2
    const bool avx2 = simd_level() >= SimdLevel::AVX2;
    for (const Entry& e : entries) {
        TypeTraits& t = table[(uint32_t)e.type];
        t.dequantize = e.deq;
        t.act = ActFormat::A8_256;
        t.vec_dot_ref = e.ref;
        t.vec_dot = avx2 && e.avx2 ? e.avx2 : e.ref;
    }
}

}  // namespace llmrt
