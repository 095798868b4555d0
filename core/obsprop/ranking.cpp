#include "obsprop/ranking.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <tuple>

#include "model/finite.h"
#include "model/transformer.h"

namespace obsprop {

using torch::Tensor;

namespace {

// Multiply-adds per GEMM chunk: ~1.6e9 is one l₁ of GPT-Neo-1.3B (368 rows × 2048 × 2048), ~30 ms on two
// busy cores, so cancellation is seen well within 100 ms while the GEMM stays large enough to run near peak.
constexpr double kChunkMac = 1.6e9;

// How the earliest LayerNorm (ln_1 of l₁) acts on w = W_V^{h₁ᵀ} z, for one layer.
struct EarliestLn {
    Tensor WVg; // [H, dh, d]: W_V^h diag(γ) (W_V^h when the LayerNorm is ignored), so γ⊙(W_Vᵀz) = WVgᵀ z
    double scale = 1; // scalar factor (√d/ρ, 1/s or √d)
    bool exact = false;
    Tensor xc;           // exact: Px [d]
    double sq = 0;       // exact: ‖Px‖²
    double c = 1;        // exact: ‖Px‖²/(d s²)
    bool centred = true; // LayerNorm (P removes the mean); RMSNorm: P = I
};

EarliestLn earliest_ln(const model::Transformer& m, int l, const FeatureOptions& o) {
    const auto& cfg = m.config();
    const model::LayerWeights w = m.layer(l, model::kValue);
    const double d = cfg.d_model;
    EarliestLn e;
    const Tensor Wv = model::value_weights_per_head(cfg, w); // [H, dh, d]
    switch (o.block_ln) {
    case LnMode::None:
        e.WVg = Wv;
        break;
    case LnMode::Approximate:
        e.WVg = Wv * w.ln1_w;
        e.scale = std::sqrt(d) / (o.drop_earliest_rho ? 1.0 : block_rho(o, cfg, l, BlockLn::Ln1));
        break;
    case LnMode::Exact: {
        if (!o.residuals.defined() || o.residuals.dim() != 2 || o.residuals.size(0) != cfg.n_layers ||
            o.residuals.size(1) != cfg.d_model)
            throw std::invalid_argument(
                "exact LayerNorm ranking needs FeatureOptions::residuals [n_layers, d_model]");
        e.WVg = Wv * w.ln1_w;
        e.exact = true;
        e.centred = !cfg.rms();
        Tensor x = o.residuals[l].to(torch::kDouble);
        Tensor xc = e.centred ? x - x.mean() : x;
        e.sq = (xc * xc).sum().item<double>();
        const double s2 = e.sq / d + cfg.ln_eps;
        e.c = e.sq / (d * s2);
        e.scale = o.drop_earliest_rho ? std::sqrt(d) : 1.0 / std::sqrt(s2);
        e.xc = xc.to(torch::kFloat);
        break;
    }
    }
    return e;
}

} // namespace

VirtualHeadRanking rank_virtual_heads(const model::Transformer& m, const Observable& obs,
                                      const FeatureOptions& opts, const RankingOptions& ropts,
                                      const Progress& progress) {
    const auto& cfg = m.config();
    torch::NoGradGuard ng;
    const std::int64_t L = cfg.n_layers, H = cfg.n_heads, d = cfg.d_model, dh = cfg.d_head;
    FeatureOptions o = opts;
    o.drop_earliest_rho = ropts.norm_comparison;

    report(progress, 0.0, "virtual heads: features");
    FeatureSet fs = compute_head_features(m, obs, o, sub_progress(progress, 0.0, 0.02));
    VirtualHeadRanking r;
    r.observable = obs.name;
    r.single = fs.norms;
    r.norms = torch::full({L, H, L, H}, std::numeric_limits<float>::quiet_NaN(), torch::kFloat);

    // Features of the later heads at their resid_pre, with their own ln_1 treated in full.
    const Tensor rows_all =
        pull_back_ln1_all_layers(m, fs.head_inputs, o, false).contiguous().view({L * H, d});

    double total_rows = 0, rows_done = 0;
    for (std::int64_t l1 = 0; l1 + 1 < L; ++l1)
        total_rows += static_cast<double>((L - 1 - l1) * H);
    const std::int64_t chunk =
        std::max<std::int64_t>(1, static_cast<std::int64_t>(kChunkMac / double(d * H * dh)));
    auto tick = [&] {
        report(progress, 0.02 + 0.97 * rows_done / std::max(1.0, total_rows), "virtual heads");
    };

    for (std::int64_t l1 = 0; l1 + 1 < L; ++l1) {
        tick();
        const std::int64_t N = (L - 1 - l1) * H;
        // Through l1's post-attention norm (Gemma 2/3) before its W_O.
        const Tensor rows = pull_back_post_norm(m, static_cast<int>(l1), PostNorm::Attn,
                                                rows_all.narrow(0, (l1 + 1) * H, N), o);
        const model::LayerWeights w = m.layer(static_cast<int>(l1), model::kValue | model::kOutput);
        const EarliestLn e = earliest_ln(m, static_cast<int>(l1), o);
        // The Gram route costs dh²·d per head against N·dh·d for the direct one, but the direct route also
        // writes and reduces an [H, N, d] intermediate, so it only pays off for small N.
        const bool gram =
            ropts.method == RankingMethod::Gram || (ropts.method == RankingMethod::Auto && 2 * N >= dh);
        Tensor G, a, b; // Gram [H, dh, dh]; exact corrections: a = W_V γ, b = W_V(γ⊙u)  [H, dh]
        if (gram) {
            G = torch::empty({H, dh, dh}, torch::kFloat);
            for (std::int64_t h = 0; h < H; ++h) { // one GEMM per head (faster than a batched one here)
                const Tensor Wh = e.WVg[h];
                G[h].copy_(at::mm(Wh, Wh.t()));
                if (h % 4 == 3) tick();
            }
            if (e.exact) {
                a = e.WVg.sum(-1);
                b = at::matmul(e.WVg, e.xc / std::sqrt(e.sq));
            }
        }
        Tensor dst = r.norms[l1].narrow(1, l1 + 1, L - 1 - l1).view({H, N});
        for (std::int64_t n0 = 0; n0 < N; n0 += chunk) {
            const std::int64_t nc = std::min(chunk, N - n0);
            // z = W_O^{h₁ᵀ} y₂ for every h₁ and every later head h₂ in the chunk: [H, nc, dh].
            Tensor Z = at::matmul(rows.narrow(0, n0, nc), w.W_O).view({nc, H, dh}).transpose(0, 1);
            Tensor norm2;
            if (gram) {
                norm2 = (at::matmul(Z, G) * Z).sum(-1); // ‖γ⊙W_Vᵀz‖²
                if (e.exact) {
                    Tensor ta = at::matmul(Z, a.unsqueeze(-1)).squeeze(-1); // 1·w'
                    Tensor tb = at::matmul(Z, b.unsqueeze(-1)).squeeze(-1); // u·w'
                    norm2 = norm2 - (2 * e.c - e.c * e.c) * tb * tb;
                    if (e.centred) norm2 = norm2 - ta * ta / static_cast<double>(d);
                }
                norm2 = norm2.clamp_min(0);
            } else {
                Tensor W = at::matmul(Z, e.WVg); // [H, nc, d] = γ⊙(W_Vᵀ z)
                if (e.exact)
                    W = (e.centred ? W - W.mean(-1, true) : W) -
                        e.xc * (at::matmul(W, e.xc).unsqueeze(-1) * (e.c / e.sq)); // (P − c uuᵀ)w'
                norm2 = W.norm(2, {-1}).square();
            }
            dst.narrow(1, n0, nc).copy_(norm2.sqrt() * e.scale);
            rows_done += static_cast<double>(nc);
            tick();
        }
    }

    // Every scored pair, then the largest first.
    std::vector<VirtualHeadScore> all;
    auto acc = r.norms.accessor<float, 4>();
    for (int l1 = 0; l1 < L; ++l1)
        for (int h1 = 0; h1 < H; ++h1)
            for (int l2 = l1 + 1; l2 < L; ++l2)
                for (int h2 = 0; h2 < H; ++h2)
                    all.push_back({l1, h1, l2, h2, acc[l1][h1][l2][h2]});
    r.n_pairs = all.size();
    // A NaN norm (NaN weights) would break the ordering below: name the first one instead.
    for (const auto& s : all)
        if (!std::isfinite(s.norm))
            throw std::runtime_error("the feature norm of virtual head " + std::to_string(s.layer1) + "." +
                                     std::to_string(s.head1) + " -> " + std::to_string(s.layer2) + "." +
                                     std::to_string(s.head2) + " is " + (std::isnan(s.norm) ? "NaN" : "inf") +
                                     model::nonfinite_weights_note(m));
    const std::size_t keep = ropts.keep == 0 ? all.size() : std::min(ropts.keep, all.size());
    auto by_norm = [](const VirtualHeadScore& x, const VirtualHeadScore& y) {
        if (x.norm != y.norm) return x.norm > y.norm;
        return std::tie(x.layer1, x.head1, x.layer2, x.head2) <
               std::tie(y.layer1, y.head1, y.layer2, y.head2);
    };
    std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(keep), all.end(), by_norm);
    all.resize(keep);
    r.top = std::move(all);
    report(progress, 1.0, "virtual heads");
    return r;
}

} // namespace obsprop
