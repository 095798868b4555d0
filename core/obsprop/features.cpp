#include "obsprop/features.h"

#include <cctype>
#include <cmath>
#include <stdexcept>

#include "model/hooks.h"
#include "model/transformer.h"

namespace obsprop {

using torch::Tensor;

namespace {

double default_rho(const FeatureOptions& o, const io::ModelConfig& c) {
    return o.default_rho > 0 ? o.default_rho : std::sqrt(static_cast<double>(c.d_model));
}

void check_layer(const io::ModelConfig& c, int layer) {
    if (layer < 0 || layer >= c.n_layers)
        throw std::invalid_argument("layer " + std::to_string(layer) + " does not exist (the model has " +
                                    std::to_string(c.n_layers) + " layers)");
}

void check_per_layer(const std::vector<double>& v, const io::ModelConfig& c, const char* what) {
    if (!v.empty() && static_cast<int>(v.size()) != c.n_layers)
        throw std::invalid_argument(std::string(what) + " must have one entry per layer (" +
                                    std::to_string(c.n_layers) + "), got " + std::to_string(v.size()));
}

// Row `layer` of a [L, d] residual table, with a readable error when it is missing.
Tensor residual_row(const Tensor& table, const io::ModelConfig& c, int layer, const char* what) {
    if (!table.defined())
        throw std::invalid_argument(std::string("exact LayerNorm treatment needs the ") + what +
                                    " input residuals (FeatureOptions or the path node's input)");
    if (table.dim() != 2 || table.size(0) != c.n_layers || table.size(1) != c.d_model)
        throw std::invalid_argument(std::string(what) + " residuals must be [n_layers, d_model] = [" +
                                    std::to_string(c.n_layers) + ", " + std::to_string(c.d_model) + "]");
    return table[layer];
}

FinalCovector make_final(const model::Transformer& m, const Observable& obs, const FeatureOptions& o,
                         bool drop) {
    const auto& c = m.config();
    const auto& w = m.weights();
    FinalCovector f;
    f.mode = o.final_ln;
    double softcap_offset = 0;   // the linearised soft-cap's constant
    Observable linearised = obs; // the weights on the logits before the cap
    if (c.final_softcap > 0 && o.final_ln != LnMode::None) {
        // Gemma 2's final soft-cap z' = cap·tanh(z/cap), linearised at the logits z₀ of the final residual
        // r₀: n·z' ≈ const + Σ_i n_i sech²(z₀_i/cap) z_i.
        if (!o.final_residual.defined() || o.final_residual.numel() != c.d_model)
            throw std::invalid_argument(
                "the final logit soft-cap is linearised at a final residual r0 (d_model = " +
                std::to_string(c.d_model) + " entries), which is missing");
        const Tensor normed = model::apply_norm(c, o.final_residual.to(torch::kDouble).reshape({-1}),
                                                w.lnf_w.to(torch::kDouble), w.lnf_b.to(torch::kDouble));
        Observable capped = obs;
        for (auto& [id, wt] : capped.terms) {
            const double z0 =
                (m.unembed_rows(torch::tensor({static_cast<std::int64_t>(id)}, torch::kLong))[0].to(
                     torch::kDouble) *
                 normed)
                    .sum()
                    .item<double>() +
                w.b_U[id].item<double>();
            const double t = std::tanh(z0 / c.final_softcap);
            // n_i z'_i ≈ n_i (cap·tanh(z₀/cap) − sech²·z₀) + n_i sech² z_i: the constant joins the offset.
            softcap_offset += wt * (c.final_softcap * t - (1.0 - t * t) * z0);
            wt *= 1.0 - t * t;
        }
        f.v_unembed = unembed_covector(m, capped);
        linearised = std::move(capped);
    } else {
        f.v_unembed = unembed_covector(m, obs);
    }
    switch (o.final_ln) {
    case LnMode::None:
        f.v_final = f.v_unembed;
        break;
    case LnMode::Approximate: {
        f.rho = drop ? 1.0 : (o.final_rho > 0 ? o.final_rho : std::sqrt(static_cast<double>(c.d_model)));
        f.v_final = ln_approx_grad(w.lnf_w, f.v_unembed, f.rho);
        break;
    }
    case LnMode::Exact: {
        if (!o.final_residual.defined() || o.final_residual.numel() != c.d_model)
            throw std::invalid_argument(
                "the exact ln_f treatment needs the final residual r0 with d_model = " +
                std::to_string(c.d_model) + " entries");
        double offset = softcap_offset; // n·b_U (+ the soft-cap's constant)
        for (const auto& [id, wt] : linearised.terms)
            offset += wt * w.b_U[id].item<double>();
        f.boundary = project_to_boundary(o.final_residual, w.lnf_w, w.lnf_b, f.v_unembed, offset, c.ln_eps,
                                         o.boundary_tol, o.boundary_max_iter, !c.rms());
        const Tensor g = drop ? ln_exact_grad(f.boundary->r_star, w.lnf_w.to(torch::kDouble),
                                              f.v_unembed.to(torch::kDouble), c.ln_eps, true, !c.rms())
                              : f.boundary->grad;
        f.v_final = g.to(torch::kFloat);
        break;
    }
    }
    return f;
}

} // namespace

Tensor pull_back_post_norm(const model::Transformer& m, int layer, PostNorm which, const Tensor& y,
                           const FeatureOptions& o, const Tensor& point) {
    const auto& c = m.config();
    if (!c.post_norms || o.block_ln == LnMode::None) return y;
    check_layer(c, layer);
    const auto& w = m.weights().layers[static_cast<std::size_t>(layer)];
    const Tensor& gamma = which == PostNorm::Attn ? w.post_attn_w : w.post_mlp_w;
    const char* what = which == PostNorm::Attn ? "post-attention norm" : "post-feed-forward norm";
    if (o.block_ln == LnMode::Approximate) {
        const auto& rhos = which == PostNorm::Attn ? o.rho_post_attn : o.rho_post_mlp;
        check_per_layer(rhos, c, what);
        double rho = !rhos.empty() && rhos[static_cast<std::size_t>(layer)] > 0
                         ? rhos[static_cast<std::size_t>(layer)]
                         : default_rho(o, c);
        return ln_approx_grad(gamma, y, rho);
    }
    Tensor a =
        point.defined()
            ? point
            : residual_row(which == PostNorm::Attn ? o.post_attn_points : o.post_mlp_points, c, layer, what);
    if (a.size(-1) != c.d_model)
        throw std::invalid_argument(std::string(what) + " point must have d_model entries");
    return ln_exact_grad(a.detach().to(y.scalar_type()), gamma, y, c.ln_eps, false, false)
        .to(y.scalar_type());
}

Tensor post_norm_jvp(const model::Transformer& m, int layer, PostNorm which, const Tensor& A,
                     const Tensor& delta) {
    const auto& c = m.config();
    check_layer(c, layer);
    const auto& w = m.weights().layers[static_cast<std::size_t>(layer)];
    const Tensor gamma = (which == PostNorm::Attn ? w.post_attn_w : w.post_mlp_w).to(delta.scalar_type());
    // RMSNorm N(a) = γ ⊙ a/s, s² = ‖a‖²/d + ε:  J δ = γ ⊙ (δ − a (a·δ)/(d s²)) / s.
    const Tensor a = A.to(delta.scalar_type());
    const double d = static_cast<double>(c.d_model);
    const Tensor s2 = (a * a).sum(-1, true) / d + c.ln_eps;
    return gamma * (delta - a * ((a * delta).sum(-1, true) / (d * s2))) / s2.sqrt();
}

double block_rho(const FeatureOptions& o, const io::ModelConfig& c, int layer, BlockLn which) {
    const auto& v = which == BlockLn::Ln1 ? o.rho_ln1 : o.rho_ln2;
    check_per_layer(v, c, which == BlockLn::Ln1 ? "rho_ln1" : "rho_ln2");
    check_layer(c, layer);
    if (!v.empty() && v[static_cast<std::size_t>(layer)] > 0) return v[static_cast<std::size_t>(layer)];
    return default_rho(o, c);
}

Tensor unembed_covector(const model::Transformer& m, const Observable& obs) {
    const auto& c = m.config();
    if (obs.terms.empty()) throw std::invalid_argument("observable '" + obs.name + "' has no terms");
    torch::NoGradGuard ng;
    std::vector<std::int64_t> ids;
    std::vector<double> wts;
    for (const auto& [id, wt] : obs.terms) {
        if (id < 0 || id >= c.d_vocab)
            throw std::invalid_argument("observable '" + obs.name + "' uses token id " + std::to_string(id) +
                                        ", outside the model's vocabulary of " + std::to_string(c.d_vocab));
        ids.push_back(id);
        wts.push_back(wt);
    }
    Tensor rows = m.unembed_rows(torch::tensor(ids, torch::kLong)).to(torch::kDouble);
    Tensor wv = torch::tensor(wts, torch::kDouble);
    return at::matmul(wv, rows).to(torch::kFloat);
}

FinalCovector final_covector(const model::Transformer& m, const Observable& obs, const FeatureOptions& opts) {
    torch::NoGradGuard ng;
    return make_final(m, obs, opts, false);
}

Tensor head_pullback(const model::Transformer& m, int layer, const Tensor& v) {
    const auto& c = m.config();
    check_layer(c, layer);
    if (v.size(-1) != c.d_model) throw std::invalid_argument("covector must have d_model entries");
    torch::NoGradGuard ng;
    const model::LayerWeights w = m.layer(layer, model::kValue | model::kOutput);
    const std::int64_t H = c.n_heads, dh = c.d_head, d = c.d_model;
    auto lead = v.sizes().vec();
    lead.pop_back();
    Tensor v2 = v.detach().to(torch::kFloat).reshape({-1, d}); // [K, d]
    Tensor q = at::matmul(v2, w.W_O).view({-1, H, dh});        // W_O^hᵀ v for all h: [K, H, dh]
    Tensor y =
        at::matmul(q.transpose(0, 1), model::value_weights_per_head(c, w)).transpose(0, 1); // [K, H, d]
    lead.push_back(H);
    lead.push_back(d);
    return y.reshape(lead);
}

Tensor pull_back_block_ln(const model::Transformer& m, int layer, BlockLn which, const Tensor& y,
                          const FeatureOptions& o, bool earliest, const Tensor& residual) {
    const auto& c = m.config();
    check_layer(c, layer);
    const auto& w = m.weights().layers[static_cast<std::size_t>(layer)];
    const Tensor& gamma = which == BlockLn::Ln1 ? w.ln1_w : w.ln2_w;
    const bool drop = earliest && o.drop_earliest_rho;
    switch (o.block_ln) {
    case LnMode::None:
        return y;
    case LnMode::Approximate: {
        const double rho = drop ? 1.0 : block_rho(o, c, layer, which);
        return ln_approx_grad(gamma, y, rho);
    }
    case LnMode::Exact: {
        Tensor x = residual.defined() ? residual
                                      : residual_row(which == BlockLn::Ln1 ? o.residuals : o.residuals_ln2, c,
                                                     layer, which == BlockLn::Ln1 ? "ln_1" : "ln_2");
        if (x.size(-1) != c.d_model) throw std::invalid_argument("a residual must have d_model entries");
        return ln_exact_grad(x.detach().to(y.scalar_type()), gamma, y, c.ln_eps, drop, !c.rms())
            .to(y.scalar_type());
    }
    }
    return y;
}

Tensor pull_back_ln1_all_layers(const model::Transformer& m, const Tensor& y, const FeatureOptions& o,
                                bool earliest) {
    const auto& c = m.config();
    const std::int64_t L = c.n_layers, d = c.d_model;
    if (y.dim() < 2 || y.size(0) != L || y.size(-1) != d)
        throw std::invalid_argument("pull_back_ln1_all_layers: expected [n_layers, ..., d_model]");
    if (o.block_ln == LnMode::None) return y;
    // Per-layer tensors shaped [L, 1, ..., 1, d] (or [L, 1, ..., 1]) to broadcast against y.
    std::vector<std::int64_t> shape(static_cast<std::size_t>(y.dim()), 1);
    shape[0] = L;
    shape.back() = d;
    std::vector<Tensor> gammas;
    for (const auto& w : m.weights().layers)
        gammas.push_back(w.ln1_w);
    const Tensor gamma = torch::stack(gammas).to(y.scalar_type()).view(shape);
    const bool drop = earliest && o.drop_earliest_rho;
    if (o.block_ln == LnMode::Approximate) {
        std::vector<double> f(static_cast<std::size_t>(L));
        for (int l = 0; l < L; ++l)
            f[static_cast<std::size_t>(l)] =
                std::sqrt(double(d)) / (drop ? 1.0 : block_rho(o, c, l, BlockLn::Ln1));
        shape.back() = 1;
        return y * gamma * torch::tensor(f, torch::kDouble).to(y.scalar_type()).view(shape);
    }
    residual_row(o.residuals, c, 0, "ln_1"); // validates the table
    return ln_exact_grad(o.residuals.detach().to(y.scalar_type()).view(shape), gamma, y, c.ln_eps, drop,
                         !c.rms())
        .to(y.scalar_type());
}

std::vector<FeatureSet> compute_head_features(const model::Transformer& m, const std::vector<Observable>& obs,
                                              const FeatureOptions& opts, const Progress& progress) {
    const auto& c = m.config();
    torch::NoGradGuard ng;
    report(progress, 0.0, "unembedding");
    std::vector<FeatureSet> out(obs.size());
    if (obs.empty()) return out;
    const std::int64_t K = static_cast<std::int64_t>(obs.size()), L = c.n_layers, H = c.n_heads,
                       d = c.d_model;
    std::vector<Tensor> finals;
    for (std::size_t k = 0; k < obs.size(); ++k) {
        FeatureSet& fs = out[k];
        fs.observable = obs[k].name;
        fs.final_ln = opts.final_ln;
        fs.block_ln = opts.block_ln;
        fs.dropped_earliest_rho = opts.drop_earliest_rho;
        // ln_f is the earliest treated LayerNorm of a direct path only when the block LayerNorms are ignored.
        fs.final = make_final(m, obs[k], opts, opts.drop_earliest_rho && opts.block_ln == LnMode::None);
        fs.head_inputs = torch::empty({L, H, d}, torch::kFloat);
        finals.push_back(fs.final.v_final.to(torch::kFloat));
    }
    // One pass over the weights for all observables: W_O and W_V of each layer are read once.
    const Tensor V = torch::stack(finals); // [K, d]
    for (int l = 0; l < L; ++l) {
        report(progress, static_cast<double>(l) / static_cast<double>(L), "head features");
        Tensor y = head_pullback(m, l, pull_back_post_norm(m, l, PostNorm::Attn, V, opts)); // [K, H, d]
        for (std::int64_t k = 0; k < K; ++k)
            out[static_cast<std::size_t>(k)].head_inputs[l].copy_(y[k]);
    }
    for (auto& fs : out) {
        fs.heads = pull_back_ln1_all_layers(m, fs.head_inputs, opts, true).contiguous();
        if (fs.heads.data_ptr() == fs.head_inputs.data_ptr()) fs.heads = fs.heads.clone();
        fs.norms = fs.heads.norm(2, {-1});
    }
    report(progress, 1.0, "head features");
    return out;
}

FeatureSet compute_head_features(const model::Transformer& m, const Observable& obs,
                                 const FeatureOptions& opts, const Progress& progress) {
    return std::move(compute_head_features(m, std::vector<Observable>{obs}, opts, progress).front());
}

std::string PathNode::label() const {
    if (is_embed()) return "embed";
    return is_mlp() ? "mlp" + std::to_string(layer)
                    : std::to_string(layer) + "." + std::to_string(head) + source_token::suffix(token);
}

std::vector<PathNode> whole_nodes(std::vector<PathNode> path) {
    for (auto& n : path)
        n = n.whole();
    return path;
}

std::vector<PathNode> parse_path(std::string_view text) {
    std::vector<PathNode> out;
    std::size_t i = 0;
    auto bad = [&](const std::string& why) {
        throw std::invalid_argument("path '" + std::string(text) + "', column " + std::to_string(i + 1) +
                                    ": " + why);
    };
    auto skip_ws = [&] {
        while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i])))
            ++i;
    };
    // Exactly one separator between two nodes: "->", ">" or "," (or white space alone).
    auto separator = [&]() -> bool {
        const std::size_t before = i;
        skip_ws();
        if (i >= text.size()) return false;
        if (text.substr(i, 2) == "->")
            i += 2;
        else if (text[i] == '>' || text[i] == ',')
            ++i;
        else if (i == before)
            bad("expected a separator ('->', '>' or ',') between nodes");
        skip_ws();
        if (i >= text.size()) bad("the path ends with a separator: a node (L.H or mlpL) must follow it");
        return true;
    };
    auto number = [&]() -> int {
        std::size_t b = i;
        while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])) && i - b < 7)
            ++i;
        if (i == b) bad("expected a node (L.H or mlpL)");
        if (i - b > 6) bad("layer or head number too large");
        return std::stoi(std::string(text.substr(b, i - b)));
    };
    // A head's source token: "@name", "@last", "@K" or "@-K" (none: every token).
    auto source = [&]() -> int {
        if (i >= text.size() || text[i] != '@') return source_token::kEveryToken;
        ++i;
        if (text.substr(i, 4) == "name") return i += 4, source_token::kSlotToken;
        if (text.substr(i, 4) == "last") return i += 4, -1;
        const bool minus = i < text.size() && text[i] == '-';
        if (minus) ++i;
        if (i >= text.size() || !std::isdigit(static_cast<unsigned char>(text[i])))
            bad("expected a source token after '@': name, last or a token index (negative from the end)");
        const int k = number();
        if (minus && k == 0) bad("token -0: the last token is -1");
        return minus ? -k : k;
    };
    skip_ws();
    if (i >= text.size()) throw std::invalid_argument("empty path");
    do {
        if (text.substr(i, 5) == "embed") {
            i += 5;
            out.push_back(PathNode::embed());
        } else if (text.substr(i, 3) == "mlp") {
            i += 3;
            out.push_back(PathNode::mlp(number()));
        } else {
            int l = number();
            if (i >= text.size() || text[i] != '.')
                bad("expected '.' after the layer (nodes are L.H or mlpL)");
            ++i;
            if (text.substr(i, 3) == "mlp") {
                i += 3;
                out.push_back(PathNode::mlp(l));
            } else {
                const int h = number();
                out.push_back(PathNode::attn(l, h, source()));
            }
        }
        if (i < text.size() && text[i] == '@') bad("only an attention head can be read at a source token");
    } while (separator());
    return out;
}

bool precedes(const io::ModelConfig& c, const PathNode& a, const PathNode& b) {
    // In a sequential block the MLP reads the attention's output; otherwise layers must increase.
    return a.layer < b.layer || (a.layer == b.layer && !c.parallel_residual && !a.is_mlp() && b.is_mlp());
}

void validate_path(const io::ModelConfig& c, const std::vector<PathNode>& path, bool patching) {
    if (path.empty()) throw std::invalid_argument("empty path");
    for (std::size_t i = 0; i < path.size(); ++i) {
        const auto& n = path[i];
        if (n.at_token() && !patching)
            throw std::invalid_argument("path node " + n.label() +
                                        ": a head at one source token is a node in path patching only (its "
                                        "feature vector is head " +
                                        n.whole().label() + "'s at every token)");
        if (n.is_embed()) {
            if (!patching)
                throw std::invalid_argument("path node embed: the embedding is a node in path patching only "
                                            "(it has no feature vector and cannot be steered)");
            if (i != 0)
                throw std::invalid_argument("path node embed: the embedding can only be a path's first node");
            continue;
        }
        if (n.layer < 0 || n.layer >= c.n_layers)
            throw std::invalid_argument("path node " + n.label() + ": the model has layers 0.." +
                                        std::to_string(c.n_layers - 1));
        if (!n.is_mlp() && n.head >= c.n_heads)
            throw std::invalid_argument("path node " + n.label() + ": the model has heads 0.." +
                                        std::to_string(c.n_heads - 1));
    }
    for (std::size_t i = 1; i < path.size(); ++i) {
        const auto& a = path[i - 1];
        const auto& b = path[i];
        if (!precedes(c, a, b))
            throw std::invalid_argument(
                "path " + a.label() + " -> " + b.label() +
                ": nodes must be in strictly increasing layers, earliest "
                "first" +
                std::string(c.parallel_residual ? "" : " (a head may feed its own layer's MLP)"));
    }
}

PathFeature pull_back_path(const model::Transformer& m, const Tensor& v, const std::vector<PathNode>& path,
                           const FeatureOptions& opts, const std::vector<PathNodeInput>& inputs) {
    const auto& c = m.config();
    validate_path(c, path);
    if (!inputs.empty() && inputs.size() != path.size())
        throw std::invalid_argument("path inputs must be empty or one per node (" +
                                    std::to_string(path.size()) + ")");
    if (!v.defined() || v.numel() != c.d_model)
        throw std::invalid_argument("covector must have d_model entries");
    torch::NoGradGuard ng;
    const std::int64_t H = c.n_heads, dh = c.d_head, d = c.d_model;
    PathFeature out;
    out.path = path;
    std::vector<MlpLinearisation> lin;
    Tensor y = v.detach().to(torch::kDouble).reshape({d});
    for (std::size_t k = path.size(); k-- > 0;) {
        const auto& n = path[k];
        const model::LayerWeights w =
            m.layer(n.layer, n.is_mlp() ? model::kMlp : model::kValue | model::kOutput);
        const bool earliest = k == 0;
        const Tensor residual = inputs.empty() ? Tensor() : inputs[k].residual;
        const Tensor post = inputs.empty() ? Tensor() : inputs[k].post_point;
        y = pull_back_post_norm(m, n.layer, n.is_mlp() ? PostNorm::Mlp : PostNorm::Attn, y, opts, post);
        if (!n.is_mlp()) {
            Tensor WO = w.W_O.view({d, H, dh}).select(1, n.head).to(torch::kDouble); // [d, dh]
            Tensor WV = w.Wv[c.kv_head_of(n.head)].to(torch::kDouble);               // [dh, d]
            y = at::matmul(at::matmul(y, WO), WV);
            y = pull_back_block_ln(m, n.layer, BlockLn::Ln1, y, opts, earliest, residual);
        } else {
            const bool chosen = !inputs.empty() && inputs[k].ln2_inputs.defined();
            if (!chosen && (inputs.empty() || !inputs[k].u_plus.defined() || !inputs[k].u_minus.defined()))
                throw std::invalid_argument("MLP node " + n.label() +
                                            " needs its inputs (u_plus and u_minus, or ln2_inputs)");
            MlpLinearisation l;
            Tensor x_star = residual;
            if (chosen) {
                const Tensor& X = inputs[k].ln2_inputs;
                if (X.dim() != 2 || X.size(0) < 1 || X.size(1) != d)
                    throw std::invalid_argument("MLP node " + n.label() +
                                                ": ln2_inputs must be [prompts, d_model] with a prompt");
                const Tensor Xd = X.detach().to(torch::kDouble);
                const auto& norms = m.weights().layers[static_cast<std::size_t>(n.layer)];
                const Tensor U = model::apply_norm(c, Xd, norms.ln2_w, norms.ln2_b); // the MLP's inputs
                const Tensor f = mlp_functionals(m, n.layer, U, y);
                const auto ip = f.argmax().item<std::int64_t>(), im = f.argmin().item<std::int64_t>();
                l = linearise_mlp(m, n.layer, U[ip], U[im], y);
                l.prompt_plus = static_cast<int>(ip), l.prompt_minus = static_cast<int>(im);
                if (!x_star.defined()) x_star = Xd[im] * (1.0 - l.t_star) + Xd[ip] * l.t_star;
            } else {
                l = linearise_mlp(m, n.layer, inputs[k].u_plus, inputs[k].u_minus, y);
            }
            y = mlp_gradient(m, n.layer, l.u_star, y);
            lin.push_back(std::move(l));
            y = pull_back_block_ln(m, n.layer, BlockLn::Ln2, y, opts, earliest, x_star);
        }
    }
    out.mlp.assign(lin.rbegin(), lin.rend());
    out.feature = y.to(torch::kFloat);
    out.norm = y.norm().item<double>();
    const auto& first = path.front();
    out.hook = model::hook_name(first.layer,
                                first.is_mlp() && !c.parallel_residual ? "hook_resid_mid" : "hook_resid_pre");
    return out;
}

PathFeature compute_path_feature(const model::Transformer& m, const Observable& obs,
                                 const std::vector<PathNode>& path, const FeatureOptions& opts,
                                 const std::vector<PathNodeInput>& inputs) {
    validate_path(m.config(), path);
    torch::NoGradGuard ng;
    FinalCovector f = make_final(m, obs, opts, opts.drop_earliest_rho && opts.block_ln == LnMode::None);
    PathFeature p = pull_back_path(m, f.v_final, path, opts, inputs);
    p.final = std::move(f);
    return p;
}

} // namespace obsprop
