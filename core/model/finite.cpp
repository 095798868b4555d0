#include "model/finite.h"

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string_view>
#include <utility>

#include "io/safetensors.h"
#include "model/transformer.h"

namespace obsprop::model {

using torch::Tensor;

namespace {

// "NaN" or "inf" when the raw stored values hold one (first found), else empty.
std::string nonfinite_kind(const io::TensorView& v) {
    const auto* p = reinterpret_cast<const unsigned char*>(v.data);
    const std::int64_t n = v.numel();
    bool inf = false;
    auto scan = [&](std::size_t bytes, std::uint64_t exp_mask, std::uint64_t mant_mask) {
        for (std::int64_t i = 0; i < n; ++i) {
            std::uint64_t bits = 0;
            std::memcpy(&bits, p + static_cast<std::size_t>(i) * bytes, bytes); // little-endian storage
            if ((bits & exp_mask) != exp_mask) continue;
            if (bits & mant_mask) return true; // NaN: no need to look further
            inf = true;
        }
        return false;
    };
    bool nan = false;
    switch (v.dtype) {
    case io::DType::F64:
        nan = scan(8, 0x7FF0000000000000ULL, 0x000FFFFFFFFFFFFFULL);
        break;
    case io::DType::F32:
        nan = scan(4, 0x7F800000U, 0x007FFFFFU);
        break;
    case io::DType::F16:
        nan = scan(2, 0x7C00U, 0x03FFU);
        break;
    case io::DType::BF16:
        nan = scan(2, 0x7F80U, 0x007FU);
        break;
    default:
        return {};
    }
    return nan ? "NaN" : inf ? "inf" : "";
}

} // namespace

std::vector<std::string> nonfinite_tensors(const io::Checkpoint& ckpt, std::size_t limit) {
    std::vector<std::string> out;
    for (const auto& name : ckpt.names()) {
        // Legacy attention-mask buffers (GPT-2's attn.bias / masked_bias) are not weights; the loader ignores
        // them and they may hold -inf by design.
        const auto ends_with = [&](std::string_view tail) {
            return name.size() >= tail.size() &&
                   name.compare(name.size() - tail.size(), tail.size(), tail) == 0;
        };
        if (ends_with("attn.bias") || ends_with("masked_bias")) continue;
        const std::string kind = nonfinite_kind(ckpt.get(name));
        if (kind.empty()) continue;
        out.push_back("'" + name + "' holds " + kind);
        if (out.size() >= limit) break;
    }
    return out;
}

std::vector<std::string> nonfinite_weights(const Weights& w, std::size_t limit) {
    std::vector<std::string> out;
    auto check = [&](const std::string& name, const Tensor& t) {
        if (out.size() >= limit || !t.defined() || !t.is_floating_point()) return;
        const Tensor d = t.detach();
        if (torch::isnan(d).any().item<bool>())
            out.push_back("'" + name + "' holds NaN");
        else if (torch::isinf(d).any().item<bool>())
            out.push_back("'" + name + "' holds inf");
    };
    check("W_E", w.W_E), check("W_pos", w.W_pos);
    for (std::size_t l = 0; l < w.layers.size(); ++l) {
        const auto& x = w.layers[l];
        const std::string p = "layers." + std::to_string(l) + ".";
        for (const auto& [n, t] :
             std::initializer_list<std::pair<const char*, const Tensor*>>{{"ln1_w", &x.ln1_w},
                                                                          {"ln1_b", &x.ln1_b},
                                                                          {"ln2_w", &x.ln2_w},
                                                                          {"ln2_b", &x.ln2_b},
                                                                          {"Wq", &x.Wq},
                                                                          {"Wk", &x.Wk},
                                                                          {"Wv", &x.Wv},
                                                                          {"bq", &x.bq},
                                                                          {"bk", &x.bk},
                                                                          {"bv", &x.bv},
                                                                          {"q_norm_w", &x.q_norm_w},
                                                                          {"k_norm_w", &x.k_norm_w},
                                                                          {"post_attn_w", &x.post_attn_w},
                                                                          {"post_mlp_w", &x.post_mlp_w},
                                                                          {"W_gate", &x.W_gate},
                                                                          {"b_gate", &x.b_gate},
                                                                          {"W_O", &x.W_O},
                                                                          {"b_O", &x.b_O},
                                                                          {"W_in", &x.W_in},
                                                                          {"b_in", &x.b_in},
                                                                          {"W_out", &x.W_out},
                                                                          {"b_out", &x.b_out}})
            check(p + n, *t);
    }
    check("lnf_w", w.lnf_w), check("lnf_b", w.lnf_b), check("W_U", w.W_U), check("b_U", w.b_U);
    return out;
}

std::vector<std::string> nonfinite_weights(const Transformer& m, std::size_t limit) {
    if (!m.directory().empty() && m.checkpoint_bytes() > 0) {
        try {
            return nonfinite_tensors(io::Checkpoint::open(m.directory()), limit);
        } catch (const std::exception&) {
            // The folder changed since loading: look at the weights in memory instead.
        }
    }
    return nonfinite_weights(m.weights(), limit);
}

std::string nonfinite_weights_note(const Transformer& m) {
    const auto bad = nonfinite_weights(m);
    if (bad.empty()) return "; every weight of the model is finite, so the computation overflowed";
    std::string note = m.checkpoint_bytes() > 0 ? "; the checkpoint's tensor" : "; the weight";
    if (bad.size() > 1) note += "s";
    for (std::size_t i = 0; i < bad.size(); ++i)
        note += (i == 0 ? " " : i + 1 == bad.size() ? " and " : ", ") + bad[i];
    if (bad.size() >= 3) note += " (perhaps more)";
    return note;
}

} // namespace obsprop::model
