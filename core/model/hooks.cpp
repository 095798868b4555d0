#include "model/hooks.h"

#include <stdexcept>

namespace obsprop::model {

using torch::Tensor;

HookFn add_vector_at(Tensor vec, std::vector<std::int64_t> positions) {
    return [vec = std::move(vec), positions = std::move(positions)](const Tensor& act,
                                                                    const std::string& name) {
        if (act.dim() != 3)
            throw std::invalid_argument("add_vector_at: " + name + " is not a [batch, pos, d] activation");
        if (static_cast<std::int64_t>(positions.size()) != act.size(0))
            throw std::invalid_argument("add_vector_at: one position per prompt is needed at " + name);
        if (vec.dim() != 1 || vec.size(0) != act.size(2))
            throw std::invalid_argument("add_vector_at: vector of size " + std::to_string(vec.numel()) +
                                        " does not fit " + name + " (d = " + std::to_string(act.size(2)) +
                                        ")");
        Tensor mask = torch::zeros({act.size(0), act.size(1), 1}, act.options());
        for (std::int64_t b = 0; b < act.size(0); ++b) {
            if (positions[b] == -1) {
                mask[b].fill_(1.0);
                continue;
            }
            if (positions[b] < 0 || positions[b] >= act.size(1))
                throw std::invalid_argument("add_vector_at: position " + std::to_string(positions[b]) +
                                            " is outside the prompt at " + name);
            mask[b][positions[b]][0] = 1.0;
        }
        return act + mask * vec.to(act.dtype());
    };
}

HookFn replace_with(Tensor value) {
    return [value = std::move(value)](const Tensor& act, const std::string& name) {
        if (value.sizes() != act.sizes())
            throw std::invalid_argument("replace_with: shape mismatch at " + name);
        return value;
    };
}

HookFn patch_head_z(std::int64_t head, Tensor source_z) {
    return [head, src = std::move(source_z)](const Tensor& z, const std::string& name) {
        if (z.dim() != 4 || src.sizes() != z.sizes())
            throw std::invalid_argument("patch_head_z: source z does not match " + name);
        if (head < 0 || head >= z.size(2))
            throw std::invalid_argument("patch_head_z: no head " + std::to_string(head) + " at " + name);
        Tensor out = z.clone();
        out.select(2, head).copy_(src.select(2, head));
        return out;
    };
}

std::string hook_name(int layer, const std::string& local) {
    return "blocks." + std::to_string(layer) + "." + local;
}

std::vector<std::string> all_hook_names(const io::ModelConfig& c) {
    std::vector<std::string> out{"hook_embed"};
    if (c.has_learned_positions()) out.push_back("hook_pos_embed");
    for (int l = 0; l < c.n_layers; ++l) {
        for (const char* s :
             {"hook_resid_pre", "ln1.hook_scale", "ln1.hook_normalized", "attn.hook_q", "attn.hook_k",
              "attn.hook_v", "attn.hook_pattern", "attn.hook_z", "attn.hook_result"})
            out.push_back(hook_name(l, s));
        if (c.post_norms) {
            out.push_back(hook_name(l, "ln1_post.hook_scale"));
            out.push_back(hook_name(l, "ln1_post.hook_normalized"));
        }
        out.push_back(hook_name(l, "hook_attn_out"));
        if (!c.parallel_residual) out.push_back(hook_name(l, "hook_resid_mid"));
        for (const char* s : {"ln2.hook_scale", "ln2.hook_normalized", "mlp.hook_pre"})
            out.push_back(hook_name(l, s));
        if (c.gated_mlp) out.push_back(hook_name(l, "mlp.hook_pre_linear"));
        out.push_back(hook_name(l, "mlp.hook_post"));
        if (c.post_norms) {
            out.push_back(hook_name(l, "ln2_post.hook_scale"));
            out.push_back(hook_name(l, "ln2_post.hook_normalized"));
        }
        out.push_back(hook_name(l, "hook_mlp_out"));
        out.push_back(hook_name(l, "hook_resid_post"));
    }
    out.push_back("ln_final.hook_scale");
    out.push_back("ln_final.hook_normalized");
    return out;
}

} // namespace obsprop::model
