// Registration of the lattice i-quants (IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S) and the ternary
// formats (TQ1_0, TQ2_0): dequantize and dot products against A8_256, no quantizers. The IQ4
// family registers itself in iq4.cpp.
#include "quant/iq_internal.h"
#include "quant/types.h"

namespace llmrt {

void register_lattice_types(TypeTraits* table) {
    using namespace iq;
    struct Entry { GGMLType type; DequantizeFn deq; VecDotFn ref; };
    const Entry entries[] = {
        {GGMLType::IQ2_XXS, dequantize_iq2_xxs, vec_dot_iq2_xxs_ref},
        {GGMLType::IQ2_XS, dequantize_iq2_xs, vec_dot_iq2_xs_ref},
        {GGMLType::IQ2_S, dequantize_iq2_s, vec_dot_iq2_s_ref},
        {GGMLType::IQ3_XXS, dequantize_iq3_xxs, vec_dot_iq3_xxs_ref},
        {GGMLType::IQ3_S, dequantize_iq3_s, vec_dot_iq3_s_ref},
        {GGMLType::TQ1_0, dequantize_tq1_0, vec_dot_tq1_0_ref},
        {GGMLType::TQ2_0, dequantize_tq2_0, vec_dot_tq2_0_ref},
    };
    for (const Entry& e : entries) {
        TypeTraits& t = table[(uint32_t)e.type];
        t.dequantize = e.deq;
        t.act = ActFormat::A8_256;
        t.vec_dot_ref = e.ref;
        t.vec_dot = e.ref;
    }
}

}  // namespace llmrt
