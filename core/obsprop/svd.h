// SVD alignment of head features with the heads' OV singular vectors (DESIGN §3.8).
//
// W_OV^h = W_O^h W_V^h (d×d, rank <= d_head) is never formed. With thin QR factorisations
// W_O^h = Q_O R_O and W_V^{hᵀ} = Q_V R_V (d×dh each), W_OV^h = Q_O (R_O R_Vᵀ) Q_Vᵀ, so the SVD of the small
// dh×dh core R_O R_Vᵀ = U' Σ V'ᵀ gives W_OV^h = (Q_O U') Σ (Q_V V')ᵀ. The R factors come from Cholesky
// factorisations of the dh×dh Gram matrices in float64 (Cholesky QR: GEMM-bound, several times faster than
// Householder QR at GPT-Neo-1.3B's shape), with Householder QR as the fallback for rank-deficient heads.
// All heads of a layer are factorised in one batched call.
#pragma once

#include <vector>

#include <torch/types.h>

#include "obsprop/features.h"

namespace obsprop {

// W_OV^h = U diag(S) Vᵀ for every head h of one layer (float32).
struct HeadSvd {
    torch::Tensor U; // [H, d, dh] left singular vectors (output space), as columns
    torch::Tensor S; // [H, dh] singular values, descending
    torch::Tensor V; // [H, d, dh] right singular vectors (input space), as columns
};

HeadSvd head_svd(const model::Transformer& m, int layer);

struct SvdAlignment {
    int top_k = 0;
    torch::Tensor sigma;     // [L, H, dh] singular values of each head, descending
    torch::Tensor indices;   // [L, H, k] int64: singular-vector indices i by descending |cos(y, v_i)|
    torch::Tensor cosines;   // [L, H, k] cos(y, v_i) at those indices (signed)
    torch::Tensor top_sigma; // [L, H, k] σ_i at those indices
    torch::Tensor in_span;   // [L, H] ‖Vᵀy‖/‖y‖: the share of y inside span(V) (1 up to rounding)
};

// Every layer's head SVDs (index = layer). They do not depend on the observable: compute them once per model
// (left singular vectors only if with_u) and align any number of feature sets with the overload below.
std::vector<HeadSvd> all_head_svds(const model::Transformer& m, bool with_u = false,
                                   const Progress& progress = {});

// Aligns FeatureSet::head_inputs (the feature at each head's input, W_V^hᵀ W_O^hᵀ v_final, which lies in
// span(V); the ln_1 Jacobian would move it out) with the right singular vectors. top_k is clamped to d_head.
SvdAlignment svd_alignment(const model::Transformer& m, const FeatureSet& features, int top_k = 5,
                           const Progress& progress = {});
// The same from precomputed all_head_svds(m) (fast: projections only).
SvdAlignment svd_alignment(const model::Transformer& m, const std::vector<HeadSvd>& svds,
                           const FeatureSet& features, int top_k = 5);

} // namespace obsprop
