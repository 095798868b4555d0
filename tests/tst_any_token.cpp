// Steering and attribution at any token, against the independent naive reference run on the whole prompt:
//   - steering at every token ("all") at layer 0 equals adding α·y to every row of the position table, and
//     its linear prediction is the central difference for small α;
//   - attribution of the prediction at token t (the prompt cut after t) equals direct-path patching, the
//     gradient and total-effect patching computed from the full prompts' traces at position t.
#include "loop_reference.h"
#include "pair_fixtures.h"
#include "test_models.h"

#include <QtTest>

#include <cmath>

#include "obsprop/attribution.h"
#include "obsprop/steering.h"
#include "project/dataset.h"

using namespace obsprop;
using test_models::make_tiny;
using test_models::TinyModel;
using torch::Tensor;

namespace {

using Vec = std::vector<double>;

const std::vector<std::pair<int, double>> kTerms = {{10, 1.0}, {20, -1.0}};
// Aligned pairs (equal lengths), read at token kRead: the third token, whose prediction is not the last.
const std::vector<std::vector<int>> kClean = {{5, 40, 77, 12, 9, 33}, {8, 41, 2, 150, 9}, {5, 60, 70, 80}};
const std::vector<std::vector<int>> kCorrupt = {{5, 41, 77, 12, 9, 33}, {8, 43, 2, 151, 9}, {5, 61, 71, 80}};
constexpr int kRead = 2;

ObservableMatrix matrix(int vocab) {
    return pair_fixtures::matrix(vocab, kTerms);
}

// n·z at position t of a naive trace (these models have no unembedding bias).
double score_at(const naive::Trace& tr, int t) {
    double s = 0;
    for (auto [id, w] : kTerms)
        s += w * tr.logits[static_cast<std::size_t>(t)][static_cast<std::size_t>(id)];
    return s;
}

// n·W_U ln_f(r) for a final residual r (GPT-2's tied unembedding).
double score_of_residual(const TinyModel& t, const Vec& r) {
    Vec y = loop_reference::layer_norm(r, t.tensor("ln_f.weight").values, t.tensor("ln_f.bias").values, 1e-5);
    const auto& wte = t.tensor("wte.weight");
    double s = 0;
    for (auto [id, w] : kTerms)
        for (std::size_t i = 0; i < y.size(); ++i)
            s += w * wte.values[static_cast<std::size_t>(id) * y.size() + i] * y[i];
    return s;
}

// Head h's output W_O^h z^h at position t (bias excluded) from a naive trace and GPT-2's Conv1D c_proj.
Vec head_output_at(const TinyModel& t, const naive::Trace& tr, int l, int h, int pos) {
    const int d = t.spec.d_model, dh = t.spec.d_head();
    const auto& W = t.tensor("h." + std::to_string(l) + ".attn.c_proj.weight"); // [H*dh, d]
    const auto& z =
        tr.z[static_cast<std::size_t>(l)][static_cast<std::size_t>(pos)][static_cast<std::size_t>(h)];
    Vec o(static_cast<std::size_t>(d), 0.0);
    for (int j = 0; j < d; ++j)
        for (int e = 0; e < dh; ++e)
            o[static_cast<std::size_t>(j)] += W.values[static_cast<std::size_t>((h * dh + e) * d + j)] * z[e];
    return o;
}

PromptBatch batch(const std::vector<std::vector<int>>& ids) {
    return pair_fixtures::prompts(ids);
}

std::vector<int> read_at(const std::vector<std::vector<int>>& ids) {
    return std::vector<int>(ids.size(), kRead);
}

bool close(double got, double want, double tol) {
    return std::abs(got - want) <= tol * (1.0 + std::abs(want));
}

} // namespace

class TestAnyToken : public QObject {
    Q_OBJECT
    TinyModel t_ = make_tiny(tools::Family::GPT2, 23);

  private Q_SLOTS:
    void positionsParse() {
        QCOMPARE(project::token_position("all", 3, 9), project::kEveryToken);
        QVERIFY(project::is_token_position("all"));
        QVERIFY(!project::is_single_token_position("all"));
        QVERIFY(project::is_single_token_position("-2"));
        QVERIFY(!project::is_token_position("every"));
    }

    void cutAfterKeepsTheTokensBefore() {
        PromptBatch b = batch(kClean);
        b.positions = {4, 1, 3};
        const PromptBatch c = cut_after(b, {2, 4, 0});
        QCOMPARE(c.ids[0], (std::vector<int>{5, 40, 77}));
        QCOMPARE(c.ids[1], kClean[1]);
        QCOMPARE(c.ids[2], (std::vector<int>{5}));
        QCOMPARE(c.positions, (std::vector<int>{2, 1, 0})); // clamped to the cut
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, cut_after(b, {2, 5, 0}));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, cut_after(b, {2, 1}));
    }

    // Adding α·y at blocks.0.hook_resid_pre at every token equals adding it to every row of wpe.
    void steeringAtEveryToken() {
        auto obs = matrix(300);
        PromptBatch ps = batch({{5, 40, 77, 12}, {8, 41, 2, 150, 9}, {3}});
        ps.positions.assign(ps.size(), project::kEveryToken);
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, ps.check());
        ps.check(/*every_token=*/true);
        auto base = steering_baseline(*t_.model, ps, 0, obs);
        torch::manual_seed(77);
        const Tensor y = torch::randn({t_.spec.d_model});
        const double alpha = 0.9;
        const auto r = steer(*t_.model, ps, base, obs, y, alpha);
        auto w = t_.naive();
        auto& wpe = w.at("wpe.weight");
        for (std::size_t row = 0; row < wpe.values.size() / static_cast<std::size_t>(t_.spec.d_model); ++row)
            for (int i = 0; i < t_.spec.d_model; ++i)
                wpe.values[row * static_cast<std::size_t>(t_.spec.d_model) + static_cast<std::size_t>(i)] +=
                    static_cast<float>(alpha * y[i].item<double>());
        for (std::size_t p = 0; p < ps.size(); ++p) {
            const auto tr = naive::run(t_.gen.config, w, ps.ids[p]);
            const double want = score_at(tr, static_cast<int>(ps.ids[p].size()) - 1);
            QVERIFY2(close(r.values[static_cast<std::int64_t>(p)][0].item<double>(), want, 1e-4),
                     qPrintable(QStringLiteral("prompt %1: %2 vs %3")
                                    .arg(p)
                                    .arg(r.values[static_cast<std::int64_t>(p)][0].item<double>())
                                    .arg(want)));
        }
        // The linear prediction is the derivative along y of adding it everywhere: central differences.
        const double small = 1e-3;
        const auto rp = steer(*t_.model, ps, base, obs, y, small),
                   rm = steer(*t_.model, ps, base, obs, y, -small);
        const double exact = (rp.mean_change[0].item<double>() - rm.mean_change[0].item<double>()) / 2;
        const double pred = rp.predicted[0].item<double>();
        QVERIFY2(std::abs(exact - pred) < 0.01 * std::abs(pred) + 1e-5,
                 qPrintable(QStringLiteral("%1 vs %2").arg(exact).arg(pred)));
        // One token only is a different vector: the prediction at token 0 differs.
        PromptBatch one = ps;
        one.positions.assign(ps.size(), 0);
        const auto b0 = steering_baseline(*t_.model, one, 0, obs);
        QVERIFY(std::abs(predict_steering(b0, y, small)[0].item<double>() - pred) > 1e-9);
    }

    // Direct-path patching of the prediction at token kRead, from the full prompts' traces at kRead.
    void patchingAtAToken() {
        auto obs = matrix(300);
        const auto a =
            attribute_heads(*t_.model, cut_after(batch(kClean), read_at(kClean)),
                            cut_after(batch(kCorrupt), read_at(kCorrupt)), obs, AttributionMethod::Patching);
        for (std::size_t p = 0; p < kClean.size(); ++p) {
            const auto tc = t_.run_naive(kClean[p]), tk = t_.run_naive(kCorrupt[p]);
            const Vec& r = tc.resid_final[kRead];
            for (int l = 0; l < t_.spec.n_layers; ++l)
                for (int h = 0; h < t_.spec.n_heads; ++h) {
                    const Vec oc = head_output_at(t_, tc, l, h, kRead),
                              ok = head_output_at(t_, tk, l, h, kRead);
                    Vec rp = r;
                    for (std::size_t i = 0; i < rp.size(); ++i)
                        rp[i] += ok[i] - oc[i];
                    const double want = score_of_residual(t_, r) - score_of_residual(t_, rp);
                    const double got = a.per_pair[static_cast<std::int64_t>(p)][0][l][h].item<double>();
                    QVERIFY2(close(got, want, 1e-4), qPrintable(QStringLiteral("pair %1 head %2.%3: %4 vs %5")
                                                                    .arg(p)
                                                                    .arg(l)
                                                                    .arg(h)
                                                                    .arg(got)
                                                                    .arg(want)));
                }
            // The clean value is the prediction at kRead, not at the last token.
            QVERIFY(close(a.clean_values[static_cast<std::int64_t>(p)][0].item<double>(), score_at(tc, kRead),
                          1e-4));
        }
    }

    // The gradient form at token kRead: minus the directional derivative of the score at kRead.
    void gradientAtAToken() {
        auto obs = matrix(300);
        const auto a =
            attribute_heads(*t_.model, cut_after(batch(kClean), read_at(kClean)),
                            cut_after(batch(kCorrupt), read_at(kCorrupt)), obs, AttributionMethod::Gradient);
        const double eps = 1e-4;
        for (std::size_t p = 0; p < kClean.size(); ++p) {
            const auto tc = t_.run_naive(kClean[p]), tk = t_.run_naive(kCorrupt[p]);
            const Vec& r = tc.resid_final[kRead];
            for (int l = 0; l < t_.spec.n_layers; ++l)
                for (int h = 0; h < t_.spec.n_heads; h += 2) {
                    const Vec oc = head_output_at(t_, tc, l, h, kRead),
                              ok = head_output_at(t_, tk, l, h, kRead);
                    Vec rp = r, rm = r;
                    for (std::size_t i = 0; i < r.size(); ++i)
                        rp[i] += eps * (ok[i] - oc[i]), rm[i] -= eps * (ok[i] - oc[i]);
                    const double want = -(score_of_residual(t_, rp) - score_of_residual(t_, rm)) / (2 * eps);
                    const double got = a.per_pair[static_cast<std::int64_t>(p)][0][l][h].item<double>();
                    QVERIFY2(close(got, want, 1e-3),
                             qPrintable(QStringLiteral("%1 vs %2").arg(got).arg(want)));
                }
        }
    }

    // Total effect at token kRead: the whole clean prompt run with one head's z (or one MLP's output) from
    // the corrupted prompt at every position, read at kRead.
    void totalEffectAtAToken() {
        auto obs = matrix(300);
        const auto a =
            attribute_heads(*t_.model, cut_after(batch(kClean), read_at(kClean)),
                            cut_after(batch(kCorrupt), read_at(kCorrupt)), obs, AttributionMethod::Total);
        const naive::Weights w = t_.naive();
        const int L = t_.spec.n_layers, H = t_.spec.n_heads;
        std::vector<Vec> heads(static_cast<std::size_t>(L), Vec(static_cast<std::size_t>(H), 0.0));
        Vec mlp(static_cast<std::size_t>(L), 0.0);
        double scale = 0;
        for (std::size_t p = 0; p < kClean.size(); ++p) {
            const auto clean = naive::run(t_.gen.config, w, kClean[p]);
            const auto corrupt = naive::run(t_.gen.config, w, kCorrupt[p]);
            const double base = score_at(clean, kRead);
            scale = std::max(scale, std::abs(base));
            for (int l = 0; l < L; ++l) {
                const auto li = static_cast<std::size_t>(l);
                for (int h = 0; h < H; ++h) {
                    naive::Overrides ov;
                    std::vector<Vec> z;
                    for (const auto& at_t : corrupt.z[li])
                        z.push_back(at_t[static_cast<std::size_t>(h)]);
                    ov.z[{l, h}] = z;
                    heads[li][static_cast<std::size_t>(h)] +=
                        (base - score_at(naive::run(t_.gen.config, w, kClean[p], ov), kRead)) / kClean.size();
                }
                naive::Overrides ov;
                ov.mlp_out[l] = corrupt.mlp_out[li];
                mlp[li] +=
                    (base - score_at(naive::run(t_.gen.config, w, kClean[p], ov), kRead)) / kClean.size();
            }
        }
        QCOMPARE(a.per_pair.size(0), std::int64_t(kClean.size()));
        for (int l = 0; l < L; ++l) {
            for (int h = 0; h < H; ++h) {
                const double got = a.mean[0][l][h].item<double>(),
                             want = heads[std::size_t(l)][std::size_t(h)];
                QVERIFY2(std::abs(got - want) <= 2e-5 * (1 + scale),
                         qPrintable(QStringLiteral("head %1.%2: %3 vs %4").arg(l).arg(h).arg(got).arg(want)));
            }
            QVERIFY(std::abs(a.mlp_mean[0][l].item<double>() - mlp[std::size_t(l)]) <= 2e-5 * (1 + scale));
        }
    }
};

QTEST_APPLESS_MAIN(TestAnyToken)
#include "tst_any_token.moc"
