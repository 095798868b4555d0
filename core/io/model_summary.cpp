// The particulars of a model configuration as every surface shows them (model_summary.h).
#include <cstdio>

#include <nlohmann/json.hpp>

#include "io/model_summary.h"

namespace obsprop::io {

namespace {

std::string num(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    return buf;
}

std::string windows_text(const ModelConfig& c) {
    int local = 0, window = 0;
    for (int w : c.local_window)
        if (w > 0) ++local, window = w;
    if (local == 0) return "none (every layer attends globally)";
    if (local == c.n_layers) return "every layer, window " + std::to_string(window);
    std::string layers;
    for (int l = 0; l < c.n_layers; ++l)
        if (c.is_local(l)) layers += (layers.empty() ? "" : ",") + std::to_string(l);
    return std::to_string(local) + " of " + std::to_string(c.n_layers) + " layers, window " +
           std::to_string(window) + " (layers " + layers + ")";
}

std::string rope_text(const RopeSpec& r) {
    std::string s = "θ " + num(r.theta);
    if (r.scaling == RopeSpec::Scaling::Linear) s += ", linear scaling ×" + num(r.factor);
    if (r.scaling == RopeSpec::Scaling::Llama3)
        s += ", llama3 scaling ×" + num(r.factor) + " (low " + num(r.low_freq_factor) + ", high " +
             num(r.high_freq_factor) + ", original " + num(r.original_max_positions) + ")";
    return s;
}

} // namespace

std::vector<ModelFact> describe_model(const ModelConfig& c) {
    using nlohmann::json;
    std::vector<ModelFact> f;
    auto add = [&](const char* key, const char* label, json value, std::string text) {
        f.push_back({key, label, std::move(value), std::move(text)});
    };
    add("family", "Family", family_name(c.family), family_name(c.family));
    add("n_layers", "Layers", c.n_layers, std::to_string(c.n_layers));
    add("n_heads", "Heads", c.n_heads, std::to_string(c.n_heads));
    add("n_kv_heads", "Key/value heads", c.n_kv_heads,
        c.n_kv_heads == c.n_heads ? std::to_string(c.n_kv_heads) + " (one per head)"
                                  : std::to_string(c.n_kv_heads) + " (" + std::to_string(c.kv_group_size()) +
                                        " query heads share each)");
    add("d_model", "d_model", c.d_model, std::to_string(c.d_model));
    add("d_head", "d_head", c.d_head,
        std::to_string(c.d_head) + (c.n_heads * c.d_head != c.d_model
                                        ? " (heads × d_head = " + std::to_string(c.n_heads * c.d_head) + ")"
                                        : std::string()));
    add("d_mlp", "d_mlp", c.d_mlp, std::to_string(c.d_mlp) + (c.gated_mlp ? " (gated)" : ""));
    add("d_vocab", "Vocabulary", c.d_vocab, std::to_string(c.d_vocab));
    add("n_ctx", "Context", c.n_ctx, std::to_string(c.n_ctx));
    const std::string norm =
        std::string(c.rms() ? "RMSNorm" : "LayerNorm") +
        (c.family == Family::Gemma || c.family == Family::Gemma2 || c.family == Family::Gemma3 ? " (1 + w)"
                                                                                               : "") +
        ", ε " + num(c.ln_eps) + (c.post_norms ? "; post-attention and post-MLP norms" : "") +
        (c.qk_norm ? "; q/k norms" : "");
    add("norm", "Norms", c.rms() ? "rmsnorm" : "layernorm", norm);
    add("activation", "Activation", activation_name(c.activation), activation_name(c.activation));
    add("residual", "Residual", c.parallel_residual ? "parallel" : "sequential",
        c.parallel_residual ? "parallel (attention and MLP read the same input)" : "sequential");
    if (c.has_learned_positions()) {
        add("positions", "Positions", "learned", "learned table");
    } else {
        json p = {{"rotary_dims", c.rotary_dims},
                  {"theta", c.rope.theta},
                  {"scaling", rope_scaling_name(c.rope.scaling)},
                  {"factor", c.rope.factor}};
        std::string text = "rotary over " + std::to_string(c.rotary_dims) + " of " +
                           std::to_string(c.d_head) + " dims, " + rope_text(c.rope);
        if (c.family == Family::Gemma3) {
            p["local_theta"] = c.rope_local.theta;
            text = "rotary, full layers " + rope_text(c.rope) + "; sliding layers " + rope_text(c.rope_local);
        }
        add("positions", "Positions", p, text);
    }
    json windows = json::array();
    for (int w : c.local_window)
        windows.push_back(w);
    add("sliding_windows", "Sliding windows", windows, windows_text(c));
    if (c.attn_softcap > 0 || c.final_softcap > 0)
        add("soft_caps", "Soft-caps", json{{"attention", c.attn_softcap}, {"final", c.final_softcap}},
            "attention " + num(c.attn_softcap) + ", final logits " + num(c.final_softcap));
    if (c.embed_scale != 1.0) add("embed_scale", "Embedding scale", c.embed_scale, "× " + num(c.embed_scale));
    add("tied_embeddings", "Unembedding", c.tie_word_embeddings,
        c.tie_word_embeddings ? "tied to the embedding" : "own");
    return f;
}

} // namespace obsprop::io
