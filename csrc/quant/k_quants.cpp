// Placeholder: the kernels of this family are being written; registers nothing yet.
#include "quant/types.h"

namespace llmrt {
void register_k_types(TypeTraits* table) { (void)table; }
}  // namespace llmrt
