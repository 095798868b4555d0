// Independent references for the decoder feature suites (tst_features_decoders, tst_data_decoders): the
// generator's raw Hugging Face tensors read in float64 (Gemma's (1 + w) applied here), RMSNorm, the gated
// MLP, frozen-pattern head outputs, soft-capped scores and post-norm differences written out with torch ops,
// and the test models, observables and data rows both suites use. Nothing here calls the code under test.
#pragma once

#include "checkpoint_gen.h"
#include "model/runtime.h"
#include "model/transformer.h"
#include "obsprop/analysis.h"
#include "obsprop/attribution.h"
#include "obsprop/features.h"
#include "obsprop/layernorm.h"
#include "obsprop/mlp.h"
#include "obsprop/path_patching.h"
#include "obsprop/prompts.h"
#include "obsprop/ranking.h"
#include "obsprop/svd.h"

#include <QTemporaryDir>
#include <QtTest>

#include <torch/linalg.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>

namespace decoder_ref {

namespace tools = obsprop::tools;
using obsprop::FeatureOptions;
using obsprop::LnMode;
using obsprop::Observable;
using obsprop::PathNode;
using obsprop::model::Batch;
using obsprop::model::Transformer;
using tools::Family;
using torch::Tensor;

constexpr auto kD = torch::kDouble;

inline Tensor raw(const tools::GeneratedCheckpoint& g, const std::string& name) {
    const auto& t = g.at(name);
    return torch::tensor(std::vector<double>(t.values.begin(), t.values.end()), kD).reshape(t.shape);
}

// The weights read independently of model::Weights from the Hugging Face names, in float64.
struct Raw {
    int L = 0, H = 0, Hkv = 0, d = 0, dh = 0;
    double eps = 1e-6, cap = 0; // rms_norm_eps, final_logit_softcapping
    bool post = false;          // Gemma 2/3 post-norms
    std::string act;
    std::vector<Tensor> WV, bV, WO, bO;         // per QUERY head [H, dh, d], [H, dh]; [d, H*dh], [d]
    std::vector<Tensor> ln1, ln2, pa, pm;       // γ: input norm, pre-MLP norm, post-attention, post-MLP
    std::vector<Tensor> Wg, bg, Wu, bu, Wd, bd; // gate, up [m, d]; down [d, m]
    Tensor WU, lnf;
    Tensor WOh(int l, int h) const { return WO[l].narrow(1, h * dh, dh); } // [d, dh]
};

inline Raw read_raw(const tools::GeneratedCheckpoint& g, const tools::CheckpointSpec& s) {
    Raw r;
    r.L = s.n_layers, r.H = s.n_heads, r.Hkv = s.kv_heads(), r.d = s.d_model, r.dh = s.d_head();
    r.eps = s.ln_eps, r.cap = s.final_softcap, r.act = s.activation_name();
    r.post = s.family == Family::Gemma2 || s.family == Family::Gemma3;
    const std::string P = s.prefix ? "model." : "";
    const bool gemma = tools::is_gemma(s.family);
    auto gam = [&](const std::string& n) { // the effective γ: Gemma stores w and applies 1 + w
        Tensor w = raw(g, P + n);
        return gemma ? w + 1.0 : w;
    };
    auto opt = [&](const std::string& n, std::int64_t size) {
        return g.contains(P + n) ? raw(g, P + n) : torch::zeros({size}, kD);
    };
    const int H = r.H, d = r.d, dh = r.dh, group = r.H / r.Hkv;
    for (int l = 0; l < r.L; ++l) {
        const std::string p = "layers." + std::to_string(l) + ".";
        const auto& vp = g.at(P + p + "self_attn.v_proj.weight").values; // [Hkv*dh, d]
        const Tensor vb = opt(p + "self_attn.v_proj.bias", r.Hkv * dh);
        Tensor WV = torch::zeros({H, dh, d}, kD), bV = torch::zeros({H, dh}, kD);
        auto wv = WV.accessor<double, 3>();
        for (int h = 0; h < H; ++h)
            for (int e = 0; e < dh; ++e) {
                for (int i = 0; i < d; ++i)
                    wv[h][e][i] = vp[((h / group) * dh + e) * d + i];
                bV[h][e] = vb[(h / group) * dh + e];
            }
        r.WV.push_back(WV), r.bV.push_back(bV);
        r.WO.push_back(raw(g, P + p + "self_attn.o_proj.weight")); // [d, H*dh]
        r.bO.push_back(opt(p + "self_attn.o_proj.bias", d));
        r.ln1.push_back(gam(p + "input_layernorm.weight"));
        if (r.post) { // Gemma 2/3: post_attention_layernorm is the norm of the attention OUTPUT
            r.pa.push_back(gam(p + "post_attention_layernorm.weight"));
            r.ln2.push_back(gam(p + "pre_feedforward_layernorm.weight"));
            r.pm.push_back(gam(p + "post_feedforward_layernorm.weight"));
        } else {
            r.ln2.push_back(gam(p + "post_attention_layernorm.weight"));
        }
        const int m = s.mlp_dim();
        r.Wg.push_back(raw(g, P + p + "mlp.gate_proj.weight")),
            r.bg.push_back(opt(p + "mlp.gate_proj.bias", m));
        r.Wu.push_back(raw(g, P + p + "mlp.up_proj.weight")), r.bu.push_back(opt(p + "mlp.up_proj.bias", m));
        r.Wd.push_back(raw(g, P + p + "mlp.down_proj.weight")),
            r.bd.push_back(opt(p + "mlp.down_proj.bias", d));
    }
    r.WU = s.untied ? raw(g, "lm_head.weight") : raw(g, P + "embed_tokens.weight");
    r.lnf = gam("norm.weight");
    return r;
}

inline Tensor rms(const Raw& r, const Tensor& x, const Tensor& gamma) {
    return x * at::rsqrt(x.pow(2).mean(-1, true) + r.eps) * gamma;
}
inline Tensor sigma(const Raw& r, const Tensor& x) {
    if (r.act == "silu") return at::silu(x);
    return r.act == "gelu" ? at::gelu(x) : at::gelu(x, "tanh"); // gelu_pytorch_tanh
}
inline Tensor mlp(const Raw& r, int l, const Tensor& u) { // the gated MLP, u [..., d]
    const Tensor gate = at::matmul(u, r.Wg[l].t()) + r.bg[l], up = at::matmul(u, r.Wu[l].t()) + r.bu[l];
    return at::matmul(sigma(r, gate) * up, r.Wd[l].t()) + r.bd[l];
}
// One head's output [T, d] (no b_O) from its input residual x [T, d] with a frozen pattern [H, T, T].
inline Tensor head_out(const Raw& r, int l, int h, const Tensor& x, const Tensor& pattern, bool ln) {
    const Tensor a = ln ? rms(r, x, r.ln1[l]) : x;
    const Tensor v = at::matmul(a, r.WV[l][h].t()) + (ln ? r.bV[l][h] : torch::zeros({r.dh}, kD));
    return at::matmul(at::matmul(pattern[h], v), r.WOh(l, h).t());
}
// n·(soft-capped) logits of final residuals x [..., d]; n [V].
inline Tensor score(const Raw& r, const Tensor& n, const Tensor& x) {
    Tensor z = at::matmul(rms(r, x, r.lnf), r.WU.t());
    if (r.cap > 0) z = r.cap * at::tanh(z / r.cap);
    return (z * n).sum(-1);
}
// The post-norm's change N(A + δ) − N(A) (δ itself without post-norms).
inline Tensor post_diff(const Raw& r, int l, const Tensor& A, const Tensor& delta) {
    return r.post ? rms(r, A + delta, r.pa[l]) - rms(r, A, r.pa[l]) : delta;
}

struct Model {
    tools::CheckpointSpec spec;
    Raw raw;
    std::unique_ptr<QTemporaryDir> tmp;
    std::shared_ptr<Transformer> m;
};

constexpr int kBias = 100; // family + kBias: with q/k/v/o biases (attention_bias)

inline Model make_model(int code, int layers = 0) {
    Model M;
    auto& s = M.spec;
    s = tools::preset("tiny", Family(code % kBias));
    s.vocab = 300, s.seed = 1, s.attention_bias = code >= kBias;
    if (layers > 0) s.n_layers = layers;
    const auto g = tools::generate(s);
    M.raw = read_raw(g, s);
    M.tmp = std::make_unique<QTemporaryDir>();
    tools::write_checkpoint(g, s, M.tmp->path().toStdString());
    M.m = Transformer::load(M.tmp->path().toStdString());
    return M;
}

inline Observable test_observable() {
    Observable o;
    o.name = "test";
    o.terms = {{17, 1.0}, {42, -1.0}, {99, 0.5}};
    return o;
}
inline Tensor nvec(const Observable& o, int V) {
    Tensor n = torch::zeros({V}, kD);
    for (const auto& [id, w] : o.terms)
        n[id] += w;
    return n;
}
inline Tensor raw_vU(const Raw& r, const Observable& o) {
    return at::matmul(nvec(o, r.WU.size(0)), r.WU);
}

// Frozen activations of one prompt, and this file's own pre-post-norm sublayer outputs from them.
struct Cached {
    std::vector<Tensor> resid, mid, pattern, z; // [T, d], [T, d], [H, T, T], [T, H, dh]
    std::vector<Tensor> A, M;                   // Σ_h o_h + b_O and MLP(ln_2(mid)) [T, d]
    Tensor final_resid, logits;                 // [T, d], [T, V]
};

inline Cached run_cache(const Model& M, const std::vector<int>& ids) {
    const auto& r = M.raw;
    namespace om = obsprop::model;
    std::set<std::string> names{om::hook_name(r.L - 1, "hook_resid_post")};
    for (int l = 0; l < r.L; ++l)
        for (const char* n : {"hook_resid_pre", "hook_resid_mid", "attn.hook_pattern", "attn.hook_z"})
            names.insert(om::hook_name(l, n));
    om::ActivationCache c;
    torch::NoGradGuard ng;
    Cached out;
    out.logits = M.m->run_with_cache(Batch::from({ids}), names, c)[0].to(kD);
    for (int l = 0; l < r.L; ++l) {
        out.resid.push_back(c.at(om::hook_name(l, "hook_resid_pre"))[0].to(kD));
        out.mid.push_back(c.at(om::hook_name(l, "hook_resid_mid"))[0].to(kD));
        out.pattern.push_back(c.at(om::hook_name(l, "attn.hook_pattern"))[0].to(kD));
        out.z.push_back(c.at(om::hook_name(l, "attn.hook_z"))[0].to(kD));
        Tensor A = r.bO[l].expand({out.resid[l].size(0), r.d}).clone();
        for (int h = 0; h < r.H; ++h)
            A += head_out(r, l, h, out.resid[l], out.pattern[l], true);
        out.A.push_back(A);
        out.M.push_back(mlp(r, l, rms(r, out.mid[l], r.ln2[l])));
    }
    out.final_resid = c.at(om::hook_name(r.L - 1, "hook_resid_post"))[0].to(kD);
    return out;
}

// A path's change at every position [T, d] by path_patching.h's definition, from the two runs' caches and
// this header's weights. δ₁: a head's output change, or, at one source token s, (A_k[:,s]·v_k[s] −
// A_c[:,s]·v_c[s])·W_Oᵀ with v = W_V·ln_1(resid) + b_V; an MLP's output change. Each later node carries δ: a
// head through its recomputed ln_1 with the clean pattern frozen (only column s for a token node), an MLP
// position by position through ln_2 at the clean resid_mid. Post-norms included. `slot` is the prompt's slot
// token.
inline Tensor carry_reference(const Raw& r, const Cached& cc, const Cached& ck,
                              const std::vector<PathNode>& path, std::int64_t slot) {
    const std::int64_t T = cc.resid[0].size(0);
    auto source = [&](const PathNode& n) -> std::int64_t { // -1: every token
        if (!n.at_token()) return -1;
        if (n.token == obsprop::source_token::kSlotToken) return slot;
        return n.token >= 0 ? n.token : T + n.token;
    };
    auto post_mlp = [&](int l, const Tensor& m) { return r.post ? rms(r, m, r.pm[l]) : m; };
    auto values = [&](const Cached& c, int l, int h) {
        return at::matmul(rms(r, c.resid[l], r.ln1[l]), r.WV[l][h].t()) + r.bV[l][h]; // [T, dh]
    };
    const PathNode& a = path[0];
    Tensor delta; // [T, d]
    if (a.is_mlp()) {
        delta = post_mlp(a.layer, ck.M[a.layer]) - post_mlp(a.layer, cc.M[a.layer]);
    } else if (const std::int64_t s = source(a); s >= 0) {
        const Tensor dz =
            at::outer(ck.pattern[a.layer][a.head].select(1, s), values(ck, a.layer, a.head)[s]) -
            at::outer(cc.pattern[a.layer][a.head].select(1, s), values(cc, a.layer, a.head)[s]);
        delta = post_diff(r, a.layer, cc.A[a.layer], at::matmul(dz, r.WOh(a.layer, a.head).t()));
    } else {
        delta = post_diff(r, a.layer, cc.A[a.layer],
                          at::matmul(ck.z[a.layer].select(1, a.head) - cc.z[a.layer].select(1, a.head),
                                     r.WOh(a.layer, a.head).t()));
    }
    for (std::size_t k = 1; k < path.size(); ++k) {
        const auto& b = path[k];
        if (b.is_mlp()) {
            const Tensor x = cc.mid[b.layer];
            delta = post_mlp(b.layer, mlp(r, b.layer, rms(r, x + delta, r.ln2[b.layer]))) -
                    post_mlp(b.layer, mlp(r, b.layer, rms(r, x, r.ln2[b.layer])));
            continue;
        }
        const Tensor x = cc.resid[b.layer];
        const Tensor dln = rms(r, x + delta, r.ln1[b.layer]) - rms(r, x, r.ln1[b.layer]);
        Tensor A = cc.pattern[b.layer][b.head].clone(); // [T, T]
        if (const std::int64_t s = source(b); s >= 0) {
            const Tensor column = A.select(1, s).clone();
            A.zero_();
            A.select(1, s).copy_(column);
        }
        const Tensor dz = at::matmul(A, at::matmul(dln, r.WV[b.layer][b.head].t()));
        delta = post_diff(r, b.layer, cc.A[b.layer], at::matmul(dz, r.WOh(b.layer, b.head).t()));
    }
    return delta;
}

inline Tensor rows_at(const std::vector<Tensor>& per_layer, std::int64_t s) { // [L, d] float32
    std::vector<Tensor> rows;
    for (const auto& t : per_layer)
        rows.push_back(t[s]);
    return torch::stack(rows).to(torch::kFloat);
}

inline double rel_err(const Tensor& got, const Tensor& want) {
    return (got.to(kD) - want.to(kD)).norm().item<double>() /
           std::max(1e-30, want.to(kD).norm().item<double>());
}

// The soft-capped observable linearised at the logits of r0: weights n_i sech²(z0_i/cap) and the constant.
inline std::pair<Tensor, double> capped_weights(const Raw& r, const Tensor& n, const Tensor& r0) {
    if (r.cap <= 0) return {n, 0.0};
    const Tensor z0 = at::matmul(rms(r, r0, r.lnf), r.WU.t()), t = at::tanh(z0 / r.cap);
    const Tensor sech2 = 1 - t * t;
    return {n * sech2, (n * (r.cap * t - sech2 * z0)).sum().item<double>()};
}

const std::vector<int> kPrompt{5, 17, 200, 42, 9, 77, 150, 3};
// Prompt pairs; the second pair does not align (path patching leaves it out, attribution does not).
const std::vector<std::vector<int>> kClean{
    {5, 40, 77, 12, 9, 33}, {8, 41, 2, 150, 9}, {5, 60, 70, 80, 90, 100, 110}};
const std::vector<std::vector<int>> kCorrupt{
    {5, 41, 77, 12, 9, 33}, {8, 43, 2, 151}, {7, 61, 70, 80, 90, 100, 11}};
inline const std::vector<Family> kDecoders{Family::Llama, Family::Mistral, Family::Qwen2, Family::Qwen3,
                                           Family::Gemma, Family::Gemma2,  Family::Gemma3};
inline QString fam_name(Family f) {
    return QString::fromLatin1(tools::family_name(f));
}
inline obsprop::PromptBatch prompts(const std::vector<std::vector<int>>& ids) {
    obsprop::PromptBatch p;
    p.ids = ids, p.positions.assign(ids.size(), 1);
    return p;
}
inline obsprop::ObservableMatrix two_observables() {
    obsprop::ObservableMatrix om;
    om.names = {"a", "b"};
    om.n = torch::zeros({2, 300});
    om.n[0][17] = 1.0, om.n[0][42] = -1.0, om.n[0][99] = 0.5, om.n[1][5] = 1.0, om.n[1][250] = -2.0;
    return om;
}
inline void family_rows(const std::vector<Family>& fams, bool bias_row = false) {
    QTest::addColumn<int>("family");
    for (Family f : fams)
        QTest::newRow(qPrintable(fam_name(f))) << int(f);
    if (bias_row) QTest::newRow("gemma2 attention_bias") << kBias + int(Family::Gemma2);
}
// Rows family × {off, on} of a bool column.
inline void flag_rows(const char* column, const std::vector<Family>& fams, const char* off, const char* on) {
    QTest::addColumn<int>("family");
    QTest::addColumn<bool>(column);
    for (Family f : fams)
        for (bool b : {false, true})
            QTest::newRow(qPrintable(fam_name(f) + (b ? on : off))) << int(f) << b;
}

} // namespace decoder_ref
