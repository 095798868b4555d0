#include "obsprop/svd.h"

#include <algorithm>
#include <stdexcept>

#include <torch/linalg.h>

#include "model/transformer.h"

namespace obsprop {

using torch::Tensor;

namespace {

// W_OV = Q_O (R_O R_Vᵀ) Q_Vᵀ by Householder QR of the two thin factors (the robust fallback).
HeadSvd svd_by_qr(const Tensor& WO, const Tensor& WVt) {
    auto [QO, RO] = torch::linalg::qr(WO, "reduced");
    auto [QV, RV] = torch::linalg::qr(WVt, "reduced");
    const Tensor core = at::matmul(RO.to(torch::kDouble), RV.to(torch::kDouble).transpose(1, 2));
    auto [Uc, S, Vch] = torch::linalg::svd(core, false, c10::nullopt);
    HeadSvd r;
    r.U = at::matmul(QO, Uc.to(torch::kFloat));
    r.S = S.to(torch::kFloat);
    r.V = at::matmul(QV, Vch.transpose(1, 2).to(torch::kFloat));
    return r;
}

// Heads [h0, h0 + n) of one layer; the left singular vectors only when asked for.
HeadSvd svd_of_heads(const model::Transformer& m, int layer, std::int64_t h0, std::int64_t n, bool want_u) {
    const auto& c = m.config();
    const auto& w = m.weights().layers[static_cast<std::size_t>(layer)];
    const std::int64_t H = c.n_heads, dh = c.d_head, d = c.d_model;
    const Tensor WO = w.W_O.view({d, H, dh}).narrow(1, h0, n).permute({1, 0, 2}).to(torch::kDouble).contiguous();
    const Tensor WVt = w.Wv.narrow(0, h0, n).transpose(1, 2).to(torch::kDouble).contiguous();  // W_V^hᵀ
    // Cholesky QR in float64: R from the dh×dh Gram matrices (RᵀR = FᵀF), Q = F R⁻¹. GEMM-sized products
    // instead of a Householder QR; heads of deficient rank fall back to QR.
    auto [LO, info_o] = at::linalg_cholesky_ex(at::matmul(WO.transpose(1, 2), WO), false, false);
    auto [LV, info_v] = at::linalg_cholesky_ex(at::matmul(WVt.transpose(1, 2), WVt), false, false);
    if (info_o.ne(0).any().item<bool>() || info_v.ne(0).any().item<bool>())
        return svd_by_qr(WO.to(torch::kFloat), WVt.to(torch::kFloat));
    const Tensor RO = LO.transpose(1, 2), RV = LV.transpose(1, 2);  // upper triangular
    auto [Uc, S, Vch] = torch::linalg::svd(at::matmul(RO, RV.transpose(1, 2)), false, c10::nullopt);
    // U = Q_O U' = W_O (R_O⁻¹ U'),  V = Q_V V' = W_Vᵀ (R_V⁻¹ V').
    HeadSvd r;
    if (want_u) r.U = at::matmul(WO, at::linalg_solve_triangular(RO, Uc, true, true, false)).to(torch::kFloat);
    r.S = S.to(torch::kFloat);
    r.V = at::matmul(WVt, at::linalg_solve_triangular(RV, Vch.transpose(1, 2), true, true, false)).to(torch::kFloat);
    return r;
}

// Heads per step: about 2e8 double multiply-adds (tens of milliseconds), so cancelling is prompt while the
// batched LAPACK calls stay reasonably large.
std::int64_t heads_per_step(const io::ModelConfig& c) {
    const double work = 3.0 * c.d_model * double(c.d_head) * c.d_head;
    return std::clamp<std::int64_t>(static_cast<std::int64_t>(2e8 / work), 1, c.n_heads);
}

}  // namespace

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
            for (const auto& p : parts) ts.push_back(p.*f);
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

// Fills heads [h0, h0 + n) of layer l from their singular values S [n, dh] and vectors V [n, d, dh].
void align(SvdAlignment& r, const FeatureSet& fs, int l, std::int64_t h0, const Tensor& S, const Tensor& V) {
    const std::int64_t n = S.size(0), k = r.top_k;
    const Tensor y = fs.head_inputs[l].narrow(0, h0, n);             // [n, d]
    const Tensor yn = y.norm(2, {-1}, true);                         // [n, 1]
    const Tensor proj = at::matmul(y.unsqueeze(1), V).squeeze(1);    // Vᵀy: [n, dh]
    const Tensor cos = torch::where(yn > 0, proj / yn, torch::zeros_like(proj));
    auto [val, idx] = cos.abs().topk(k, -1);
    r.sigma[l].narrow(0, h0, n).copy_(S);
    r.indices[l].narrow(0, h0, n).copy_(idx);
    r.cosines[l].narrow(0, h0, n).copy_(cos.gather(-1, idx));
    r.top_sigma[l].narrow(0, h0, n).copy_(S.gather(-1, idx));
    r.in_span[l].narrow(0, h0, n).copy_(
        torch::where(yn.squeeze(-1) > 0, proj.norm(2, {-1}) / yn.squeeze(-1), torch::zeros({n}, torch::kFloat)));
}

void check_features(const io::ModelConfig& c, const FeatureSet& fs) {
    if (!fs.head_inputs.defined() || fs.head_inputs.sizes() != torch::IntArrayRef({c.n_layers, c.n_heads, c.d_model}))
        throw std::invalid_argument("svd_alignment: the feature set does not belong to this model");
}

}  // namespace

SvdAlignment svd_alignment(const model::Transformer& m, const FeatureSet& fs, int top_k, const Progress& progress) {
    const auto& c = m.config();
    check_features(c, fs);
    torch::NoGradGuard ng;
    SvdAlignment r = empty_alignment(c, std::clamp<std::int64_t>(top_k, 1, c.d_head));
    const std::int64_t H = c.n_heads, group = heads_per_step(c);
    for (int l = 0; l < c.n_layers; ++l)
        for (std::int64_t h0 = 0; h0 < H; h0 += group) {
            report(progress, (l + double(h0) / double(H)) / c.n_layers, "SVD alignment");
            const HeadSvd s = svd_of_heads(m, l, h0, std::min(group, H - h0), false);
            align(r, fs, l, h0, s.S, s.V);
        }
    report(progress, 1.0, "SVD alignment");
    return r;
}

SvdAlignment svd_alignment(const model::Transformer& m, const std::vector<HeadSvd>& svds, const FeatureSet& fs,
                           int top_k) {
    const auto& c = m.config();
    check_features(c, fs);
    if (static_cast<int>(svds.size()) != c.n_layers)
        throw std::invalid_argument("svd_alignment: one HeadSvd per layer expected");
    torch::NoGradGuard ng;
    SvdAlignment r = empty_alignment(c, std::clamp<std::int64_t>(top_k, 1, c.d_head));
    for (int l = 0; l < c.n_layers; ++l) align(r, fs, l, 0, svds[static_cast<std::size_t>(l)].S,
                                               svds[static_cast<std::size_t>(l)].V);
    return r;
}

}  // namespace obsprop
