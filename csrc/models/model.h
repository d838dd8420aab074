// A model = the mapped GGUF + hyperparameters + views of each weight, bound by name from the
// tensor-name table the architecture spec supplies. Read-only after construction, so several
// contexts can share one Model.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "models/hparams.h"
#include "ops/matmul.h"

namespace llmrt {

// A 1-D parameter (norm weight, bias) converted to float once at load.
using Vector = std::vector<float>;

struct LayerWeights {
    ops::WeightView wq, wk, wv, wo;
    ops::WeightView ffn_gate, ffn_up, ffn_down;
    Vector attn_norm, ffn_norm;
    Vector q_norm, k_norm;                 // per-head norms (empty: none)
    Vector post_attn_norm, post_ffn_norm;  // sandwich norms (empty: none)
    Vector bq, bk, bv, bo;                 // biases (empty: none)

    // Mixture of experts (hp.n_expert > 0): these replace ffn_gate/up/down.
    ops::WeightView ffn_gate_inp;                        // router (n_embd -> n_expert)
    ops::ExpertsView ffn_gate_exps, ffn_up_exps, ffn_down_exps;  // (n_expert) x (n_embd <-> n_ff_exp)
    Vector exp_probs_b;                                  // (n_expert) choice bias (empty: none)
    // Shared expert, always on (absent: ffn_up_shexp.data == nullptr), scaled by
    // sigmoid(ffn_gate_inp_shexp . h) where that gate exists.
    ops::WeightView ffn_gate_shexp, ffn_up_shexp, ffn_down_shexp;
    Vector ffn_gate_inp_shexp;                           // (n_embd) (empty: no gate)

    bool is_moe() const { return ffn_gate_inp.data != nullptr; }
};

// Tensor names: `global` maps roles (token_embd, output_norm, output) to names; `layer` maps
// per-layer roles to templates with "{}" standing for the layer index. Roles listed in
// `optional` may be absent from the file (an absent "output" means the head is tied to token_embd).
struct TensorNames {
    std::map<std::string, std::string> global;
    std::map<std::string, std::string> layer;
    std::vector<std::string> optional;
};

class Model {
public:
    // Binds the roles of `names` in the already-open `file` (which the model keeps alive).
    // repack: build packed copies of the matrices whose type has a packed layout (quant/packed.h).
    Model(std::shared_ptr<gguf::File> file, const HParams& hp, const TensorNames& names, bool repack = true);

    const HParams& hparams() const { return hp_; }
    const gguf::File& file() const { return *file_; }
    const ops::WeightView& token_embd() const { return token_embd_; }
    const ops::WeightView& output() const { return output_; }
    const Vector& output_norm() const { return output_norm_; }
    // The RoPE of layer il, with the file's frequency factors (rope_freqs.weight) where it has them.
    ops::RopeParams rope_params(int il) const;
    const LayerWeights& layer(int i) const { return layers_[i]; }
    size_t packed_bytes() const { return packed_bytes_; }

private:
    void validate_shapes() const;
    void validate_moe(int layer) const;
    void pack_weights();

    std::shared_ptr<gguf::File> file_;
    HParams hp_;
    ops::WeightView token_embd_, output_;
    Vector output_norm_;
    Vector rope_freqs_;  // (n_rot / 2) or empty
    std::vector<LayerWeights> layers_;
    std::vector<std::unique_ptr<uint8_t[]>> packed_;  // the packed copies the views point into
    size_t packed_bytes_ = 0;
};

}  // namespace llmrt
