#include "obsprop/svd.h"

#include <algorithm>
#include <stdexcept>

#include <torch/linalg.h>

#include "model/transformer.h"

namespace obsprop {

using torch::Tensor;

namespace {

// Singular vectors have no sign of their own. Each right singular vector v_i = W_Vᵀ a_i is given the sign
// that makes the largest-magnitude entry of its coefficients a_i positive (a_i is unique when W_V has full
// rank, so every factorisation path agrees); the left vector follows. A [n, m, dh] (columns) → signs [n, 1,
// dh].
Tensor column_signs(const Tensor& A) {
    const Tensor idx = A.abs().argmax(1, true); // [n, 1, dh]
    return torch::where(A.gather(1, idx) < 0, -1.0, 1.0).to(A.scalar_type());
}

// W_OV = Q_O (R_O R_Vᵀ) Q_Vᵀ by Householder QR of the two thin factors (the robust fallback).
HeadSvd svd_by_qr(const Tensor& WO, const Tensor& WVt) {
    auto [QO, RO] = torch::linalg::qr(WO, "reduced");
    auto [QV, RV] = torch::linalg::qr(WVt, "reduced");
    const Tensor core = at::matmul(RO.to(torch::kDouble), RV.to(torch::kDouble).transpose(1, 2));
    auto [Uc, S, Vch] = torch::linalg::svd(core, false, c10::nullopt);
    HeadSvd r;
    r.V = at::matmul(QV, Vch.transpose(1, 2).to(torch::kFloat));
    const Tensor sign = column_signs(r.V); // W_V is rank-deficient here: the sign comes from v_i itself
    r.V = r.V * sign;
    r.U = at::matmul(QO, Uc.to(torch::kFloat)) * sign;
    r.S = S.to(torch::kFloat);
    return r;
}

// Heads [h0, h0 + n) of one layer; the left singular vectors only when asked for.
HeadSvd svd_of_heads(const model::Transformer& m, int layer, std::int64_t h0, std::int64_t n, bool want_u) {
    const auto& c = m.config();
    const model::LayerWeights w = m.layer(layer, model::kValue | model::kOutput);
    const std::int64_t H = c.n_heads, dh = c.d_head, d = c.d_model;
    const Tensor WO =
        w.W_O.view({d, H, dh}).narrow(1, h0, n).permute({1, 0, 2}).to(torch::kDouble).contiguous();
    const Tensor WVt = model::value_weights_per_head(c, w)
                           .narrow(0, h0, n)
                           .transpose(1, 2)
                           .to(torch::kDouble)
                           .contiguous(); // W_V^hᵀ
    // Cholesky QR in float64: R from the dh×dh Gram matrices (RᵀR = FᵀF), Q = F R⁻¹. GEMM-sized products
    // instead of a Householder QR; heads of deficient rank fall back to QR.
    auto [LO, info_o] = at::linalg_cholesky_ex(at::matmul(WO.transpose(1, 2), WO), false, false);
    auto [LV, info_v] = at::linalg_cholesky_ex(at::matmul(WVt.transpose(1, 2), WVt), false, false);
    if (info_o.ne(0).any().item<bool>() || info_v.ne(0).any().item<bool>())
        return svd_by_qr(WO.to(torch::kFloat), WVt.to(torch::kFloat));
    const Tensor RO = LO.transpose(1, 2), RV = LV.transpose(1, 2); // upper triangular
    auto [Uc, S, Vch] = torch::linalg::svd(at::matmul(RO, RV.transpose(1, 2)), false, c10::nullopt);
    // U = Q_O U' = W_O (R_O⁻¹ U'),  V = Q_V V' = W_Vᵀ (R_V⁻¹ V').
    HeadSvd r;
    const Tensor a =
        at::linalg_solve_triangular(RV, Vch.transpose(1, 2), true, true, false); // v_i = W_Vᵀ a_i
    const Tensor sign = column_signs(a);
    if (want_u)
        r.U = at::matmul(WO, at::linalg_solve_triangular(RO, Uc * sign, true, true, false)).to(torch::kFloat);
    r.S = S.to(torch::kFloat);
    r.V = at::matmul(WVt, a * sign).to(torch::kFloat);
    return r;
}

// The right singular vectors of W_OV for heads [h0, h0 + n) without forming any d×dh result: with
// W_V^hᵀ = Q_V R_V (R_V = L_Vᵀ from the Cholesky factor of W_V W_Vᵀ), W_OVᵀ W_OV = Q_V (L_Vᵀ G_O L_V) Q_Vᵀ
// with G_O = W_Oᵀ W_O, so the eigenvectors V' of the dh×dh matrix L_Vᵀ G_O L_V give V = Q_V V' and its
// eigenvalues σ². For any y, Vᵀy = V'ᵀ L_V⁻¹ (W_V y): the alignment needs only dh-sized products. `ok` is
// false when a head's W_V is rank-deficient (no Cholesky factor); the caller then falls back to svd_of_heads.
struct CompactSvd {
    Tensor S;   // [n, dh] descending
    Tensor Vp;  // [n, dh, dh] V' (columns)
    Tensor LV;  // [n, dh, dh] lower Cholesky factor of W_V W_Vᵀ
    Tensor WVt; // [n, d, dh] W_V^hᵀ (float64)
    bool ok = false;
};

CompactSvd compact_svd_of_heads(const model::Transformer& m, int layer, std::int64_t h0, std::int64_t n) {
    const auto& c = m.config();
    const model::LayerWeights w = m.layer(layer, model::kValue | model::kOutput);
    const std::int64_t H = c.n_heads, dh = c.d_head, d = c.d_model;
    CompactSvd r;
    const Tensor WO = w.W_O.view({d, H, dh}).narrow(1, h0, n).permute({1, 0, 2}).to(torch::kDouble);
    r.WVt = model::value_weights_per_head(c, w).narrow(0, h0, n).transpose(1, 2).to(torch::kDouble);
    auto [LV, info] = at::linalg_cholesky_ex(at::matmul(r.WVt.transpose(1, 2), r.WVt), false, false);
    if (info.ne(0).any().item<bool>()) return r;
    const Tensor M = at::matmul(at::matmul(LV.transpose(1, 2), at::matmul(WO.transpose(1, 2), WO)), LV);
    auto [lambda, Vp] = at::linalg_eigh(M); // ascending
    r.S = lambda.clamp_min(0).sqrt().flip(-1);
    r.Vp = Vp.flip(-1);
    r.Vp = r.Vp * column_signs(at::linalg_solve_triangular(LV.transpose(1, 2), r.Vp, true, true, false));
    r.LV = LV;
    r.ok = true;
    return r;
}

// Heads per step: about 2e8 double multiply-adds (tens of milliseconds), so cancelling is prompt while the
// batched LAPACK calls stay reasonably large.
std::int64_t heads_per_step(const io::ModelConfig& c) {
    const double work = 3.0 * c.d_model * double(c.d_head) * c.d_head;
    return std::clamp<std::int64_t>(static_cast<std::int64_t>(2e8 / work), 1, c.n_heads);
}

} // namespace

HeadSvd head_svd(const model::Transformer& m, int layer) {
    const auto& c = m.config();
    if (layer < 0 || layer >= c.n_layers)
        throw std::invalid_argument("layer " + std::to_string(layer) + " does not exist");
    torch::NoGradGuard ng;
    return svd_of_heads(m, layer, 0, c.n_heads, true);
}

std::vector<HeadSvd> all_head_svds(const model::Transformer& m, bool with_u, const Progress& progress) {
    const auto& c = m.config();
    const std::int64_t H = c.n_heads;
    torch::NoGradGuard ng;
    std::vector<HeadSvd> out;
    const std::int64_t group = heads_per_step(c);
    for (int l = 0; l < c.n_layers; ++l) {
        std::vector<HeadSvd> parts;
        for (std::int64_t h0 = 0; h0 < H; h0 += group) {
            report(progress, (l + double(h0) / double(H)) / c.n_layers, "head SVDs");
            parts.push_back(svd_of_heads(m, l, h0, std::min(group, H - h0), with_u));
        }
        HeadSvd all;
        auto cat = [&](Tensor HeadSvd::*f) {
            if (!(parts.front().*f).defined()) return Tensor();
            std::vector<Tensor> ts;
            for (const auto& p : parts)
                ts.push_back(p.*f);
            return torch::cat(ts);
        };
        all.U = cat(&HeadSvd::U), all.S = cat(&HeadSvd::S), all.V = cat(&HeadSvd::V);
        out.push_back(std::move(all));
    }
    report(progress, 1.0, "head SVDs");
    return out;
}

namespace {

SvdAlignment empty_alignment(const io::ModelConfig& c, std::int64_t k) {
    const std::int64_t L = c.n_layers, H = c.n_heads, dh = c.d_head;
    SvdAlignment r;
    r.top_k = static_cast<int>(k);
    r.sigma = torch::empty({L, H, dh}, torch::kFloat);
    r.indices = torch::empty({L, H, k}, torch::kLong);
    r.cosines = torch::empty({L, H, k}, torch::kFloat);
    r.top_sigma = torch::empty({L, H, k}, torch::kFloat);
    r.in_span = torch::empty({L, H}, torch::kFloat);
    return r;
}

// Fills heads [h0, h0 + n) of layer l from their singular values S [n, dh], the projections Vᵀy [n, dh] of
// their features on the right singular vectors and the features' norms [n, 1].
void align_projections(SvdAlignment& r, int l, std::int64_t h0, const Tensor& S, const Tensor& proj,
                       const Tensor& yn) {
    const std::int64_t n = S.size(0), k = r.top_k;
    const Tensor cos = torch::where(yn > 0, proj / yn, torch::zeros_like(proj));
    auto [val, idx] = cos.abs().topk(k, -1);
    r.sigma[l].narrow(0, h0, n).copy_(S);
    r.indices[l].narrow(0, h0, n).copy_(idx);
    r.cosines[l].narrow(0, h0, n).copy_(cos.gather(-1, idx));
    r.top_sigma[l].narrow(0, h0, n).copy_(S.gather(-1, idx));
    r.in_span[l].narrow(0, h0, n).copy_(torch::where(yn.squeeze(-1) > 0, proj.norm(2, {-1}) / yn.squeeze(-1),
                                                     torch::zeros({n}, torch::kFloat)));
}

// The same from the singular vectors V [n, d, dh] themselves.
void align(SvdAlignment& r, const FeatureSet& fs, int l, std::int64_t h0, const Tensor& S, const Tensor& V) {
    const Tensor y = fs.head_inputs[l].narrow(0, h0, S.size(0)); // [n, d]
    align_projections(r, l, h0, S, at::matmul(y.unsqueeze(1), V).squeeze(1), y.norm(2, {-1}, true));
}

void check_features(const io::ModelConfig& c, const FeatureSet& fs) {
    if (!fs.head_inputs.defined() ||
        fs.head_inputs.sizes() != torch::IntArrayRef({c.n_layers, c.n_heads, c.d_model}))
        throw std::invalid_argument("svd_alignment: the feature set does not belong to this model");
}

} // namespace

SvdAlignment svd_alignment(const model::Transformer& m, const FeatureSet& fs, int top_k,
                           const Progress& progress) {
    const auto& c = m.config();
    check_features(c, fs);
    torch::NoGradGuard ng;
    SvdAlignment r = empty_alignment(c, std::clamp<std::int64_t>(top_k, 1, c.d_head));
    const std::int64_t H = c.n_heads, group = heads_per_step(c);
    for (int l = 0; l < c.n_layers; ++l)
        for (std::int64_t h0 = 0; h0 < H; h0 += group) {
            report(progress, (l + double(h0) / double(H)) / c.n_layers, "SVD alignment");
            const std::int64_t n = std::min(group, H - h0);
            const CompactSvd cs = compact_svd_of_heads(m, l, h0, n);
            if (!cs.ok) {
                const HeadSvd s = svd_of_heads(m, l, h0, n, false);
                align(r, fs, l, h0, s.S, s.V);
                continue;
            }
            // Vᵀy = V'ᵀ L_V⁻¹ (W_V y), all dh-sized.
            const Tensor y = fs.head_inputs[l].narrow(0, h0, n).to(torch::kDouble);      // [n, d]
            const Tensor wy = at::matmul(y.unsqueeze(1), cs.WVt).transpose(1, 2);        // [n, dh, 1]
            const Tensor t = at::linalg_solve_triangular(cs.LV, wy, false, true, false); // L_V⁻¹ W_V y
            const Tensor proj = at::matmul(cs.Vp.transpose(1, 2), t).squeeze(-1);        // [n, dh]
            align_projections(r, l, h0, cs.S.to(torch::kFloat), proj.to(torch::kFloat),
                              y.norm(2, {-1}, true).to(torch::kFloat));
        }
    report(progress, 1.0, "SVD alignment");
    return r;
}

SvdAlignment svd_alignment(const model::Transformer& m, const std::vector<HeadSvd>& svds,
                           const FeatureSet& fs, int top_k) {
    const auto& c = m.config();
    check_features(c, fs);
    if (static_cast<int>(svds.size()) != c.n_layers)
        throw std::invalid_argument("svd_alignment: one HeadSvd per layer expected");
    torch::NoGradGuard ng;
    SvdAlignment r = empty_alignment(c, std::clamp<std::int64_t>(top_k, 1, c.d_head));
    for (int l = 0; l < c.n_layers; ++l)
        align(r, fs, l, 0, svds[static_cast<std::size_t>(l)].S, svds[static_cast<std::size_t>(l)].V);
    return r;
}

} // namespace obsprop
