// Feature vectors and data-free analysis (DESIGN §3.2–3.8), each checked against an independent computation:
// autograd through hand-built head/path functions with frozen attention, explicit loops over the generator's
// raw tensors in their Hugging Face layouts (float64), finite differences, Monte Carlo, explicit SVDs.
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

namespace tools = obsprop::tools;
using obsprop::FeatureOptions;
using obsprop::LnMode;
using obsprop::Observable;
using obsprop::PathNode;
using obsprop::model::Batch;
using obsprop::model::Transformer;
using torch::Tensor;

namespace {

constexpr auto kD = torch::kDouble;

Tensor raw(const tools::GeneratedCheckpoint& g, const std::string& name) {
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

Raw read_raw(const tools::GeneratedCheckpoint& g, const tools::CheckpointSpec& s) {
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

Model make_model(int family, int layers = 2, bool parallel = true, const std::string& act = {}, int d = 32,
                 int heads = 4, std::uint64_t seed = 1,
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

Observable test_observable(double w3 = 0.5) {
    Observable o;
    o.name = "test";
    o.terms = {{17, 1.0}, {42, -1.0}, {99, w3}};
    return o;
}

Tensor raw_vU(const Raw& r, const Observable& o) {
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

Cached run_cache(const Transformer& m, const std::vector<int>& ids) {
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
Tensor residuals_at(const Cached& c, std::int64_t s) {
    std::vector<Tensor> rows;
    for (const auto& r : c.resid)
        rows.push_back(r[s]);
    return torch::stack(rows).to(torch::kFloat);
}

double rel_err(const Tensor& got, const Tensor& want) {
    return (got.to(kD) - want.to(kD)).norm().item<double>() /
           std::max(1e-30, want.to(kD).norm().item<double>());
}

// One head's output [T, d] (no bias after W_O) from its input residual x [T, d] with a frozen pattern.
Tensor head_out(const Raw& r, int l, int h, const Tensor& x, const Tensor& pattern, bool ln) {
    Tensor a = ln ? at::layer_norm(x, {r.d}, r.ln1w[l], r.ln1b[l], r.eps) : x;
    Tensor v = at::matmul(a, r.WV[l][h].t()) + (ln ? r.bV[l][h] : torch::zeros({r.dh}, kD));
    return at::matmul(at::matmul(pattern[h], v), r.WOh(l, h).t());
}

const std::vector<int> kPrompt{5, 17, 200, 42, 9, 77, 150, 3};

void add_family_rows() {
    QTest::addColumn<int>("family");
    QTest::addColumn<bool>("parallel");
    QTest::newRow("gpt2") << int(tools::Family::GPT2) << false;
    QTest::newRow("gpt-neo") << int(tools::Family::GPTNeo) << false;
    QTest::newRow("gpt-neox parallel") << int(tools::Family::GPTNeoX) << true;
    QTest::newRow("gpt-neox sequential") << int(tools::Family::GPTNeoX) << false;
}

} // namespace

class TestFeatures : public QObject {
    Q_OBJECT
  private Q_SLOTS:
    void initTestCase() { torch::manual_seed(1234); }

    // y_{l,h} is the gradient of n·W_U·(head output at the last token) w.r.t. the head's input residual, with
    // the pattern frozen, divided by the attention weight of the source token.
    void headFeatureIsAutogradGradient_data() {
        QTest::addColumn<int>("family");
        QTest::addColumn<bool>("parallel");
        QTest::addColumn<bool>("exact");
        for (bool exact : {false, true}) {
            const char* ln = exact ? " exact LN" : " no LN";
            QTest::newRow(qPrintable(QStringLiteral("gpt2") + ln))
                << int(tools::Family::GPT2) << false << exact;
            QTest::newRow(qPrintable(QStringLiteral("gpt-neo") + ln))
                << int(tools::Family::GPTNeo) << false << exact;
            QTest::newRow(qPrintable(QStringLiteral("neox parallel") + ln))
                << int(tools::Family::GPTNeoX) << true << exact;
            QTest::newRow(qPrintable(QStringLiteral("neox sequential") + ln))
                << int(tools::Family::GPTNeoX) << false << exact;
        }
    }
    void headFeatureIsAutogradGradient() {
        QFETCH(int, family);
        QFETCH(bool, parallel);
        QFETCH(bool, exact);
        auto M = make_model(family, 2, parallel);
        const auto& r = M.raw;
        const Observable obs = test_observable();
        const Tensor vU = raw_vU(r, obs);
        const Cached c = run_cache(*M.m, kPrompt);
        const std::int64_t q = static_cast<std::int64_t>(kPrompt.size()) - 1;
        FeatureOptions o;
        o.block_ln = exact ? LnMode::Exact : LnMode::None;
        for (int l = 0; l < r.L; ++l)
            for (int h : {0, r.H - 1}) {
                Tensor x = c.resid[l].clone().requires_grad_(true);
                (head_out(r, l, h, x, c.pattern[l], exact)[q] * vU).sum().backward();
                const Tensor grad = x.grad();
                int checked = 0;
                for (std::int64_t s = 0; s <= q; ++s) {
                    const double p = c.pattern[l][h][q][s].item<double>();
                    if (p < 0.02) continue;
                    if (exact) o.residuals = residuals_at(c, s);
                    const auto fs = obsprop::compute_head_features(*M.m, obs, o);
                    const double err = rel_err(fs.heads[l][h], grad[s] / p);
                    QVERIFY2(err < 2e-5, qPrintable(QStringLiteral("head %1.%2 source %3: rel err %4")
                                                        .arg(l)
                                                        .arg(h)
                                                        .arg(s)
                                                        .arg(err)));
                    ++checked;
                }
                QVERIFY(checked > 0);
            }
    }

    // Norms against explicit loops over the raw tensors (float64), for the LayerNorm treatments that need no
    // data: none, and the approximation with given ρ (with and without the norm-comparison rule).
    void headNormsMatchExplicitLoops_data() {
        QTest::addColumn<int>("family");
        QTest::addColumn<int>("ln");
        QTest::addColumn<bool>("drop");
        for (int f : {int(tools::Family::GPT2), int(tools::Family::GPTNeo), int(tools::Family::GPTNeoX)}) {
            const QString fam = QString::fromLatin1(tools::family_name(tools::Family(f)));
            QTest::newRow(qPrintable(fam + " no LN")) << f << int(LnMode::None) << false;
            QTest::newRow(qPrintable(fam + " approximate LN")) << f << int(LnMode::Approximate) << false;
            QTest::newRow(qPrintable(fam + " approximate LN, norm comparison"))
                << f << int(LnMode::Approximate) << true;
        }
    }
    void headNormsMatchExplicitLoops() {
        QFETCH(int, family);
        QFETCH(int, ln);
        QFETCH(bool, drop);
        auto M = make_model(family, 3, true);
        const auto& r = M.raw;
        const Observable obs = test_observable(-0.25);
        const bool approx = LnMode(ln) == LnMode::Approximate;
        const std::vector<double> rho{3.0, 5.0, 7.0};
        const double rho_f = 4.0, sd = std::sqrt(double(r.d));
        FeatureOptions o;
        o.block_ln = o.final_ln = LnMode(ln);
        o.rho_ln1 = rho, o.final_rho = rho_f, o.drop_earliest_rho = drop;
        const auto fs = obsprop::compute_head_features(*M.m, obs, o);
        QCOMPARE(fs.norms.sizes(), torch::IntArrayRef({r.L, r.H}));

        std::vector<double> vU(r.d, 0.0), vf(r.d);
        for (const auto& [id, w] : obs.terms)
            for (int j = 0; j < r.d; ++j)
                vU[j] += w * r.WU[id][j].item<double>();
        for (int j = 0; j < r.d; ++j)
            vf[j] = approx ? sd / rho_f * r.lnfw[j].item<double>() * vU[j] : vU[j];
        for (int l = 0; l < r.L; ++l) {
            auto wo = r.WO[l].accessor<double, 2>();
            auto wv = r.WV[l].accessor<double, 3>();
            for (int h = 0; h < r.H; ++h) {
                double norm2 = 0;
                for (int i = 0; i < r.d; ++i) {
                    double yi = 0;
                    for (int e = 0; e < r.dh; ++e) {
                        double qe = 0;
                        for (int j = 0; j < r.d; ++j)
                            qe += wo[j][h * r.dh + e] * vf[j];
                        yi += wv[h][e][i] * qe;
                    }
                    if (approx) yi *= sd / (drop ? 1.0 : rho[l]) * r.ln1w[l][i].item<double>();
                    norm2 += yi * yi;
                }
                const double got = fs.norms[l][h].item<double>(), want = std::sqrt(norm2);
                QVERIFY2(std::abs(got - want) < 1e-5 * want,
                         qPrintable(QStringLiteral("head %1.%2: %3 vs %4").arg(l).arg(h).arg(got).arg(want)));
            }
        }
    }

    // The exact ln_f tangent: r* is on {g = 0} and v_final is ∇g(r*) (autograd through at::layer_norm).
    void finalLayerNormBoundary_data() { add_family_rows(); }
    void finalLayerNormBoundary() {
        QFETCH(int, family);
        QFETCH(bool, parallel);
        auto M = make_model(family, 2, parallel);
        const auto& r = M.raw;
        const Observable obs = test_observable();
        const Tensor vU = raw_vU(r, obs);
        const Cached c = run_cache(*M.m, kPrompt);
        const Tensor r0 = c.final_resid[static_cast<std::int64_t>(kPrompt.size()) - 1];
        auto g = [&](const Tensor& x) {
            return (at::layer_norm(x, {r.d}, r.lnfw, r.lnfb, r.eps) * vU).sum();
        };
        FeatureOptions o;
        o.final_ln = LnMode::Exact;
        o.final_residual = r0.to(torch::kFloat);
        const auto fc = obsprop::final_covector(*M.m, obs, o);
        QVERIFY(fc.boundary.has_value());
        const double g0 = g(r0).item<double>();
        QVERIFY(std::abs(fc.boundary->g_start - g0) < 1e-5 * (1 + std::abs(g0)));
        Tensor rs = fc.boundary->r_star.clone().requires_grad_(true);
        Tensor gs = g(rs);
        QVERIFY2(std::abs(gs.item<double>()) < 1e-6 * (1 + std::abs(g0)),
                 qPrintable(QString::number(gs.item<double>())));
        gs.backward();
        QVERIFY(rel_err(fc.v_final, rs.grad()) < 1e-6);
        QVERIFY(fc.boundary->iterations > 0 && fc.boundary->iterations < 50);
        // The head features use it: y = W_Vᵀ W_Oᵀ v_f.
        const auto fs = obsprop::compute_head_features(*M.m, obs, o);
        const Tensor want = at::matmul(at::matmul(rs.grad(), r.WOh(1, 2)), r.WV[1][2]);
        QVERIFY(rel_err(fs.heads[1][2], want) < 1e-5);
    }

    // Paths with frozen attention: the feature equals the autograd gradient of the path function, and with no
    // LayerNorm y·x reproduces the path's exact (bias-free) contribution.
    void pathIsAutogradGradient_data() {
        QTest::addColumn<int>("family");
        QTest::addColumn<bool>("parallel");
        QTest::addColumn<bool>("exact");
        QTest::addColumn<QString>("path");
        for (bool exact : {false, true}) {
            const QString ln = exact ? QStringLiteral(" exact LN") : QStringLiteral(" no LN");
            QTest::newRow(qPrintable("gpt2 0.1>2.3" + ln))
                << int(tools::Family::GPT2) << false << exact << "0.1>2.3";
            QTest::newRow(qPrintable("gpt-neo 0.2>1.0>2.1" + ln))
                << int(tools::Family::GPTNeo) << false << exact << "0.2 -> 1.0 -> 2.1";
            QTest::newRow(qPrintable("neox parallel 1.3>2.0" + ln))
                << int(tools::Family::GPTNeoX) << true << exact << "1.3, 2.0";
            QTest::newRow(qPrintable("neox sequential 0.0>1.1>2.2" + ln))
                << int(tools::Family::GPTNeoX) << false << exact << "0.0>1.1>2.2";
        }
    }
    void pathIsAutogradGradient() {
        QFETCH(int, family);
        QFETCH(bool, parallel);
        QFETCH(bool, exact);
        QFETCH(QString, path);
        auto M = make_model(family, 3, parallel);
        const auto& r = M.raw;
        const auto nodes = obsprop::parse_path(path.toStdString());
        const std::size_t k = nodes.size();
        const Observable obs = test_observable();
        const Tensor vU = raw_vU(r, obs);
        const std::vector<int> ids{5, 17, 200, 42, 9, 77};
        const std::int64_t T = static_cast<std::int64_t>(ids.size()), q = T - 1;
        const Cached c = run_cache(*M.m, ids);

        // Path function of the first node's input residual; later nodes see the actual residual plus the
        // change of the previous node's output, so gradients flow only along the path.
        Tensor x1 = c.resid[nodes[0].layer].clone().requires_grad_(true);
        Tensor out;
        for (std::size_t i = 0; i < k; ++i) {
            const int l = nodes[i].layer;
            Tensor xi = i == 0 ? x1 : c.resid[l] + (out - out.detach());
            out = head_out(r, l, nodes[i].head, xi, c.pattern[l], exact);
        }
        (out[q] * vU).sum().backward();
        const Tensor grad = x1.grad();

        FeatureOptions o;
        o.block_ln = exact ? LnMode::Exact : LnMode::None;
        // Sum over the intermediate positions s_k, ..., s_2 of the pattern products times the path feature at
        // those positions' residuals.
        std::function<Tensor(std::size_t, std::int64_t, double, std::vector<std::int64_t>&)> expect =
            [&](std::size_t i, std::int64_t query, double weight, std::vector<std::int64_t>& pos) -> Tensor {
            const auto& nd = nodes[i];
            Tensor acc = torch::zeros({r.d}, kD);
            for (std::int64_t s = 0; s < T; ++s) {
                const double p = c.pattern[nd.layer][nd.head][query][s].item<double>();
                if (p == 0) continue;
                pos[i] = s;
                if (i > 0) {
                    acc += expect(i - 1, s, weight * p, pos);
                    continue;
                }
                if (s != pos.back()) continue; // the first node's source is the position being checked
                std::vector<obsprop::PathNodeInput> in(k);
                for (std::size_t j = 0; j < k; ++j)
                    in[j].residual = c.resid[nodes[j].layer][pos[j]].to(torch::kFloat);
                acc += weight * p *
                       obsprop::compute_path_feature(*M.m, obs, nodes, o,
                                                     exact ? in : std::vector<obsprop::PathNodeInput>{})
                           .feature.to(kD);
            }
            return acc;
        };
        int checked = 0;
        for (std::int64_t s1 = 0; s1 < T; ++s1) {
            std::vector<std::int64_t> pos(k + 1, 0);
            pos.back() = s1;
            const Tensor want = grad[s1];
            if (want.norm().item<double>() < 1e-6 * grad.norm().item<double>()) continue;
            const double err = rel_err(expect(k - 1, q, 1.0, pos), want);
            QVERIFY2(err < 5e-5, qPrintable(QStringLiteral("source %1: rel err %2").arg(s1).arg(err)));
            ++checked;
        }
        QVERIFY(checked >= 3);
        if (exact) return;
        // Without LayerNorm: y·x summed with the pattern-product weights is the path's contribution to n·z.
        const auto pf = obsprop::compute_path_feature(*M.m, obs, nodes, o);
        QCOMPARE(QString::fromStdString(pf.hook),
                 QStringLiteral("blocks.%1.hook_resid_pre").arg(nodes[0].layer));
        Tensor w = torch::zeros({T}, kD);
        w[q] = 1.0;
        Tensor signal = c.resid[nodes[0].layer];
        for (std::size_t i = 0; i < k; ++i)
            signal = head_out(r, nodes[i].layer, nodes[i].head, signal, c.pattern[nodes[i].layer], false);
        for (std::size_t i = k; i-- > 0;)
            w = at::matmul(w, c.pattern[nodes[i].layer][nodes[i].head]);
        const double contribution = (signal[q] * vU).sum().item<double>();
        const double predicted =
            (w * at::matmul(c.resid[nodes[0].layer], pf.feature.to(kD))).sum().item<double>();
        QVERIFY2(std::abs(contribution - predicted) < 1e-4 * (1 + std::abs(contribution)),
                 qPrintable(QStringLiteral("%1 vs %2").arg(contribution).arg(predicted)));
    }

    void pathValidation_data() {
        QTest::addColumn<QString>("path");
        QTest::addColumn<bool>("parallel");
        QTest::addColumn<QString>("error");
        QTest::newRow("increasing") << "0.1 -> 2.3" << true << "";
        QTest::newRow("same layer") << "1.0 -> 1.2" << false << "strictly increasing layers";
        QTest::newRow("decreasing") << "2.0 > 1.2" << false << "strictly increasing layers";
        QTest::newRow("head feeds own MLP, sequential") << "1.2 -> mlp1" << false << "";
        QTest::newRow("head feeds own MLP, parallel")
            << "1.2 -> mlp1" << true << "strictly increasing layers";
        QTest::newRow("MLP before head of its layer")
            << "mlp1 -> 1.0" << false << "strictly increasing layers";
        QTest::newRow("layer out of range") << "0.1 -> 3.0" << false << "the model has layers 0..2";
        QTest::newRow("head out of range") << "0.4" << false << "the model has heads 0..3";
        QTest::newRow("syntax") << "0.1 2" << false << "expected '.' after the layer";
        QTest::newRow("empty") << " " << false << "empty path";
    }
    void pathValidation() {
        QFETCH(QString, path);
        QFETCH(bool, parallel);
        QFETCH(QString, error);
        obsprop::io::ModelConfig cfg;
        cfg.n_layers = 3, cfg.n_heads = 4, cfg.parallel_residual = parallel;
        QString got;
        try {
            obsprop::validate_path(cfg, obsprop::parse_path(path.toStdString()));
        } catch (const std::invalid_argument& e) {
            got = QString::fromUtf8(e.what());
        }
        if (error.isEmpty())
            QVERIFY2(got.isEmpty(), qPrintable(got));
        else
            QVERIFY2(got.contains(error), qPrintable(got));
    }

    // MLP linearisation: gradient vs finite differences of an independent MLP, and v·MLP(u(t*)) at the
    // target.
    void mlpLinearisation_data() {
        QTest::addColumn<int>("family");
        QTest::addColumn<QString>("activation");
        QTest::newRow("tanh gelu") << int(tools::Family::GPT2) << "gelu_new";
        QTest::newRow("erf gelu") << int(tools::Family::GPTNeoX) << "gelu";
        QTest::newRow("relu") << int(tools::Family::GPT2) << "relu";
    }
    void mlpLinearisation() {
        torch::manual_seed(1000); // independent of which tests ran before
        QFETCH(int, family);
        QFETCH(QString, activation);
        auto M = make_model(family, 2, false, activation.toStdString());
        const auto& r = M.raw;
        const int l = 1;
        auto sigma = [&](const Tensor& x) {
            return activation == QLatin1String("gelu_new") ? at::gelu(x, "tanh")
                   : activation == QLatin1String("gelu")   ? at::gelu(x)
                                                           : at::relu(x);
        };
        auto f = [&](const Tensor& u, const Tensor& v) {
            return (v * (at::matmul(r.Wout[l], sigma(at::matmul(r.Win[l], u) + r.bin[l])) + r.bout[l]))
                .sum()
                .item<double>();
        };
        bool opposite = false, same = false;
        for (int trial = 0; trial < 16; ++trial) {
            const Tensor v = torch::randn({r.d}, kD);
            const Tensor um = torch::randn({r.d}, kD);
            const Tensor up = trial < 14 ? torch::randn({r.d}, kD) : um + 1e-3 * torch::randn({r.d}, kD);
            // Gradient at a random point against central differences.
            const Tensor g = obsprop::mlp_gradient(*M.m, l, up, v);
            const double h = 1e-6;
            for (int i = 0; i < r.d; i += 3) {
                Tensor e = torch::zeros({r.d}, kD);
                e[i] = h;
                const double fd = (f(up + e, v) - f(up - e, v)) / (2 * h);
                QVERIFY2(
                    std::abs(fd - g[i].item<double>()) < 1e-6 * (1 + g.abs().max().item<double>()),
                    qPrintable(QStringLiteral("dim %1: %2 vs %3").arg(i).arg(g[i].item<double>()).arg(fd)));
            }
            const auto lin = obsprop::linearise_mlp(*M.m, l, up, um, v);
            const double fm = f(um, v), fp = f(up, v);
            QVERIFY(std::abs(lin.value_minus - fm) < 1e-9 * (1 + std::abs(fm)));
            const bool opp = (fm > 0) != (fp > 0);
            (opp ? opposite : same) = true;
            const double target = opp ? 0.0 : 0.5 * (fm + fp);
            QVERIFY(std::abs(lin.target - target) < 1e-9 * (1 + std::abs(target)));
            QVERIFY(lin.t_star >= 0 && lin.t_star <= 1);
            const Tensor ustar = (1 - lin.t_star) * um + lin.t_star * up;
            QVERIFY(rel_err(lin.u_star, ustar) < 1e-12);
            const double at_star = f(ustar, v);
            QVERIFY2(std::abs(at_star - target) < 1e-6 * (1 + std::abs(fm) + std::abs(fp)),
                     qPrintable(QStringLiteral("f(t*) = %1, target %2").arg(at_star).arg(target)));
            Tensor uu = ustar.clone().requires_grad_(true);
            (v * (at::matmul(r.Wout[l], sigma(at::matmul(r.Win[l], uu) + r.bin[l])))).sum().backward();
            QVERIFY(rel_err(lin.gradient, uu.grad()) < 1e-5);
        }
        QVERIFY(opposite && same);
        // A head feeding this MLP (sequential model): y = W_Vᵀ W_Oᵀ ∇_u[v·MLP](u*).
        const Observable obs = test_observable();
        obsprop::PathNodeInput mlp_in;
        mlp_in.u_plus = torch::randn({r.d});
        mlp_in.u_minus = torch::randn({r.d});
        const auto pf = obsprop::compute_path_feature(*M.m, obs, {PathNode::attn(0, 1), PathNode::mlp(1)}, {},
                                                      {obsprop::PathNodeInput{}, mlp_in});
        QCOMPARE(pf.mlp.size(), std::size_t(1));
        Tensor uu = pf.mlp[0].u_star.clone().requires_grad_(true);
        (raw_vU(r, obs) * at::matmul(r.Wout[l], sigma(at::matmul(r.Win[l], uu) + r.bin[l]))).sum().backward();
        QVERIFY(rel_err(pf.feature, at::matmul(at::matmul(uu.grad(), r.WOh(0, 1)), r.WV[0][1])) < 1e-5);
    }

    // The per-head LayerNorm check against autograd through at::layer_norm.
    void layerNormCheck() {
        auto M = make_model(int(tools::Family::GPT2), 2, false);
        const auto& r = M.raw;
        const Observable obs = test_observable();
        const Cached c = run_cache(*M.m, kPrompt);
        const Tensor R = residuals_at(c, 4);
        const auto chk = obsprop::layernorm_check(*M.m, obs, R);
        const Tensor vU = raw_vU(r, obs);
        for (int l = 0; l < r.L; ++l)
            for (int h = 0; h < r.H; ++h) {
                const Tensor y = at::matmul(at::matmul(vU, r.WOh(l, h)), r.WV[l][h]);
                Tensor x = R[l].to(kD).clone().requires_grad_(true);
                (at::layer_norm(x, {r.d}, r.ln1w[l], r.ln1b[l], r.eps) * y).sum().backward();
                const Tensor ap = r.ln1w[l] * y;
                const double want =
                    (x.grad() * ap).sum().item<double>() / (x.grad().norm() * ap.norm()).item<double>();
                QVERIFY(std::abs(chk.cosine[l][h].item<double>() - want) < 1e-5);
                QVERIFY(std::abs(chk.norm_exact[l][h].item<double>() - x.grad().norm().item<double>()) <
                        1e-5 * x.grad().norm().item<double>());
            }
        QVERIFY(std::abs(chk.expected_cosine - std::sqrt(1 - 1.0 / (r.d - 1))) < 1e-15);
    }

    // Head-by-head comparison of two observables against plain formulas.
    void compareObservables() {
        auto M = make_model(int(tools::Family::GPTNeo), 2, false);
        Observable a = test_observable(0.5), b = test_observable(-2.0);
        b.name = "other";
        const auto fa = obsprop::compute_head_features(*M.m, a), fb = obsprop::compute_head_features(*M.m, b);
        const auto cmp = obsprop::compare_features(fa, fb);
        for (int l = 0; l < 2; ++l)
            for (int h = 0; h < 4; ++h) {
                const Tensor ya = fa.heads[l][h].to(kD), yb = fb.heads[l][h].to(kD);
                const double dot = (ya * yb).sum().item<double>(), na = ya.norm().item<double>(),
                             nb = yb.norm().item<double>();
                QVERIFY(std::abs(cmp.cosine[l][h].item<double>() - dot / (na * nb)) < 1e-12);
                QVERIFY(std::abs(cmp.coupling_ab[l][h].item<double>() - dot / (na * na)) <
                        1e-9 * std::abs(dot / (na * na)) + 1e-12);
                QVERIFY(std::abs(cmp.coupling_ba[l][h].item<double>() - dot / (nb * nb)) <
                        1e-9 * std::abs(dot / (nb * nb)) + 1e-12);
                const auto c = cmp.at(l, h);
                QVERIFY(std::abs(c.residual_norm - (yb - dot / (na * na) * ya).norm().item<double>()) <
                        1e-9 * nb);
            }
        const Tensor ua = raw_vU(M.raw, a), ub = raw_vU(M.raw, b);
        QVERIFY(std::abs(cmp.unembed_cosine -
                         (ua * ub).sum().item<double>() / (ua.norm() * ub.norm()).item<double>()) < 1e-6);
    }

    // Head SVDs against explicitly formed W_OV (test only); y lies in span(V); the alignment table.
    void svdAlignment_data() { add_family_rows(); }
    void svdAlignment() {
        QFETCH(int, family);
        QFETCH(bool, parallel);
        auto M = make_model(family, 2, parallel);
        const auto& r = M.raw;
        const Observable obs = test_observable();
        const auto fs = obsprop::compute_head_features(*M.m, obs);
        const auto al = obsprop::svd_alignment(*M.m, fs, 3);
        const auto svds = obsprop::all_head_svds(*M.m, true);
        const auto al2 = obsprop::svd_alignment(*M.m, svds, fs, 3); // from cached SVDs: the same table
        QVERIFY(torch::equal(al.indices, al2.indices) && torch::allclose(al.cosines, al2.cosines));
        const Tensor vU = raw_vU(r, obs);
        for (int l = 0; l < r.L; ++l) {
            const auto hs = obsprop::head_svd(*M.m, l);
            QVERIFY(torch::allclose(hs.U, svds[l].U) && torch::allclose(hs.S, svds[l].S));
            for (int h = 0; h < r.H; ++h) {
                const Tensor WOV = at::matmul(r.WOh(l, h), r.WV[l][h]); // d×d, formed here only
                const Tensor sv = torch::linalg::svdvals(WOV, c10::nullopt).narrow(0, 0, r.dh);
                QVERIFY(rel_err(hs.S[h], sv) < 1e-5);
                const Tensor U = hs.U[h].to(kD), V = hs.V[h].to(kD), S = hs.S[h].to(kD);
                QVERIFY(rel_err(at::matmul(U * S, V.t()), WOV) < 1e-5);
                QVERIFY((at::matmul(V.t(), V) - torch::eye(r.dh, kD)).abs().max().item<double>() < 1e-5);
                const Tensor y = at::matmul(at::matmul(vU, r.WOh(l, h)), r.WV[l][h]);
                const Tensor inside = at::matmul(V, at::matmul(V.t(), y));
                QVERIFY2(rel_err(inside, y) < 1e-5, "y is not in span(V)");
                QVERIFY(std::abs(al.in_span[l][h].item<double>() - 1) < 1e-5);
                const Tensor cosv = at::matmul(V.t(), y) / y.norm();
                const auto idx = cosv.abs().argmax().item<std::int64_t>();
                QCOMPARE(al.indices[l][h][0].item<std::int64_t>(), idx);
                QVERIFY(std::abs(al.cosines[l][h][0].item<double>() - cosv[idx].item<double>()) < 1e-5);
                QVERIFY(std::abs(al.top_sigma[l][h][0].item<double>() - S[idx].item<double>()) <
                        1e-5 * S[0].item<double>());
                for (int j = 1; j < 3; ++j)
                    QVERIFY(al.cosines[l][h][j - 1].abs().item<double>() >=
                            al.cosines[l][h][j].abs().item<double>());
            }
        }
    }

    // A head with W_V = 0 has no Cholesky factor: the QR fallback still gives W_OV's (zero) spectrum.
    void svdRankDeficientHead() {
        auto zero_head0 = [](tools::GeneratedCheckpoint& g) {
            for (auto& [name, t] : g.tensors)
                if (name == "h.1.attn.attention.v_proj.weight")
                    std::fill(t.values.begin(), t.values.begin() + 8 * 32, 0.0f); // rows of head 0 (dh 8)
        };
        auto M = make_model(int(tools::Family::GPTNeo), 2, false, {}, 32, 4, 1, zero_head0);
        const auto& r = M.raw;
        QCOMPARE(r.WV[1][0].abs().max().item<double>(), 0.0);
        const auto hs = obsprop::head_svd(*M.m, 1);
        QCOMPARE(hs.S[0].abs().max().item<double>(), 0.0);
        for (int h = 1; h < r.H; ++h) {
            const Tensor sv =
                torch::linalg::svdvals(at::matmul(r.WOh(1, h), r.WV[1][h]), c10::nullopt).narrow(0, 0, r.dh);
            QVERIFY(rel_err(hs.S[h], sv) < 1e-5);
        }
        const auto al =
            obsprop::svd_alignment(*M.m, obsprop::compute_head_features(*M.m, test_observable()), 2);
        QCOMPARE(al.in_span[1][0].item<double>(), 0.0);
        QVERIFY(std::abs(al.in_span[1][1].item<double>() - 1) < 1e-5);
    }

    // Every 2-head virtual head's norm against a per-pair computation in float64 (exact LayerNorm by
    // autograd).
    void rankingMatchesPerPair_data() {
        QTest::addColumn<int>("family");
        QTest::addColumn<int>("ln");
        QTest::addColumn<int>("method");
        for (int f : {int(tools::Family::GPT2), int(tools::Family::GPTNeoX)})
            for (int ln : {int(LnMode::None), int(LnMode::Approximate), int(LnMode::Exact)})
                for (int meth : {int(obsprop::RankingMethod::Direct), int(obsprop::RankingMethod::Gram)})
                    QTest::newRow(
                        qPrintable(QStringLiteral("%1 %2 %3")
                                       .arg(QString::fromLatin1(tools::family_name(tools::Family(f))))
                                       .arg(QString::fromLatin1(obsprop::ln_mode_name(LnMode(ln))))
                                       .arg(meth == 1 ? "direct" : "gram")))
                        << f << ln << meth;
    }
    void rankingMatchesPerPair() {
        QFETCH(int, family);
        QFETCH(int, ln);
        QFETCH(int, method);
        auto M = make_model(family, 3, true);
        const auto& r = M.raw;
        const Observable obs = test_observable();
        const LnMode mode = LnMode(ln);
        const std::vector<double> rho{3.0, 5.0, 7.0};
        const Cached c = run_cache(*M.m, kPrompt);
        const Tensor R = residuals_at(c, 3);
        FeatureOptions o;
        o.block_ln = mode, o.rho_ln1 = rho, o.residuals = R;
        o.final_ln = mode == LnMode::Approximate ? LnMode::Approximate : LnMode::None;
        o.final_rho = 4.0;
        obsprop::RankingOptions ro;
        ro.keep = 0, ro.method = obsprop::RankingMethod(method);
        const auto rk = obsprop::rank_virtual_heads(*M.m, obs, o, ro);

        const double sd = std::sqrt(double(r.d));
        Tensor vf = raw_vU(r, obs);
        if (mode == LnMode::Approximate) vf = vf * r.lnfw * (sd / 4.0);
        auto J = [&](int l, const Tensor& w, bool earliest) -> Tensor {
            if (mode == LnMode::None) return w;
            if (mode == LnMode::Approximate) return w * r.ln1w[l] * (sd / (earliest ? 1.0 : rho[l]));
            Tensor x = R[l].to(kD).clone().requires_grad_(true);
            (at::layer_norm(x, {r.d}, r.ln1w[l], r.ln1b[l], r.eps) * w).sum().backward();
            const double s = std::sqrt(R[l].to(kD).var(false).item<double>() + r.eps);
            return earliest ? x.grad() * s * sd : x.grad();
        };
        auto ov_t = [&](int l, int h, const Tensor& v) {
            return at::matmul(at::matmul(v, r.WOh(l, h)), r.WV[l][h]);
        };
        std::size_t pairs = 0;
        double largest = 0;
        for (int l2 = 0; l2 < r.L; ++l2)
            for (int h2 = 0; h2 < r.H; ++h2) {
                const Tensor y2 = J(l2, ov_t(l2, h2, vf), false);
                const double single = J(l2, ov_t(l2, h2, vf), true).norm().item<double>();
                QVERIFY(std::abs(rk.single[l2][h2].item<double>() - single) < 1e-5 * single);
                for (int l1 = 0; l1 < r.L; ++l1)
                    for (int h1 = 0; h1 < r.H; ++h1) {
                        const double got = rk.norms[l1][h1][l2][h2].item<double>();
                        if (l1 >= l2) {
                            QVERIFY(std::isnan(got));
                            continue;
                        }
                        const double want = J(l1, ov_t(l1, h1, y2), true).norm().item<double>();
                        QVERIFY2(std::abs(got - want) < 1e-4 * want,
                                 qPrintable(QStringLiteral("%1.%2 -> %3.%4: %5 vs %6")
                                                .arg(l1)
                                                .arg(h1)
                                                .arg(l2)
                                                .arg(h2)
                                                .arg(got)
                                                .arg(want)));
                        ++pairs;
                        largest = std::max(largest, want);
                    }
            }
        QCOMPARE(rk.n_pairs, pairs);
        QCOMPARE(rk.top.size(), pairs);
        QVERIFY(std::abs(rk.top.front().norm - largest) < 1e-4 * largest);
        for (std::size_t i = 1; i < rk.top.size(); ++i)
            QVERIFY(rk.top[i - 1].norm >= rk.top[i].norm);
        const auto& t = rk.top[5];
        QCOMPARE(t.norm, double(rk.norms[t.layer1][t.head1][t.layer2][t.head2].item<float>()));
    }

    // Cancelling: the call throws Cancelled at the next check, promptly, and never reports again.
    void cancelStopsQuickly() {
        auto M = make_model(int(tools::Family::GPTNeo), 8, false, {}, 256, 8);
        const Observable obs = test_observable();
        using Clock = std::chrono::steady_clock;
        // A full run reports monotone fractions ending at 1.
        std::vector<double> fractions;
        obsprop::rank_virtual_heads(*M.m, obs, {}, {}, [&](double f, std::string_view) {
            fractions.push_back(f);
            return true;
        });
        QVERIFY(fractions.size() >= 8);
        for (std::size_t i = 1; i < fractions.size(); ++i)
            QVERIFY(fractions[i] >= fractions[i - 1]);
        QCOMPARE(fractions.back(), 1.0);
        for (std::size_t stop_at : {std::size_t(0), std::size_t(3), fractions.size() / 2}) {
            std::size_t calls = 0, after = 0;
            Clock::time_point stopped{};
            auto progress = [&](double, std::string_view) {
                if (stopped != Clock::time_point{}) ++after;
                if (calls++ == stop_at) {
                    stopped = Clock::now();
                    return false;
                }
                return true;
            };
            bool cancelled = false;
            try {
                obsprop::rank_virtual_heads(*M.m, obs, {}, {}, progress);
            } catch (const obsprop::Cancelled&) {
                cancelled = true;
            }
            const double ms = std::chrono::duration<double, std::milli>(Clock::now() - stopped).count();
            QVERIFY(cancelled);
            QCOMPARE(after, std::size_t(0));
            QVERIFY2(ms < 100, qPrintable(QStringLiteral("%1 ms").arg(ms)));
        }
        auto refuse = [](double, std::string_view) { return false; };
        QVERIFY_THROWS_EXCEPTION(obsprop::Cancelled, obsprop::compute_head_features(*M.m, obs, {}, refuse));
        const auto fs = obsprop::compute_head_features(*M.m, obs);
        QVERIFY_THROWS_EXCEPTION(obsprop::Cancelled, obsprop::svd_alignment(*M.m, fs, 5, refuse));
    }

    void badInputs() {
        auto M = make_model(int(tools::Family::GPT2));
        Observable o = test_observable();
        o.terms.push_back({300, 1.0});
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, obsprop::compute_head_features(*M.m, o));
        FeatureOptions x;
        x.block_ln = LnMode::Exact; // no residuals
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                                 obsprop::compute_head_features(*M.m, test_observable(), x));
        x = {};
        x.final_ln = LnMode::Exact; // no r0
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                                 obsprop::compute_head_features(*M.m, test_observable(), x));
        x = {};
        x.block_ln = LnMode::Approximate, x.rho_ln1 = {1.0}; // wrong length
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                                 obsprop::compute_head_features(*M.m, test_observable(), x));
    }
};

QTEST_APPLESS_MAIN(TestFeatures)
#include "tst_features.moc"
