#include "obsprop/prompts.h"

#include <algorithm>
#include <stdexcept>

namespace obsprop {

using torch::Tensor;

PromptBatch PromptBatch::subset(const std::vector<int>& which) const {
    PromptBatch out;
    for (int i : which) {
        out.ids.push_back(ids.at(static_cast<std::size_t>(i)));
        out.positions.push_back(positions.at(static_cast<std::size_t>(i)));
    }
    return out;
}

int ObservableMatrix::row(const std::string& name) const {
    for (std::size_t k = 0; k < names.size(); ++k)
        if (names[k] == name) return static_cast<int>(k);
    throw std::invalid_argument("no observable named '" + name + "'");
}

void PromptBatch::check(bool every_token) const {
    if (ids.empty()) throw std::invalid_argument("the dataset has no prompts");
    if (positions.size() != ids.size()) throw std::invalid_argument("every prompt needs a token position");
    for (std::size_t i = 0; i < ids.size(); ++i)
        if ((positions[i] < 0 && !(every_token && positions[i] == -1)) ||
            positions[i] >= static_cast<int>(ids[i].size()))
            throw std::invalid_argument("prompt " + std::to_string(i) + ": position " +
                                        std::to_string(positions[i]) + " is outside its " +
                                        std::to_string(ids[i].size()) + " tokens");
}

PromptBatch cut_after(const PromptBatch& b, const std::vector<int>& read) {
    if (read.size() != b.ids.size()) throw std::invalid_argument("cut_after: one token per prompt is needed");
    PromptBatch out;
    for (std::size_t i = 0; i < b.ids.size(); ++i) {
        const int n = static_cast<int>(b.ids[i].size());
        if (read[i] < 0 || read[i] >= n)
            throw std::invalid_argument("prompt " + std::to_string(i) + ": token " + std::to_string(read[i]) +
                                        " is outside its " + std::to_string(n) + " tokens");
        out.ids.emplace_back(b.ids[i].begin(), b.ids[i].begin() + read[i] + 1);
        if (i < b.positions.size()) out.positions.push_back(std::min(b.positions[i], read[i]));
    }
    return out;
}

namespace {

// Runs `fn(first, chunk)` over consecutive chunks, reporting progress.
template <typename Fn>
void chunked(std::size_t n, int chunk, const Progress& progress, std::string_view stage, Fn fn) {
    for (std::size_t first = 0; first < n; first += static_cast<std::size_t>(chunk)) {
        report(progress, static_cast<double>(first) / static_cast<double>(n), stage);
        fn(first, std::min(n, first + static_cast<std::size_t>(chunk)));
    }
    report(progress, 1.0, stage);
}

std::vector<int> range(std::size_t a, std::size_t b) {
    std::vector<int> r;
    for (std::size_t i = a; i < b; ++i)
        r.push_back(static_cast<int>(i));
    return r;
}

} // namespace

std::vector<int> aligned_pairs(const PromptBatch& clean, const PromptBatch& corrupt,
                               const std::string& analysis) {
    if (clean.size() != corrupt.size())
        throw std::invalid_argument("clean and corrupted prompt lists differ in length");
    if (clean.ids.empty()) throw std::invalid_argument("no prompt pairs for " + analysis);
    std::vector<int> aligned;
    for (std::size_t i = 0; i < clean.size(); ++i)
        if (clean.ids[i].size() == corrupt.ids[i].size()) aligned.push_back(static_cast<int>(i));
    if (aligned.empty())
        throw std::invalid_argument(
            "no prompt pair has clean and corrupted prompts of the same length (pair 0: " +
            std::to_string(clean.ids[0].size()) + " and " + std::to_string(corrupt.ids[0].size()) +
            " tokens); " + analysis + " patches every position, so a pair must align");
    return aligned;
}

int prompts_per_pass(const io::ModelConfig& c, const PromptBatch& prompts, int most) {
    std::size_t longest = 1;
    for (const auto& p : prompts.ids)
        longest = std::max(longest, p.size());
    // Per token and layer: Q, K, V and output projections (4d²) and the MLP (2·d·d_mlp).
    const double per_token = 4.0 * c.d_model * c.d_model + 2.0 * c.d_model * c.d_mlp;
    const double fit = 2.5e9 / (per_token * static_cast<double>(longest));
    return static_cast<int>(std::clamp(fit, 1.0, static_cast<double>(std::max(1, most))));
}

void report_each_layer(model::RunOptions& o, const model::Transformer& m, const Progress& progress,
                       double begin, double end, std::string stage) {
    if (!progress) return;
    const double L = m.config().n_layers;
    o.before_layer = [progress, begin, end, L, stage = std::move(stage)](int layer) {
        report(progress, begin + (end - begin) * layer / L, stage);
    };
}

Tensor unembedding_covectors(const model::Transformer& m, const ObservableMatrix& obs) {
    Tensor used = obs.n.ne(0).any(0).nonzero().view(-1); // token ids with a nonzero weight somewhere
    return at::matmul(obs.n.index_select(1, used).to(torch::kDouble),
                      m.unembed_rows(used).to(torch::kDouble));
}

Readout::Readout(const model::Transformer& m, const Tensor& n) : m_(&m), cap_(m.config().final_softcap) {
    const Tensor used = n.ne(0).any(0).nonzero().view(-1); // token ids with a nonzero weight somewhere
    const Tensor rows = m.unembed_rows(used).to(torch::kDouble);
    const Tensor weights = n.index_select(1, used).to(torch::kDouble);
    if (cap_ > 0) {
        rows_ = rows, weights_ = weights; // the cap acts on each logit: read, cap, then weigh
    } else {
        rows_ = at::matmul(weights, rows); // linear in z: the covectors W_Uᵀ n_k
    }
}

Tensor Readout::operator()(const Tensor& r) const {
    const auto& w = m_->weights();
    const Tensor normed = m_->layer_norm(r, w.lnf_w, w.lnf_b).to(torch::kDouble);
    if (cap_ <= 0) return at::matmul(normed, rows_.t());
    return at::matmul(model::soft_cap(at::matmul(normed, rows_.t()), cap_), weights_.t());
}

Tensor unembed_scores(const model::Transformer& m, const Tensor& r, const ObservableMatrix& obs) {
    return Readout(m, obs.n)(r);
}

Tensor observable_scores(const model::Transformer& m, const Tensor& final, const ObservableMatrix& obs) {
    const auto& w = m.weights();
    const Tensor bias = at::matmul(obs.n.to(torch::kDouble), w.b_U.to(torch::kDouble)); // [K]
    return unembed_scores(m, final, obs) + bias;
}

Tensor observable_values(const model::Transformer& m, const PromptBatch& prompts, const ObservableMatrix& obs,
                         const Progress& progress, int chunk) {
    prompts.check();
    torch::NoGradGuard ng;
    Tensor out = torch::empty({static_cast<std::int64_t>(prompts.size()), obs.size()}, torch::kDouble);
    const double n = static_cast<double>(prompts.size());
    chunked(prompts.size(), prompts_per_pass(m.config(), prompts, chunk), progress, "observable values",
            [&](std::size_t a, std::size_t b) {
                model::RunOptions o;
                o.last_logits_only = true;
                o.final_residual_only = true;
                report_each_layer(o, m, progress, a / n, b / n, "observable values");
                const Tensor final = m.forward(prompts.subset(range(a, b)).batch(), o); // [b-a, d]
                out.narrow(0, static_cast<std::int64_t>(a), static_cast<std::int64_t>(b - a))
                    .copy_(observable_scores(m, final, obs));
            });
    return out;
}

ResidualNorms residual_norms(const model::Transformer& m, const PromptBatch& prompts,
                             const Progress& progress) {
    prompts.check();
    torch::NoGradGuard ng;
    const auto& c = m.config();
    const auto N = static_cast<std::int64_t>(prompts.size());
    ResidualNorms r;
    r.final_residuals = torch::empty({N, c.d_model});
    r.resid_at_position = torch::empty({N, c.n_layers, c.d_model});
    r.ln2_at_position = torch::empty({N, c.n_layers, c.d_model});
    r.ln2_last = torch::empty({N, c.n_layers, c.d_model});
    Tensor& ln2_in = r.ln2_at_position;
    std::set<std::string> names;
    for (int l = 0; l < c.n_layers; ++l) {
        names.insert(model::hook_name(l, "hook_resid_pre"));
        if (!c.parallel_residual) names.insert(model::hook_name(l, "hook_resid_mid"));
    }
    names.insert(model::hook_name(c.n_layers - 1, "hook_resid_post"));
    if (c.post_norms) {
        r.post_attn_last = torch::empty({N, c.n_layers, c.d_model});
        r.post_mlp_last = torch::empty({N, c.n_layers, c.d_model});
        for (int l = 0; l < c.n_layers; ++l)
            for (const char* h : {"ln1_post.hook_scale", "ln1_post.hook_normalized", "ln2_post.hook_scale",
                                  "ln2_post.hook_normalized"})
                names.insert(model::hook_name(l, h));
    }
    const double n = static_cast<double>(prompts.size());
    chunked(prompts.size(), prompts_per_pass(c, prompts), progress, "residual norms",
            [&](std::size_t a, std::size_t b) {
                auto sub = prompts.subset(range(a, b));
                model::ActivationCache cache;
                model::RunOptions o;
                o.cache = names;
                o.last_logits_only = true;
                report_each_layer(o, m, progress, a / n, b / n, "residual norms");
                m.forward(sub.batch(), o, &cache);
                for (std::size_t i = 0; i < sub.size(); ++i) {
                    const auto row = static_cast<std::int64_t>(a + i);
                    const std::int64_t last = static_cast<std::int64_t>(sub.ids[i].size()) - 1,
                                       pos = sub.positions[i];
                    r.final_residuals[row] =
                        cache.at(model::hook_name(c.n_layers - 1, "hook_resid_post"))[i][last];
                    for (int l = 0; l < c.n_layers; ++l) {
                        r.resid_at_position[row][l] = cache.at(model::hook_name(l, "hook_resid_pre"))[i][pos];
                        const char* ln2 = c.parallel_residual ? "hook_resid_pre" : "hook_resid_mid";
                        ln2_in[row][l] = cache.at(model::hook_name(l, ln2))[i][pos];
                        r.ln2_last[row][l] = cache.at(model::hook_name(l, ln2))[i][last];
                        if (c.post_norms) { // the norm's input = normalized · scale
                            auto input = [&](const char* norm) {
                                const std::string p = model::hook_name(l, norm);
                                return cache.at(p + ".hook_normalized")[i][last] *
                                       cache.at(p + ".hook_scale")[i][last];
                            };
                            r.post_attn_last[row][l] = input("ln1_post");
                            r.post_mlp_last[row][l] = input("ln2_post");
                        }
                    }
                }
            });
    r.final_rho = r.final_residuals.to(torch::kDouble).norm(2, {1}).mean().item<double>();
    Tensor n1 = r.resid_at_position.to(torch::kDouble).norm(2, {2}).mean(0);
    Tensor n2 = ln2_in.to(torch::kDouble).norm(2, {2}).mean(0);
    for (int l = 0; l < c.n_layers; ++l) {
        r.ln1_rho.push_back(n1[l].item<double>());
        r.ln2_rho.push_back(n2[l].item<double>());
    }
    if (c.post_norms) {
        const Tensor pa = r.post_attn_last.to(torch::kDouble).norm(2, {2}).mean(0);
        const Tensor pm = r.post_mlp_last.to(torch::kDouble).norm(2, {2}).mean(0);
        for (int l = 0; l < c.n_layers; ++l) {
            r.post_attn_rho.push_back(pa[l].item<double>());
            r.post_mlp_rho.push_back(pm[l].item<double>());
        }
    }
    return r;
}

} // namespace obsprop
