// Analyses that need data: observable values, residual norms, direct-path attribution (exact and
// gradient), steering and the coupling fit, each against an independent computation (the naive
// reference in double precision, explicit loops over the raw checkpoint tensors, finite differences).
#include "loop_reference.h"
#include "test_models.h"

#include <QtTest>

#include <cmath>
#include <limits>

#include "obsprop/attribution.h"
#include "obsprop/coupling_fit.h"
#include "obsprop/steering.h"

using namespace obsprop;
using test_models::make_tiny;
using test_models::TinyModel;
using torch::Tensor;

namespace {

using Vec = std::vector<double>;

// LayerNorm with a checkpoint's γ and β.
Vec layer_norm(const Vec& x, const obsprop::io::HostTensor& g, const obsprop::io::HostTensor& b, double eps) {
    return loop_reference::layer_norm(x, g.values, b.values, eps);
}

// n·(W_U ln_f(r)) for the tied GPT-2 unembedding, n given as (id, weight) terms.
double score(const TinyModel& t, const Vec& r, const std::vector<std::pair<int, double>>& n) {
    Vec y = layer_norm(r, t.tensor("ln_f.weight"), t.tensor("ln_f.bias"), 1e-5);
    const auto& wte = t.tensor("wte.weight");
    const auto d = y.size();
    double s = 0;
    for (auto [id, w] : n)
        for (std::size_t i = 0; i < d; ++i)
            s += w * wte.values[static_cast<std::size_t>(id) * d + i] * y[i];
    return s;
}

// Head h's output W_O^h z^h at the last position, from the naive trace and the Conv1D c_proj tensor.
Vec head_output(const TinyModel& t, const naive::Trace& tr, int l, int h) {
    const int d = t.spec.d_model, dh = t.spec.d_head();
    const auto& W = t.tensor("h." + std::to_string(l) + ".attn.c_proj.weight"); // [in = H*dh, out = d]
    const auto& z = tr.z[static_cast<std::size_t>(l)].back()[static_cast<std::size_t>(h)];
    Vec o(static_cast<std::size_t>(d), 0.0);
    for (int j = 0; j < d; ++j)
        for (int e = 0; e < dh; ++e)
            o[j] += W.values[static_cast<std::size_t>((h * dh + e) * d + j)] * z[e];
    return o;
}

ObservableMatrix matrix(int vocab, const std::vector<std::vector<std::pair<int, double>>>& terms) {
    ObservableMatrix m;
    m.n = torch::zeros({static_cast<std::int64_t>(terms.size()), vocab});
    for (std::size_t k = 0; k < terms.size(); ++k) {
        m.names.push_back("obs" + std::to_string(k));
        for (auto [id, w] : terms[k])
            m.n[static_cast<std::int64_t>(k)][id] += w;
    }
    return m;
}

const std::vector<std::vector<std::pair<int, double>>> kTerms = {{{10, 1.0}, {20, -1.0}},
                                                                 {{7, 0.5}, {99, 0.5}, {3, -1.0}}};

PromptBatch prompts(const std::vector<std::vector<int>>& ids, int position) {
    PromptBatch p;
    p.ids = ids;
    for (const auto& i : ids)
        p.positions.push_back(std::min<int>(position, static_cast<int>(i.size()) - 1));
    return p;
}

const std::vector<std::vector<int>> kClean = {
    {5, 40, 77, 12, 9, 33}, {8, 41, 2, 150, 9}, {5, 60, 70, 80, 90, 100, 110}};
const std::vector<std::vector<int>> kCorrupt = {
    {5, 41, 77, 12, 9, 33}, {8, 43, 2, 150, 9, 1}, {5, 61, 70, 80, 90, 100, 110}};

} // namespace

class TestDataAnalysis : public QObject {
    Q_OBJECT
    TinyModel t_ = make_tiny(tools::Family::GPT2, 17);

  private Q_SLOTS:
    void observableValuesMatchReference() {
        auto obs = matrix(300, kTerms);
        Tensor v =
            observable_values(*t_.model, prompts(kClean, 1), obs, {}, 2); // chunks of 2 exercise chunking
        for (std::size_t p = 0; p < kClean.size(); ++p) {
            auto tr = t_.run_naive(kClean[p]);
            for (std::size_t k = 0; k < kTerms.size(); ++k) {
                double want = 0;
                for (auto [id, w] : kTerms[k])
                    want += w * tr.logits.back()[static_cast<std::size_t>(id)];
                QVERIFY(std::abs(v[p][k].item<double>() - want) < 1e-4 * (1 + std::abs(want)));
            }
        }
    }

    void residualNormsMatchReference() {
        auto r = residual_norms(*t_.model, prompts(kClean, 2));
        double want = 0;
        std::vector<double> ln1(static_cast<std::size_t>(t_.spec.n_layers), 0.0);
        for (const auto& ids : kClean) {
            auto tr = t_.run_naive(ids);
            double s = 0;
            for (double x : tr.resid_final.back())
                s += x * x;
            want += std::sqrt(s) / kClean.size();
            for (int l = 0; l < t_.spec.n_layers; ++l) {
                double q = 0;
                for (double x : tr.resid_pre[static_cast<std::size_t>(l)][2])
                    q += x * x;
                ln1[static_cast<std::size_t>(l)] += std::sqrt(q) / kClean.size();
            }
        }
        QVERIFY(std::abs(r.final_rho - want) < 1e-4 * want);
        for (int l = 0; l < t_.spec.n_layers; ++l)
            QVERIFY(std::abs(r.ln1_rho[l] - ln1[l]) < 1e-4 * ln1[l]);
    }

    // Exact direct-path patching, recomputed with explicit loops from the naive traces.
    void patchingMatchesExplicitComputation() {
        auto obs = matrix(300, kTerms);
        auto a = attribute_heads(*t_.model, prompts(kClean, 1), prompts(kCorrupt, 1), obs,
                                 AttributionMethod::Patching);
        QCOMPARE(a.per_pair.sizes(), (std::vector<std::int64_t>{3, 2, t_.spec.n_layers, t_.spec.n_heads}));
        for (std::size_t p = 0; p < kClean.size(); ++p) {
            auto tc = t_.run_naive(kClean[p]), tk = t_.run_naive(kCorrupt[p]);
            const Vec& r = tc.resid_final.back();
            for (int l = 0; l < t_.spec.n_layers; ++l)
                for (int h = 0; h < t_.spec.n_heads; ++h) {
                    Vec oc = head_output(t_, tc, l, h), ok = head_output(t_, tk, l, h), rp = r;
                    for (std::size_t i = 0; i < rp.size(); ++i)
                        rp[i] += ok[i] - oc[i];
                    for (std::size_t k = 0; k < kTerms.size(); ++k) {
                        const double want = score(t_, r, kTerms[k]) - score(t_, rp, kTerms[k]);
                        const double got = a.per_pair[p][k][l][h].item<double>();
                        QVERIFY2(std::abs(got - want) < 1e-4 * (1 + std::abs(want)),
                                 qPrintable(QStringLiteral("pair %1 head %2.%3: %4 vs %5")
                                                .arg(p)
                                                .arg(l)
                                                .arg(h)
                                                .arg(got)
                                                .arg(want)));
                    }
                }
        }
        // The mean is the mean.
        QVERIFY(torch::allclose(a.mean, a.per_pair.mean(0)));
    }

    // The gradient form equals minus the directional derivative along (o_corr − o_clean), which central
    // finite differences of the explicit score give independently.
    void gradientMatchesFiniteDifferences() {
        auto obs = matrix(300, kTerms);
        auto a = attribute_heads(*t_.model, prompts(kClean, 1), prompts(kCorrupt, 1), obs,
                                 AttributionMethod::Gradient);
        const double eps = 1e-4;
        for (std::size_t p = 0; p < kClean.size(); ++p) {
            auto tc = t_.run_naive(kClean[p]), tk = t_.run_naive(kCorrupt[p]);
            const Vec& r = tc.resid_final.back();
            for (int l = 0; l < t_.spec.n_layers; ++l)
                for (int h = 0; h < t_.spec.n_heads; h += 3) {
                    Vec oc = head_output(t_, tc, l, h), ok = head_output(t_, tk, l, h), rp = r, rm = r;
                    for (std::size_t i = 0; i < r.size(); ++i)
                        rp[i] += eps * (ok[i] - oc[i]), rm[i] -= eps * (ok[i] - oc[i]);
                    for (std::size_t k = 0; k < kTerms.size(); ++k) {
                        const double want =
                            -(score(t_, rp, kTerms[k]) - score(t_, rm, kTerms[k])) / (2 * eps);
                        const double got = a.per_pair[p][k][l][h].item<double>();
                        QVERIFY2(std::abs(got - want) < 1e-3 * (1 + std::abs(want)),
                                 qPrintable(QStringLiteral("%1 vs %2").arg(got).arg(want)));
                    }
                }
        }
    }

    // Adding α·y at blocks.0.hook_resid_pre, position p equals adding it to wpe[p] in the naive model.
    void steeringMatchesReferenceAndSmallAlphaIsLinear() {
        auto obs = matrix(300, kTerms);
        auto ps = prompts({{5, 40, 77, 12}, {8, 41, 2, 150, 9}}, 2);
        auto base = steering_baseline(*t_.model, ps, 0, obs);
        torch::manual_seed(1234); // a fixed direction: the O(α²) tolerance below is for this vector
        Tensor y = torch::randn({t_.spec.d_model}, torch::TensorOptions().dtype(torch::kFloat));
        const double alpha = 1.7;
        auto r = steer(*t_.model, ps, base, obs, y, alpha);
        auto w = t_.naive();
        auto& wpe = w.at("wpe.weight");
        for (int i = 0; i < t_.spec.d_model; ++i)
            wpe.values[2 * t_.spec.d_model + i] += static_cast<float>(alpha * y[i].item<double>());
        for (std::size_t p = 0; p < ps.size(); ++p) {
            auto tr = naive::run(t_.gen.config, w, ps.ids[p]);
            for (std::size_t k = 0; k < kTerms.size(); ++k) {
                double want = 0;
                for (auto [id, wt] : kTerms[k])
                    want += wt * tr.logits.back()[static_cast<std::size_t>(id)];
                QVERIFY(std::abs(r.values[p][k].item<double>() - want) < 1e-4 * (1 + std::abs(want)));
            }
        }
        // For small α the exact change approaches the linear prediction. The central difference of +α and
        // −α cancels the O(α²) term, leaving O(α³) plus float32 rounding. (This random model is strongly
        // nonlinear, ‖y‖ ≈ 8: the central difference converges as 0.1 → 2x off, 0.01 → 2 %, 0.001 → 0.06 %.)
        const double small = 1e-3;
        auto rs = steer(*t_.model, ps, base, obs, y, small), rm = steer(*t_.model, ps, base, obs, y, -small);
        for (int k = 0; k < 2; ++k) {
            const double exact = (rs.mean_change[k].item<double>() - rm.mean_change[k].item<double>()) / 2;
            const double pred = rs.predicted[k].item<double>();
            QVERIFY2(std::abs(exact - pred) < 0.01 * std::abs(pred) + 1e-5,
                     qPrintable(QStringLiteral("%1 vs %2").arg(exact).arg(pred)));
        }
        QVERIFY(torch::allclose(predict_steering(base, y, 2 * small), 2 * rs.predicted));
    }

    void steeringRejectsBadInput_data() {
        QTest::addColumn<double>("alpha");
        QTest::addColumn<int>("size");
        QTest::addColumn<QString>("message");
        QTest::newRow("NaN multiplier") << std::nan("") << 64 << "not a finite number";
        QTest::newRow("infinite multiplier")
            << std::numeric_limits<double>::infinity() << 64 << "not a finite number";
        QTest::newRow("absurd multiplier") << 1e9 << 64 << "absurd";
        QTest::newRow("wrong vector size") << 1.0 << 10 << "d_model is 64";
    }
    void steeringRejectsBadInput() {
        QFETCH(double, alpha);
        QFETCH(int, size);
        QFETCH(QString, message);
        auto obs = matrix(300, kTerms);
        auto ps = prompts({{5, 40, 77}}, 1);
        auto base = steering_baseline(*t_.model, ps, 1, obs);
        try {
            steer(*t_.model, ps, base, obs, torch::ones({size}), alpha);
            QFAIL("expected an error");
        } catch (const std::invalid_argument& e) {
            QVERIFY2(QString::fromUtf8(e.what()).contains(message), e.what());
        }
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, steering_baseline(*t_.model, ps, 7, obs));
    }

    void couplingFitByHand() {
        // Tokens x with s1 = x0 and s2 = x1: x1 = 2·x0 + 3 exactly, so slope 2, intercept 3, R² 1.
        Tensor X = torch::tensor({0.0, 3.0, 1.0, 5.0, -2.0, -1.0, 4.0, 11.0}, torch::kDouble).view({4, 2});
        Tensor y1 = torch::tensor({1.0, 0.0}, torch::kDouble), y2 = torch::tensor({0.0, 1.0}, torch::kDouble);
        auto f = fit_coupling(X, y1, y2);
        QCOMPARE(f.slope, 2.0);
        QCOMPARE(f.intercept, 3.0);
        QCOMPARE(f.r2, 1.0);
        QCOMPARE(f.predicted, 0.0);
        // Points (0,0), (1,1), (2,1): slope 0.5, intercept 1/6, R² = 0.75 (worked by hand).
        X = torch::tensor({0.0, 0.0, 1.0, 1.0, 2.0, 1.0}, torch::kDouble).view({3, 2});
        f = fit_coupling(X, y1, y2);
        QVERIFY(std::abs(f.slope - 0.5) < 1e-12);
        QVERIFY(std::abs(f.intercept - 1.0 / 6.0) < 1e-12);
        QVERIFY(std::abs(f.r2 - 0.75) < 1e-12);
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, fit_coupling(X.narrow(0, 0, 1), y1, y2));
    }

    void tokenActivationsCoverEveryRealToken() {
        auto ps = prompts(kClean, 0);
        Tensor X = token_activations(*t_.model, ps, 1);
        QCOMPARE(X.size(0), std::int64_t(6 + 5 + 7));
        auto tr = t_.run_naive(kClean[1]); // rows 6..10 are prompt 1
        for (int i = 0; i < t_.spec.d_model; ++i)
            QVERIFY(std::abs(X[6 + 4][i].item<double>() - tr.resid_pre[1][4][static_cast<std::size_t>(i)]) <
                    1e-4);
    }
};

QTEST_APPLESS_MAIN(TestDataAnalysis)
#include "tst_data_analysis.moc"
