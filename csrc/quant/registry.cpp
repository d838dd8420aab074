// The one dispatch table: sizes for every type GGUF defines, kernels for those we compute with.
#include "quant/types.h"

#include "quant/blocks.h"

namespace llmrt {
namespace {

struct Table {
    TypeTraits entries[GGML_TYPE_LIMIT];
    Table() {
        auto size = [&](GGMLType t, const char* name, int64_t bs, size_t ts) {
            TypeTraits& e = entries[(uint32_t)t];
            e.name = name; e.block_size = bs; e.type_size = ts;
        };
        // Sizes of every GGUF type, so files holding types we cannot compute still load and
        // report cleanly (block sizes/bytes from the GGUF spec).
        size(GGMLType::F32, "F32", 1, 4);
        size(GGMLType::F16, "F16", 1, 2);
        size(GGMLType::BF16, "BF16", 1, 2);
        size(GGMLType::F64, "F64", 1, 8);
        size(GGMLType::I8, "I8", 1, 1);
        size(GGMLType::I16, "I16", 1, 2);
        size(GGMLType::I32, "I32", 1, 4);
        size(GGMLType::I64, "I64", 1, 8);
        size(GGMLType::Q4_0, "Q4_0", QK4_0, sizeof(block_q4_0));
        size(GGMLType::Q4_1, "Q4_1", QK4_1, sizeof(block_q4_1));
        size(GGMLType::Q5_0, "Q5_0", QK5_0, sizeof(block_q5_0));
        size(GGMLType::Q5_1, "Q5_1", QK5_1, sizeof(block_q5_1));
        size(GGMLType::Q8_0, "Q8_0", QK8_0, sizeof(block_q8_0));
        size(GGMLType::Q8_1, "Q8_1", 32, 36);
        size(GGMLType::Q2_K, "Q2_K", QK_K, sizeof(block_q2_K));
        size(GGMLType::Q3_K, "Q3_K", QK_K, sizeof(block_q3_K));
        size(GGMLType::Q4_K, "Q4_K", QK_K, sizeof(block_q4_K));
        size(GGMLType::Q5_K, "Q5_K", QK_K, sizeof(block_q5_K));
        size(GGMLType::Q6_K, "Q6_K", QK_K, sizeof(block_q6_K));
        size(GGMLType::Q8_K, "Q8_K", QK_K, 4 + QK_K + 32);
        size(GGMLType::IQ2_XXS, "IQ2_XXS", QK_K, sizeof(block_iq2_xxs));
        size(GGMLType::IQ2_XS, "IQ2_XS", QK_K, sizeof(block_iq2_xs));
        size(GGMLType::IQ3_XXS, "IQ3_XXS", QK_K, sizeof(block_iq3_xxs));
        size(GGMLType::IQ1_S, "IQ1_S", QK_K, 50);
        size(GGMLType::IQ4_NL, "IQ4_NL", 32, sizeof(block_iq4_nl));
        size(GGMLType::IQ3_S, "IQ3_S", QK_K, sizeof(block_iq3_s));
        size(GGMLType::IQ2_S, "IQ2_S", QK_K, sizeof(block_iq2_s));
        size(GGMLType::IQ4_XS, "IQ4_XS", QK_K, sizeof(block_iq4_xs));
        size(GGMLType::IQ1_M, "IQ1_M", QK_K, 56);
        size(GGMLType::TQ1_0, "TQ1_0", QK_K, sizeof(block_tq1_0));
        size(GGMLType::TQ2_0, "TQ2_0", QK_K, sizeof(block_tq2_0));
        size(GGMLType::MXFP4, "MXFP4", 32, sizeof(block_mxfp4));
        register_float_types(entries);
        register_legacy_types(entries);
        register_k_types(entries);
        register_iq4_types(entries);
        register_lattice_types(entries);
    }
};

const Table& table() {
    static const Table t;
    return t;
}

const TypeTraits kUnknown{};

}  // namespace

const TypeTraits& type_traits(uint32_t type) {
    if (type >= GGML_TYPE_LIMIT) return kUnknown;
    return table().entries[type];
}

bool type_is_known(uint32_t type) { return type_traits(type).name != nullptr; }

bool type_is_computable(uint32_t type) {
    const TypeTraits& t = type_traits(type);
    return t.dequantize != nullptr && t.vec_dot != nullptr;
}

size_t row_size(GGMLType t, int64_t n) {
    const TypeTraits& tr = type_traits(t);
    return (size_t)(n / tr.block_size) * tr.type_size;
}

}  // namespace llmrt
