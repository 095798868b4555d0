#include "model/transformer.h"

#include <cmath>
#include <limits>
#include <numbers>
#include <stdexcept>

#include "io/safetensors.h"

namespace obsprop::model {

using torch::Tensor;

Batch Batch::from(const std::vector<std::vector<int>>& prompts) {
    if (prompts.empty()) throw std::invalid_argument("no prompts to run");
    std::int64_t T = 0;
    for (const auto& p : prompts) {
        if (p.empty()) throw std::invalid_argument("a prompt has no tokens");
        T = std::max<std::int64_t>(T, static_cast<std::int64_t>(p.size()));
    }
    Batch b;
    b.ids = torch::zeros({static_cast<std::int64_t>(prompts.size()), T}, torch::kLong);
    auto acc = b.ids.accessor<std::int64_t, 2>();
    for (std::size_t i = 0; i < prompts.size(); ++i) {
        for (std::size_t t = 0; t < prompts[i].size(); ++t)
            acc[i][t] = prompts[i][t];
        b.lengths.push_back(static_cast<std::int64_t>(prompts[i].size()));
    }
    return b;
}

Tensor Batch::last_positions() const {
    auto t = torch::empty({size()}, torch::kLong);
    for (std::int64_t i = 0; i < size(); ++i)
        t[i] = lengths[i] - 1;
    return t;
}

std::shared_ptr<Transformer> Transformer::load(const std::filesystem::path& dir) {
    std::shared_ptr<Transformer> m(new Transformer());
    m->dir_ = dir;
    m->cfg_ = io::load_model_config(dir);
    m->ckpt_ = std::make_unique<io::Checkpoint>(io::Checkpoint::open(dir));
    m->w_ = load_weights(*m->ckpt_, m->cfg_);
    m->widen_ = std::make_unique<WidenCache>(memory_budget(), m->ckpt_.get());
    return m;
}

std::shared_ptr<Transformer> Transformer::from_weights(const io::ModelConfig& cfg, Weights w) {
    std::shared_ptr<Transformer> m(new Transformer());
    m->cfg_ = cfg;
    if (m->cfg_.n_kv_heads == 0) m->cfg_.n_kv_heads = cfg.n_heads; // a configuration built in code
    if (cfg.n_heads <= 0 || m->cfg_.n_heads % m->cfg_.n_kv_heads != 0)
        throw std::invalid_argument("the configuration's heads (" + std::to_string(cfg.n_heads) +
                                    ") are not a multiple of its key/value heads (" +
                                    std::to_string(m->cfg_.n_kv_heads) + ")");
    if (static_cast<int>(w.layers.size()) != cfg.n_layers)
        throw std::invalid_argument("weights have " + std::to_string(w.layers.size()) +
                                    " layers, the configuration " + std::to_string(cfg.n_layers));
    if (!w.b_U.defined()) w.b_U = torch::zeros({cfg.d_vocab});
    w.all_f32 = true;
    auto f32 = [&](const Tensor& t) {
        if (t.defined() && t.scalar_type() != torch::kFloat) w.all_f32 = false;
    };
    f32(w.W_E), f32(w.W_U), f32(w.W_pos);
    for (const auto& l : w.layers)
        for (const Tensor* t : {&l.Wq, &l.Wk, &l.Wv, &l.W_qkv, &l.W_O, &l.W_gate, &l.W_in, &l.W_out})
            f32(*t);
    m->w_ = std::move(w);
    m->widen_ = std::make_unique<WidenCache>(memory_budget(), nullptr);
    return m;
}

Transformer::~Transformer() = default;

std::uint64_t Transformer::checkpoint_bytes() const {
    return ckpt_ ? ckpt_->total_bytes() : 0;
}

LayerWeights Transformer::layer(int l, unsigned parts) const {
    if (l < 0 || l >= cfg_.n_layers)
        throw std::out_of_range("no layer " + std::to_string(l) + " (the model has " +
                                std::to_string(cfg_.n_layers) + ")");
    LayerWeights w = w_.layers[static_cast<std::size_t>(l)];
    if (w_.all_f32) return w;
    const std::string of = "layer " + std::to_string(l) + "'s ";
    auto get = [&](int index, Tensor& t, const char* name) {
        if (t.defined()) t = widen_->get(l, index, t, of + name);
    };
    if (w.W_qkv.defined() && (parts & kQueryKey)) {
        get(0, w.W_qkv, "fused query/key/value matrix");
        split_fused_qkv(cfg_, w);
    } else {
        if (parts & kQueryKey) get(1, w.Wq, "query matrix"), get(2, w.Wk, "key matrix");
        if (parts & kValue) get(3, w.Wv, "value matrix");
    }
    if (parts & kOutput) get(4, w.W_O, "output matrix");
    if (parts & kMlp)
        get(5, w.W_gate, "MLP gate matrix"), get(6, w.W_in, "MLP input matrix"),
            get(7, w.W_out, "MLP output matrix");
    return w;
}

Tensor Transformer::embed(const Tensor& ids) const {
    auto shape = ids.sizes().vec();
    shape.push_back(cfg_.d_model);
    return w_.W_E.index_select(0, ids.reshape(-1)).to(torch::kFloat).view(shape);
}

Tensor Transformer::positions(std::int64_t T) const {
    if (!w_.W_pos.defined()) return {};
    return w_.W_pos.narrow(0, 0, T).to(torch::kFloat);
}

Tensor Transformer::unembed_rows(const Tensor& ids) const {
    return w_.W_U.index_select(0, ids.reshape(-1)).to(torch::kFloat);
}

Tensor Transformer::unembed(const Tensor& x) const {
    if (w_.W_U.scalar_type() == torch::kFloat) return at::matmul(x, w_.W_U.t());
    // Blocks of 8192 rows (a 32 MB float32 copy at d_model = 1024): the whole matrix is never widened at
    // once.
    const std::int64_t V = w_.W_U.size(0), block = 8192;
    std::vector<Tensor> parts;
    for (std::int64_t s = 0; s < V; s += block) {
        const Tensor rows = widen_->convert(w_.W_U.narrow(0, s, std::min(block, V - s)), "a block of W_U", 8);
        parts.push_back(at::matmul(x, rows.t()));
    }
    return torch::cat(parts, -1);
}

WideningStats Transformer::widening() const {
    return widen_ ? widen_->stats() : WideningStats{};
}

Tensor Transformer::layer_norm(const Tensor& x, const Tensor& w, const Tensor& b) const {
    return apply_norm(cfg_, x, w, b);
}

Tensor apply_norm(const io::ModelConfig& c, const Tensor& x, const Tensor& w, const Tensor& b) {
    if (!c.rms())
        return at::layer_norm(x, {x.size(-1)}, w.to(x.scalar_type()), b.to(x.scalar_type()), c.ln_eps);
    // As Hugging Face's RMSNorm: x · rsqrt(mean(x²) + ε), then × γ (β is zero).
    return x * at::rsqrt(x.pow(2).mean(-1, true) + c.ln_eps) * w.to(x.scalar_type());
}

Tensor soft_cap(const Tensor& x, double cap) {
    if (cap <= 0) return x;
    return at::tanh(x / cap) * cap;
}

Tensor activate(io::Activation a, const Tensor& x) {
    switch (a) {
    case io::Activation::GeluTanh:
        return at::gelu(x, "tanh");
    case io::Activation::GeluErf:
        return at::gelu(x);
    case io::Activation::Relu:
        return at::relu(x);
    case io::Activation::Silu:
        return at::silu(x);
    }
    throw std::logic_error("unknown activation");
}

Tensor rope_inverse_frequencies(const io::RopeSpec& rope, std::int64_t rd) {
    // Hugging Face, float32: inv_freq = 1 / θ^(arange(0, rd, 2) / rd).
    Tensor inv =
        1.0 / torch::pow(torch::tensor(rope.theta, torch::kFloat),
                         torch::arange(0, rd, 2, torch::kLong).to(torch::kFloat) / static_cast<double>(rd));
    switch (rope.scaling) {
    case io::RopeSpec::Scaling::None:
        return inv;
    case io::RopeSpec::Scaling::Linear:
        return inv / rope.factor;
    case io::RopeSpec::Scaling::Llama3: {
        // Wavelengths longer than original/low_freq_factor are slowed by `factor`, shorter than
        // original/high_freq_factor kept, and the band between interpolated smoothly.
        const double low_wavelen = rope.original_max_positions / rope.low_freq_factor;
        const double high_wavelen = rope.original_max_positions / rope.high_freq_factor;
        Tensor wavelen = 2 * std::numbers::pi / inv;
        Tensor scaled = torch::where(wavelen > low_wavelen, inv / rope.factor, inv);
        Tensor smooth = (rope.original_max_positions / wavelen - rope.low_freq_factor) /
                        (rope.high_freq_factor - rope.low_freq_factor);
        Tensor smoothed = (1 - smooth) * scaled / rope.factor + smooth * scaled;
        Tensor medium = (wavelen >= high_wavelen).logical_and(wavelen <= low_wavelen);
        return torch::where(medium, smoothed, scaled);
    }
    }
    return inv;
}

// One forward pass: holds the options and applies hooks by name.
class Transformer::Pass {
  public:
    Pass(const Transformer& m, const RunOptions& o, ActivationCache* cache)
        : m_(m), c_(m.cfg_), w_(m.w_), o_(o), cache_(cache),
          any_(!o.hooks.empty() || (cache && !o.cache.empty())) {}

    Tensor run(const Batch& batch, int start = 0, const Tensor& resid = {}) {
        const Tensor& ids = batch.ids;
        if (ids.dim() != 2 || ids.scalar_type() != torch::kLong)
            throw std::invalid_argument("token ids must be a [batch, positions] int64 tensor");
        const std::int64_t B = ids.size(0), T = ids.size(1);
        if (T > c_.n_ctx)
            throw std::invalid_argument("prompt of " + std::to_string(T) +
                                        " tokens exceeds the model's context of " + std::to_string(c_.n_ctx));
        if (B != batch.size()) throw std::invalid_argument("batch lengths do not match the id tensor");
        if (ids.numel() > 0 &&
            (ids.min().item<std::int64_t>() < 0 || ids.max().item<std::int64_t>() >= c_.d_vocab))
            throw std::invalid_argument("token id out of range for a vocabulary of " +
                                        std::to_string(c_.d_vocab));

        Tensor x;
        if (!resid.defined()) {
            Tensor e = m_.embed(ids);
            if (c_.embed_scale != 1.0) e = e * c_.embed_scale; // Gemma: × float32(√d)
            x = hook("hook_embed", e);
            if (w_.W_pos.defined())
                x = x + hook("hook_pos_embed", m_.positions(T).unsqueeze(0).expand({B, T, c_.d_model}));
        } else {
            if (start < 0 || start >= c_.n_layers)
                throw std::invalid_argument("no layer " + std::to_string(start) + " to resume at");
            if (resid.dim() != 3 || resid.size(0) != B || resid.size(1) != T || resid.size(2) != c_.d_model)
                throw std::invalid_argument("the residual to resume from does not match the batch");
            x = resid;
        }
        if (c_.rotary_dims > 0) {
            rot_ = make_rotary(c_.rope, T);
            if (c_.rope_local != c_.rope) rot_local_ = make_rotary(c_.rope_local, T);
        }

        for (int l = start; l < c_.n_layers; ++l) {
            if (o_.before_layer) o_.before_layer(l);
            if (l == o_.stop_before_layer)
                return hook(any_ ? "blocks." + std::to_string(l) + ".hook_resid_pre" : std::string(), x);
            x = block(l, x);
        }

        if (o_.last_logits_only) {
            Tensor idx = batch.last_positions().view({B, 1, 1}).expand({B, 1, c_.d_model});
            x = x.gather(1, idx); // [B, 1, d]
        }
        if (o_.final_residual_only) return o_.last_logits_only ? x.squeeze(1) : x;
        x = norm(x, w_.lnf_w, w_.lnf_b, "ln_final");
        Tensor logits = soft_cap(m_.unembed(x), c_.final_softcap);
        return o_.last_logits_only ? logits.squeeze(1) : logits;
    }

  private:
    bool wants(const std::string& name) const {
        return any_ && (o_.hooks.count(name) || (cache_ && o_.cache.count(name)));
    }

    Tensor hook(const std::string& name, Tensor x) {
        if (!any_) return x;
        if (auto it = o_.hooks.find(name); it != o_.hooks.end()) {
            for (const auto& fn : it->second) {
                Tensor y = fn(x, name);
                if (!y.defined() || y.sizes() != x.sizes())
                    throw std::invalid_argument("hook on " + name + " returned a tensor of the wrong shape");
                x = y;
            }
        }
        if (cache_ && o_.cache.count(name)) (*cache_)[name] = x;
        return x;
    }

    Tensor norm(const Tensor& x, const Tensor& w, const Tensor& b, const std::string& prefix) {
        const std::string s = prefix + ".hook_scale", n = prefix + ".hook_normalized";
        if (!wants(s) && !wants(n)) return apply_norm(c_, x, w, b);
        Tensor xc = c_.rms() ? x : x - x.mean(-1, true);
        Tensor scale = hook(s, (xc.pow(2).mean(-1, true) + c_.ln_eps).sqrt());
        Tensor normalized = hook(n, xc / scale);
        return c_.rms() ? normalized * w : normalized * w + b;
    }

    struct Rotary {
        Tensor cos, sin; // [1, T, 1, rotary_dims]
    };

    Rotary make_rotary(const io::RopeSpec& rope, std::int64_t T) const {
        const std::int64_t rd = c_.rotary_dims;
        // As Hugging Face computes them, in float32: inv_freq_i = θ^(-2i/rd), rescaled per rope_scaling, and
        // angle = position · inv_freq.
        Tensor inv = rope_inverse_frequencies(rope, rd);
        Tensor t = torch::arange(T, torch::kFloat);
        Tensor freqs = at::outer(t, inv);            // [T, rd/2]
        Tensor emb = torch::cat({freqs, freqs}, -1); // [T, rd]
        return {emb.cos().view({1, T, 1, rd}), emb.sin().view({1, T, 1, rd})};
    }

    Tensor rotate(const Tensor& x, const Rotary& r) const { // x [B, T, heads, dh]
        const std::int64_t rd = c_.rotary_dims, dh = x.size(-1);
        Tensor xr = x.narrow(-1, 0, rd);
        Tensor half = torch::cat({-xr.narrow(-1, rd / 2, rd / 2), xr.narrow(-1, 0, rd / 2)}, -1);
        Tensor rotated = xr * r.cos + half * r.sin;
        if (rd == dh) return rotated;
        return torch::cat({rotated, x.narrow(-1, rd, dh - rd)}, -1);
    }

    Tensor attention(const LayerWeights& w, int l, const Tensor& x) {
        const std::int64_t B = x.size(0), T = x.size(1), H = c_.n_heads, K = c_.n_kv_heads, dh = c_.d_head,
                           d = c_.d_model;
        const std::string p = "blocks." + std::to_string(l) + ".attn.";
        Tensor q, k, v;
        if (w.W_qkv.defined()) {
            Tensor qkv = at::linear(x, w.W_qkv, w.b_qkv);
            if (w.qkv_head_major) {
                qkv = qkv.view({B, T, H, 3, dh});
                q = qkv.select(3, 0), k = qkv.select(3, 1), v = qkv.select(3, 2);
            } else {
                qkv = qkv.view({B, T, 3, H, dh});
                q = qkv.select(2, 0), k = qkv.select(2, 1), v = qkv.select(2, 2);
            }
        } else {
            q = at::linear(x, w.Wq.reshape({H * dh, d}), w.bq.reshape({H * dh})).view({B, T, H, dh});
            k = at::linear(x, w.Wk.reshape({K * dh, d}), w.bk.reshape({K * dh})).view({B, T, K, dh});
            v = at::linear(x, w.Wv.reshape({K * dh, d}), w.bv.reshape({K * dh})).view({B, T, K, dh});
        }
        if (c_.qk_norm) { // Qwen 3, Gemma 3: RMSNorm over each head's dimensions, before the rotation
            q = apply_norm(c_, q, w.q_norm_w, w.q_norm_w);
            k = apply_norm(c_, k, w.k_norm_w, w.k_norm_w);
        }
        if (any_) q = hook(p + "hook_q", q), k = hook(p + "hook_k", k), v = hook(p + "hook_v", v);
        if (c_.rotary_dims > 0) {
            const Rotary& r =
                rot_local_.cos.defined() && &c_.rope_of(l) == &c_.rope_local ? rot_local_ : rot_;
            q = rotate(q, r), k = rotate(k, r);
        }
        if (K != H) { // grouped-query attention: query head h reads KV head h / (H / K)
            k = k.repeat_interleave(H / K, 2);
            v = v.repeat_interleave(H / K, 2);
        }

        Tensor qh = q.permute({0, 2, 1, 3}), kh = k.permute({0, 2, 1, 3}), vh = v.permute({0, 2, 1, 3});
        double scale = c_.attn_scale / (c_.scale_by_inverse_layer ? static_cast<double>(l + 1) : 1.0);
        Tensor scores = at::matmul(qh, kh.transpose(-1, -2));
        if (scale != 1.0) scores = scores * scale;
        scores = soft_cap(scores, c_.attn_softcap); // Gemma 2: before the mask
        // allowed(i, j) = j <= i, and for a sliding-window layer also j > i - window.
        Tensor i = torch::arange(T, torch::kLong).view({T, 1}),
               j = torch::arange(T, torch::kLong).view({1, T});
        Tensor allowed = j <= i;
        if (c_.is_local(l)) allowed = allowed & (j > i - c_.local_window[l]);
        scores = scores.masked_fill(allowed.logical_not(), -std::numeric_limits<float>::infinity());
        Tensor pattern = hook(p + "hook_pattern", at::softmax(scores, -1));
        Tensor z = hook(p + "hook_z", at::matmul(pattern, vh).permute({0, 2, 1, 3})); // [B, T, H, dh]
        if (wants(p + "hook_result")) {
            Tensor WO = w.W_O.view({d, H, dh});
            Tensor result = hook(p + "hook_result", at::einsum("bthe,dhe->bthd", {z, WO}));
            return result.sum(2) + w.b_O;
        }
        return at::linear(z.reshape({B, T, H * dh}), w.W_O, w.b_O);
    }

    Tensor mlp(const LayerWeights& w, int l, const Tensor& x) {
        const std::string p = "blocks." + std::to_string(l) + ".mlp.";
        if (c_.gated_mlp) { // down(act(gate(x)) ⊙ up(x)); hook names as TransformerLens's gated MLP
            Tensor pre = hook(p + "hook_pre", at::linear(x, w.W_gate, w.b_gate));
            Tensor lin = hook(p + "hook_pre_linear", at::linear(x, w.W_in, w.b_in));
            Tensor post = hook(p + "hook_post", activate(c_.activation, pre) * lin);
            return at::linear(post, w.W_out, w.b_out);
        }
        Tensor pre = hook(p + "hook_pre", at::linear(x, w.W_in, w.b_in));
        Tensor post = hook(p + "hook_post", activate(c_.activation, pre));
        return at::linear(post, w.W_out, w.b_out);
    }

    Tensor block(int l, Tensor x) {
        const LayerWeights w = m_.layer(l); // float32, widened now if stored narrower
        const std::string p = any_ ? "blocks." + std::to_string(l) + "." : std::string();
        x = hook(p + "hook_resid_pre", x);
        if (c_.post_norms) { // Gemma 2/3: each sublayer's output is normalised before it is added
            Tensor a = attention(w, l, norm(x, w.ln1_w, w.ln1_b, p + "ln1"));
            x = hook(p + "hook_resid_mid",
                     x + hook(p + "hook_attn_out", norm(a, w.post_attn_w, w.ln1_b, p + "ln1_post")));
            Tensor mo = mlp(w, l, norm(x, w.ln2_w, w.ln2_b, p + "ln2"));
            x = x + hook(p + "hook_mlp_out", norm(mo, w.post_mlp_w, w.ln2_b, p + "ln2_post"));
            return hook(p + "hook_resid_post", x);
        }
        Tensor attn_out = hook(p + "hook_attn_out", attention(w, l, norm(x, w.ln1_w, w.ln1_b, p + "ln1")));
        if (c_.parallel_residual) {
            Tensor mlp_out = hook(p + "hook_mlp_out", mlp(w, l, norm(x, w.ln2_w, w.ln2_b, p + "ln2")));
            x = x + attn_out + mlp_out;
        } else {
            x = hook(p + "hook_resid_mid", x + attn_out);
            x = x + hook(p + "hook_mlp_out", mlp(w, l, norm(x, w.ln2_w, w.ln2_b, p + "ln2")));
        }
        return hook(p + "hook_resid_post", x);
    }

    const Transformer& m_;
    const io::ModelConfig& c_;
    const Weights& w_;
    const RunOptions& o_;
    ActivationCache* cache_;
    bool any_;
    Rotary rot_, rot_local_;
};

Tensor Transformer::forward(const Batch& batch, const RunOptions& opts, ActivationCache* cache) const {
    Pass pass(*this, opts, cache);
    return pass.run(batch);
}

Tensor Transformer::forward_from(int layer, const Tensor& resid_pre, const Batch& batch,
                                 const RunOptions& opts, ActivationCache* cache) const {
    Pass pass(*this, opts, cache);
    return pass.run(batch, layer, resid_pre);
}

Tensor Transformer::run_with_cache(const Batch& batch, const std::set<std::string>& names,
                                   ActivationCache& cache, bool last_logits_only) const {
    RunOptions o;
    o.cache = names;
    o.last_logits_only = last_logits_only;
    return forward(batch, o, &cache);
}

Tensor Transformer::run_with_hooks(const Batch& batch,
                                   const std::map<std::string, std::vector<HookFn>>& hooks,
                                   bool last_logits_only) const {
    RunOptions o;
    o.hooks = hooks;
    o.last_logits_only = last_logits_only;
    return forward(batch, o);
}

} // namespace obsprop::model
