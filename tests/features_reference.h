// Shared by the feature suites of GPT-2, GPT-Neo and GPT-NeoX (tst_features, tst_features_analysis): the
// generator's raw Hugging Face tensors read independently of model::Weights, in float64, frozen-pattern head
// outputs, cached runs and the test models. Nothing here calls the feature code under test.
#pragma once

#include "checkpoint_gen.h"
#include "model/runtime.h"
#include "model/transformer.h"
#include "obsprop/analysis.h"
#include "obsprop/features.h"
#include "obsprop/layernorm.h"
#include "obsprop/mlp.h"
#include "obsprop/ranking.h"
#include "obsprop/svd.h"

#include <QTemporaryDir>
#include <QtTest>

#include <torch/linalg.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <memory>

namespace features_ref {

namespace tools = obsprop::tools;
using obsprop::FeatureOptions;
using obsprop::LnMode;
using obsprop::Observable;
using obsprop::PathNode;
using obsprop::model::Batch;
using obsprop::model::Transformer;
using torch::Tensor;

constexpr auto kD = torch::kDouble;

inline Tensor raw(const tools::GeneratedCheckpoint& g, const std::string& name) {
    const auto& t = g.at(name);
    return torch::tensor(std::vector<double>(t.values.begin(), t.values.end()), kD).reshape(t.shape);
}

// The weights read independently of model::Weights, straight from the Hugging Face layouts, in float64.
struct Raw {
    int L = 0, H = 0, d = 0, dh = 0;
    double eps = 1e-5;
    std::vector<Tensor> WV, WO, bV;             // [H, dh, d], [d, H*dh], [H, dh]
    std::vector<Tensor> ln1w, ln1b, ln2w, ln2b; // [d]
    std::vector<Tensor> Win, bin, Wout, bout;   // [m, d], [m], [d, m], [d]
    Tensor WU, lnfw, lnfb;

    Tensor WOh(int l, int h) const { return WO[l].narrow(1, h * dh, dh); } // W_O^h [d, dh]
};

inline Raw read_raw(const tools::GeneratedCheckpoint& g, const tools::CheckpointSpec& s) {
    Raw r;
    r.L = s.n_layers, r.H = s.n_heads, r.d = s.d_model, r.dh = s.d_head(), r.eps = s.ln_eps;
    const int H = r.H, d = r.d, dh = r.dh;
    const bool neox = s.family == tools::Family::GPTNeoX;
    for (int l = 0; l < r.L; ++l) {
        Tensor WV = torch::zeros({H, dh, d}, kD), WO = torch::zeros({d, H * dh}, kD),
               bV = torch::zeros({H, dh}, kD);
        auto wv = WV.accessor<double, 3>();
        auto wo = WO.accessor<double, 2>();
        auto bv = bV.accessor<double, 2>();
        const std::string p = (neox ? "layers." : "h.") + std::to_string(l) + ".";
        if (s.family == tools::Family::GPT2) {
            const auto& ca = g.at(p + "attn.c_attn.weight").values; // Conv1D [in d, out 3d]: q | k | v
            const auto& cb = g.at(p + "attn.c_attn.bias").values;
            const auto& cp = g.at(p + "attn.c_proj.weight").values; // Conv1D [in H*dh, out d]
            for (int h = 0; h < H; ++h)
                for (int e = 0; e < dh; ++e) {
                    for (int i = 0; i < d; ++i)
                        wv[h][e][i] = ca[i * 3 * d + 2 * d + h * dh + e];
                    bv[h][e] = cb[2 * d + h * dh + e];
                }
            for (int j = 0; j < d; ++j)
                for (int k = 0; k < H * dh; ++k)
                    wo[j][k] = cp[k * d + j];
            r.ln1w.push_back(raw(g, p + "ln_1.weight")), r.ln1b.push_back(raw(g, p + "ln_1.bias"));
            r.ln2w.push_back(raw(g, p + "ln_2.weight")), r.ln2b.push_back(raw(g, p + "ln_2.bias"));
            r.Win.push_back(raw(g, p + "mlp.c_fc.weight").t().contiguous());
            r.Wout.push_back(raw(g, p + "mlp.c_proj.weight").t().contiguous());
            r.bin.push_back(raw(g, p + "mlp.c_fc.bias")), r.bout.push_back(raw(g, p + "mlp.c_proj.bias"));
        } else if (s.family == tools::Family::GPTNeo) {
            const auto& vp = g.at(p + "attn.attention.v_proj.weight").values;   // Linear [out H*dh, in d]
            const auto& op = g.at(p + "attn.attention.out_proj.weight").values; // Linear [out d, in H*dh]
            for (int h = 0; h < H; ++h)
                for (int e = 0; e < dh; ++e)
                    for (int i = 0; i < d; ++i)
                        wv[h][e][i] = vp[(h * dh + e) * d + i];
            for (int j = 0; j < d; ++j)
                for (int k = 0; k < H * dh; ++k)
                    wo[j][k] = op[j * H * dh + k];
            r.ln1w.push_back(raw(g, p + "ln_1.weight")), r.ln1b.push_back(raw(g, p + "ln_1.bias"));
            r.ln2w.push_back(raw(g, p + "ln_2.weight")), r.ln2b.push_back(raw(g, p + "ln_2.bias"));
            r.Win.push_back(raw(g, p + "mlp.c_fc.weight")), r.Wout.push_back(raw(g, p + "mlp.c_proj.weight"));
            r.bin.push_back(raw(g, p + "mlp.c_fc.bias")), r.bout.push_back(raw(g, p + "mlp.c_proj.bias"));
        } else {
            const auto& qkv = g.at(p + "attention.query_key_value.weight").values; // rows (head, q|k|v, e)
            const auto& qb = g.at(p + "attention.query_key_value.bias").values;
            const auto& dn = g.at(p + "attention.dense.weight").values;
            for (int h = 0; h < H; ++h)
                for (int e = 0; e < dh; ++e) {
                    for (int i = 0; i < d; ++i)
                        wv[h][e][i] = qkv[(h * 3 * dh + 2 * dh + e) * d + i];
                    bv[h][e] = qb[h * 3 * dh + 2 * dh + e];
                }
            for (int j = 0; j < d; ++j)
                for (int k = 0; k < H * dh; ++k)
                    wo[j][k] = dn[j * H * dh + k];
            r.ln1w.push_back(raw(g, p + "input_layernorm.weight"));
            r.ln1b.push_back(raw(g, p + "input_layernorm.bias"));
            r.ln2w.push_back(raw(g, p + "post_attention_layernorm.weight"));
            r.ln2b.push_back(raw(g, p + "post_attention_layernorm.bias"));
            r.Win.push_back(raw(g, p + "mlp.dense_h_to_4h.weight")),
                r.bin.push_back(raw(g, p + "mlp.dense_h_to_4h.bias"));
            r.Wout.push_back(raw(g, p + "mlp.dense_4h_to_h.weight")),
                r.bout.push_back(raw(g, p + "mlp.dense_4h_to_h.bias"));
        }
        r.WV.push_back(WV), r.WO.push_back(WO), r.bV.push_back(bV);
    }
    r.WU = raw(g, neox ? "embed_out.weight" : "wte.weight");
    r.lnfw = raw(g, neox ? "final_layer_norm.weight" : "ln_f.weight");
    r.lnfb = raw(g, neox ? "final_layer_norm.bias" : "ln_f.bias");
    return r;
}

struct Model {
    tools::CheckpointSpec spec;
    Raw raw;
    std::unique_ptr<QTemporaryDir> tmp;
    std::shared_ptr<Transformer> m;
};

inline Model make_model(int family, int layers = 2, bool parallel = true, const std::string& act = {},
                        int d = 32, int heads = 4, std::uint64_t seed = 1,
                        const std::function<void(tools::GeneratedCheckpoint&)>& edit = {}) {
    Model M;
    auto& s = M.spec;
    s = tools::preset("tiny", tools::Family(family));
    s.prefix = false, s.vocab = 300, s.n_ctx = 16, s.window_size = 4, s.seed = seed;
    s.n_layers = layers, s.d_model = d, s.n_heads = heads, s.d_mlp = 2 * d, s.parallel_residual = parallel;
    s.activation = act;
    auto g = tools::generate(s);
    if (edit) edit(g);
    M.raw = read_raw(g, s);
    M.tmp = std::make_unique<QTemporaryDir>();
    tools::write_checkpoint(g, s, M.tmp->path().toStdString());
    M.m = Transformer::load(M.tmp->path().toStdString());
    return M;
}

inline Observable test_observable(double w3 = 0.5) {
    Observable o;
    o.name = "test";
    o.terms = {{17, 1.0}, {42, -1.0}, {99, w3}};
    return o;
}

inline Tensor raw_vU(const Raw& r, const Observable& o) {
    Tensor v = torch::zeros({r.d}, kD);
    for (const auto& [id, w] : o.terms)
        v += w * r.WU[id];
    return v;
}

// Frozen activations of one prompt: resid_pre [T, d] and patterns [H, T, T] per layer, final residual.
struct Cached {
    std::vector<Tensor> resid, pattern;
    Tensor final_resid; // [T, d]
};

inline Cached run_cache(const Transformer& m, const std::vector<int>& ids) {
    const int L = m.config().n_layers;
    std::set<std::string> names{obsprop::model::hook_name(L - 1, "hook_resid_post")};
    for (int l = 0; l < L; ++l)
        names.insert(obsprop::model::hook_name(l, "hook_resid_pre")),
            names.insert(obsprop::model::hook_name(l, "attn.hook_pattern"));
    obsprop::model::ActivationCache c;
    torch::NoGradGuard ng;
    m.run_with_cache(Batch::from({ids}), names, c);
    Cached out;
    for (int l = 0; l < L; ++l) {
        out.resid.push_back(c.at(obsprop::model::hook_name(l, "hook_resid_pre"))[0].to(kD));
        out.pattern.push_back(c.at(obsprop::model::hook_name(l, "attn.hook_pattern"))[0].to(kD));
    }
    out.final_resid = c.at(obsprop::model::hook_name(L - 1, "hook_resid_post"))[0].to(kD);
    return out;
}

// [L, d]: every layer's resid_pre at position s.
inline Tensor residuals_at(const Cached& c, std::int64_t s) {
    std::vector<Tensor> rows;
    for (const auto& r : c.resid)
        rows.push_back(r[s]);
    return torch::stack(rows).to(torch::kFloat);
}

inline double rel_err(const Tensor& got, const Tensor& want) {
    return (got.to(kD) - want.to(kD)).norm().item<double>() /
           std::max(1e-30, want.to(kD).norm().item<double>());
}

// One head's output [T, d] (no bias after W_O) from its input residual x [T, d] with a frozen pattern.
inline Tensor head_out(const Raw& r, int l, int h, const Tensor& x, const Tensor& pattern, bool ln) {
    Tensor a = ln ? at::layer_norm(x, {r.d}, r.ln1w[l], r.ln1b[l], r.eps) : x;
    Tensor v = at::matmul(a, r.WV[l][h].t()) + (ln ? r.bV[l][h] : torch::zeros({r.dh}, kD));
    return at::matmul(at::matmul(pattern[h], v), r.WOh(l, h).t());
}

const std::vector<int> kPrompt{5, 17, 200, 42, 9, 77, 150, 3};

inline void add_family_rows() {
    QTest::addColumn<int>("family");
    QTest::addColumn<bool>("parallel");
    QTest::newRow("gpt2") << int(tools::Family::GPT2) << false;
    QTest::newRow("gpt-neo") << int(tools::Family::GPTNeo) << false;
    QTest::newRow("gpt-neox parallel") << int(tools::Family::GPTNeoX) << true;
    QTest::newRow("gpt-neox sequential") << int(tools::Family::GPTNeoX) << false;
}

} // namespace features_ref
