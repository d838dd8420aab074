#include "models/model.h"

#include <algorithm>

#include "quant/packed.h"
#include "quant/types.h"
#include "runtime/errors.h"

namespace llmrt {
namespace {

std::string layer_name(const std::string& tmpl, int layer) {
    std::string out = tmpl;
    const auto p = out.find("{}");
    if (p != std::string::npos) out.replace(p, 2, std::to_string(layer));
    return out;
}

class Binder {
public:
    Binder(const gguf::File& f, const TensorNames& n) : file_(f), names_(n) {}

    const gguf::TensorInfo* find(const std::string& role, const std::map<std::string, std::string>& table,
                                 int layer) const {
        auto it = table.find(role);
        const bool optional = std::find(names_.optional.begin(), names_.optional.end(), role) != names_.optional.end();
        if (it == table.end()) {
            if (optional) return nullptr;
            throw ModelError("architecture spec gives no tensor name for role '" + role + "'");
        }
        const std::string name = layer >= 0 ? layer_name(it->second, layer) : it->second;
        const gguf::TensorInfo* t = file_.find_tensor(name);
        if (!t && !optional) throw ModelError(file_.path() + ": required tensor '" + name + "' is missing");
        return t;
    }

    ops::WeightView matrix(const std::string& role, const std::map<std::string, std::string>& table, int layer) const {
        const gguf::TensorInfo* t = find(role, table, layer);
        ops::WeightView w;
        if (!t) return w;
        if (t->shape.size() > 2 && !(t->shape.size() == 3 && t->shape[2] == 1))
            throw ModelError("tensor '" + t->name + "' is not a matrix");
        if (!type_is_computable(t->type)) {
            const TypeTraits& tr = type_traits(t->type);
            throw ModelError("tensor '" + t->name + "' has type " + (tr.name ? tr.name : "?") +
                             ", which this build cannot compute with");
        }
        w.data = t->data;
        w.type = t->type;
        w.n_in = t->shape[0];
        w.n_out = t->shape.size() > 1 ? t->shape[1] : 1;
        w.row_bytes = row_size((GGMLType)t->type, w.n_in);
        return w;
    }

    ops::ExpertsView experts(const std::string& role, const std::map<std::string, std::string>& table,
                             int layer) const {
        const gguf::TensorInfo* t = find(role, table, layer);
        ops::ExpertsView x;
        if (!t) return x;
        if (t->shape.size() != 3) throw ModelError("tensor '" + t->name + "' is not a 3-D stack of expert matrices");
        if (!type_is_computable(t->type)) {
            const TypeTraits& tr = type_traits(t->type);
            throw ModelError("tensor '" + t->name + "' has type " + (tr.name ? tr.name : "?") +
                             ", which this build cannot compute with");
        }
        x.first.data = t->data;
        x.first.type = t->type;
        x.first.n_in = t->shape[0];
        x.first.n_out = t->shape[1];
        x.first.row_bytes = row_size((GGMLType)t->type, x.first.n_in);
        x.n_expert = t->shape[2];
        x.expert_bytes = x.first.row_bytes * (size_t)x.first.n_out;
        return x;
    }

    Vector vector(const std::string& role, const std::map<std::string, std::string>& table, int layer) const {
        const gguf::TensorInfo* t = find(role, table, layer);
        if (!t) return {};
        const TypeTraits& tr = type_traits(t->type);
        if (!tr.dequantize) throw ModelError("tensor '" + t->name + "' has an unsupported type");
        Vector v((size_t)t->n_elements());
        tr.dequantize(t->data, v.data(), (int64_t)v.size());
        return v;
    }

private:
    const gguf::File& file_;
    const TensorNames& names_;
};

// Rows [first, first + n) of a matrix, as a matrix of their own: fused tensors (Phi-3's
// attn_qkv = [q | k | v], its ffn_up = [gate | up]) become the separate weights, no copy.
ops::WeightView row_range(const ops::WeightView& w, int64_t first, int64_t n) {
    ops::WeightView r = w;
    r.data = static_cast<const uint8_t*>(w.data) + first * (int64_t)w.row_bytes;
    r.n_out = n;
    return r;
}

void split_fused(const Binder& bind, const std::map<std::string, std::string>& T, const HParams& h,
                 LayerWeights& L, int i) {
    if (!L.wq.data && T.count("attn_qkv")) {
        const ops::WeightView qkv = bind.matrix("attn_qkv", T, i);
        const int64_t q = (int64_t)h.n_head * h.head_dim_k, k = (int64_t)h.n_head_kv * h.head_dim_k;
        const int64_t v = (int64_t)h.n_head_kv * h.head_dim_v;
        if (qkv.data) {
            if (qkv.n_out != q + k + v) throw ModelError("tensor shape mismatch: attn_qkv in layer " + std::to_string(i));
            L.wq = row_range(qkv, 0, q);
            L.wk = row_range(qkv, q, k);
            L.wv = row_range(qkv, q + k, v);
        }
    }
    if (!L.ffn_gate.data && L.ffn_up.data && h.n_ff > 0 && L.ffn_up.n_out == 2 * (int64_t)h.n_ff) {
        const ops::WeightView up = L.ffn_up;
        L.ffn_gate = row_range(up, 0, h.n_ff);
        L.ffn_up = row_range(up, h.n_ff, h.n_ff);
    }
}

void expect(bool ok, const std::string& what) {
    if (!ok) throw ModelError("tensor shape mismatch: " + what);
}

void bind_moe(const Binder& bind, const std::map<std::string, std::string>& T, LayerWeights& L, int i) {
    L.ffn_gate_inp = bind.matrix("ffn_gate_inp", T, i);
    L.ffn_gate_exps = bind.experts("ffn_gate_exps", T, i);
    L.ffn_up_exps = bind.experts("ffn_up_exps", T, i);
    L.ffn_down_exps = bind.experts("ffn_down_exps", T, i);
    L.exp_probs_b = bind.vector("exp_probs_b", T, i);
    L.ffn_gate_shexp = bind.matrix("ffn_gate_shexp", T, i);
    L.ffn_up_shexp = bind.matrix("ffn_up_shexp", T, i);
    L.ffn_down_shexp = bind.matrix("ffn_down_shexp", T, i);
    L.ffn_gate_inp_shexp = bind.vector("ffn_gate_inp_shexp", T, i);
}

}  // namespace

Model::Model(std::shared_ptr<gguf::File> file, const HParams& hp, const TensorNames& names, bool repack)
    : file_(std::move(file)), hp_(hp) {
    if (!file_) throw ModelError("Model: no GGUF file");
    const std::string& path = file_->path();
    if (hp_.n_layer <= 0 || hp_.n_embd <= 0 || hp_.n_head <= 0 || hp_.n_head_kv <= 0 ||
        hp_.n_head % hp_.n_head_kv != 0 || hp_.head_dim_k <= 0 || hp_.head_dim_v <= 0)
        throw ModelError(path + ": inconsistent hyperparameters");
    if (hp_.n_rot <= 0 || hp_.n_rot > hp_.head_dim_k || hp_.n_rot % 2 != 0)
        throw ModelError(path + ": invalid RoPE dimension count " + std::to_string(hp_.n_rot));
    if (!hp_.layer_is_swa.empty() && (int)hp_.layer_is_swa.size() != hp_.n_layer)
        throw ModelError("sliding-window layer pattern has the wrong length");
    if (hp_.n_expert > 0) {
        ops::GatingParams g = gating_params(hp_, nullptr);
        try {
            ops::check_gating_params(g);
        } catch (const InvalidArgument& e) {
            throw ModelError(path + ": expert routing: " + e.what());
        }
    }
    const Binder bind(*file_, names);
    token_embd_ = bind.matrix("token_embd", names.global, -1);
    output_norm_ = bind.vector("output_norm", names.global, -1);
    output_ = bind.matrix("output", names.global, -1);
    if (!output_.data) output_ = token_embd_;  // tied embeddings
    if (names.global.count("rope_freqs")) rope_freqs_ = bind.vector("rope_freqs", names.global, -1);
    if (!rope_freqs_.empty() && (int64_t)rope_freqs_.size() != hp_.n_rot / 2)
        throw ModelError(path + ": rope_freqs.weight has " + std::to_string(rope_freqs_.size()) +
                         " values, the RoPE dimension count " + std::to_string(hp_.n_rot) + " needs " +
                         std::to_string(hp_.n_rot / 2));
    if (hp_.n_vocab <= 0) hp_.n_vocab = (int)output_.n_out;
    layers_.resize(hp_.n_layer);
    for (int i = 0; i < hp_.n_layer; ++i) {
        LayerWeights& L = layers_[i];
        const auto& T = names.layer;
        L.attn_norm = bind.vector("attn_norm", T, i);
        L.wq = bind.matrix("attn_q", T, i);
        L.wk = bind.matrix("attn_k", T, i);
        L.wv = bind.matrix("attn_v", T, i);
        L.wo = bind.matrix("attn_output", T, i);
        L.bq = bind.vector("attn_q_bias", T, i);
        L.bk = bind.vector("attn_k_bias", T, i);
        L.bv = bind.vector("attn_v_bias", T, i);
        L.bo = bind.vector("attn_output_bias", T, i);
        L.q_norm = bind.vector("attn_q_norm", T, i);
        L.k_norm = bind.vector("attn_k_norm", T, i);
        L.post_attn_norm = bind.vector("post_attention_norm", T, i);
        L.ffn_norm = bind.vector("ffn_norm", T, i);
        L.ffn_gate = bind.matrix("ffn_gate", T, i);
        L.ffn_up = bind.matrix("ffn_up", T, i);
        L.ffn_down = bind.matrix("ffn_down", T, i);
        L.post_ffn_norm = bind.vector("post_ffw_norm", T, i);
        split_fused(bind, T, hp_, L, i);
        if (hp_.n_expert > 0) bind_moe(bind, T, L, i);
    }
    validate_shapes();
    if (repack) pack_weights();
}

// Packed copies (quant/packed.h) of every matrix whose type has a packed layout; the output
// head of a tied model is packed while token_embd (its lookups) keeps the file's rows.
void Model::pack_weights() {
    auto pack = [&](ops::WeightView& w) {
        if (!w.data || w.packed || !can_pack(w.type, w.n_in, w.n_out)) return;
        packed_.push_back(pack_rows(w.type, w.data, w.row_bytes, w.n_in, w.n_out));
        w.packed = packed_.back().get();
        packed_bytes_ += llmrt::packed_bytes(w.type, w.n_in, w.n_out);
        file_->drop_pages(w.data, (size_t)w.n_out * w.row_bytes);
    };
    pack(output_);
    for (LayerWeights& L : layers_) {
        for (ops::WeightView* w : {&L.wq, &L.wk, &L.wv, &L.wo, &L.ffn_gate, &L.ffn_up, &L.ffn_down,
                                   &L.ffn_gate_shexp, &L.ffn_up_shexp, &L.ffn_down_shexp})
            pack(*w);
    }
}

void Model::validate_moe(int i) const {
    const HParams& h = hp_;
    const LayerWeights& L = layers_[i];
    const std::string at = " in layer " + std::to_string(i);
    expect(L.is_moe(), "ffn_gate_inp (the router) is missing" + at);
    expect(L.ffn_gate_inp.n_in == h.n_embd && L.ffn_gate_inp.n_out == h.n_expert, "ffn_gate_inp is not (n_embd, n_expert)" + at);
    const ops::ExpertsView* xs[3] = {&L.ffn_gate_exps, &L.ffn_up_exps, &L.ffn_down_exps};
    for (const ops::ExpertsView* x : xs)
        expect(x->first.data && x->n_expert == h.n_expert, "expert tensors need n_expert experts" + at);
    const int64_t n_ff = L.ffn_up_exps.first.n_out;
    expect(L.ffn_gate_exps.first.n_in == h.n_embd && L.ffn_up_exps.first.n_in == h.n_embd &&
           L.ffn_gate_exps.first.n_out == n_ff, "ffn_gate_exps/ffn_up_exps" + at);
    expect(L.ffn_down_exps.first.n_in == n_ff && L.ffn_down_exps.first.n_out == h.n_embd, "ffn_down_exps" + at);
    expect(L.exp_probs_b.empty() || (int64_t)L.exp_probs_b.size() == h.n_expert, "exp_probs_b" + at);
    const bool shared = L.ffn_up_shexp.data != nullptr;
    expect(shared == (L.ffn_gate_shexp.data != nullptr) && shared == (L.ffn_down_shexp.data != nullptr),
           "shared expert needs ffn_gate/up/down_shexp" + at);
    if (shared) {
        expect(L.ffn_gate_shexp.n_in == h.n_embd && L.ffn_up_shexp.n_in == h.n_embd &&
               L.ffn_gate_shexp.n_out == L.ffn_up_shexp.n_out, "ffn_gate_shexp/ffn_up_shexp" + at);
        expect(L.ffn_down_shexp.n_in == L.ffn_up_shexp.n_out && L.ffn_down_shexp.n_out == h.n_embd, "ffn_down_shexp" + at);
    }
    expect(L.ffn_gate_inp_shexp.empty() || (shared && (int64_t)L.ffn_gate_inp_shexp.size() == h.n_embd),
           "ffn_gate_inp_shexp" + at);
}

void Model::validate_shapes() const {
    const HParams& h = hp_;
    const int64_t q_dim = (int64_t)h.n_head * h.head_dim_k, k_dim = (int64_t)h.n_head_kv * h.head_dim_k;
    const int64_t v_dim = (int64_t)h.n_head_kv * h.head_dim_v, o_dim = (int64_t)h.n_head * h.head_dim_v;
    expect(token_embd_.n_in == h.n_embd, "token_embd width != n_embd");
    expect(output_.n_in == h.n_embd && output_.n_out == h.n_vocab, "output head is not (n_embd, n_vocab)");
    expect((int64_t)output_norm_.size() == h.n_embd, "output_norm");
    for (int i = 0; i < h.n_layer; ++i) {
        const LayerWeights& L = layers_[i];
        const std::string at = " in layer " + std::to_string(i);
        expect((int64_t)L.attn_norm.size() == h.n_embd && (int64_t)L.ffn_norm.size() == h.n_embd, "norms" + at);
        expect(L.wq.n_in == h.n_embd && L.wq.n_out == q_dim, "attn_q" + at);
        expect(L.wk.n_in == h.n_embd && L.wk.n_out == k_dim, "attn_k" + at);
        expect(L.wv.n_in == h.n_embd && L.wv.n_out == v_dim, "attn_v" + at);
        expect(L.wo.n_in == o_dim && L.wo.n_out == h.n_embd, "attn_output" + at);
        if (h.n_expert > 0) {
            validate_moe(i);
        } else {
            expect(L.ffn_gate.data && L.ffn_up.data && L.ffn_down.data, "ffn_gate/ffn_up/ffn_down missing" + at);
            expect(L.ffn_gate.n_in == h.n_embd && L.ffn_up.n_in == h.n_embd && L.ffn_gate.n_out == L.ffn_up.n_out,
                   "ffn_gate/ffn_up" + at);
            expect(L.ffn_down.n_in == L.ffn_up.n_out && L.ffn_down.n_out == h.n_embd, "ffn_down" + at);
        }
        expect(L.bq.empty() || (int64_t)L.bq.size() == q_dim, "attn_q bias" + at);
        expect(L.bk.empty() || (int64_t)L.bk.size() == k_dim, "attn_k bias" + at);
        expect(L.bv.empty() || (int64_t)L.bv.size() == v_dim, "attn_v bias" + at);
        expect(L.bo.empty() || (int64_t)L.bo.size() == h.n_embd, "attn_output bias" + at);
        expect(L.q_norm.empty() || (int64_t)L.q_norm.size() == h.head_dim_k, "attn_q_norm" + at);
        expect(L.k_norm.empty() || (int64_t)L.k_norm.size() == h.head_dim_k, "attn_k_norm" + at);
    }
}

ops::RopeParams Model::rope_params(int il) const {
    ops::RopeParams p = rope_params_for_layer(hp_, il);
    if (!rope_freqs_.empty()) p.freq_factors = rope_freqs_.data();
    return p;
}

}  // namespace llmrt
