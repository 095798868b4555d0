// Total-effect activation patching (attribution.h): against explicit patched runs of the independent naive
// reference (its z and mlp_out overrides, themselves checked here), the identity with direct-path patching
// for the last layer of a parallel-residual model, zero for a head whose output does not depend on the
// prompt, batching, pair alignment, progress and cancellation.
#include "pair_fixtures.h"
#include "test_models.h"

#include <QtTest>

#include <cmath>

#include "obsprop/attribution.h"

using namespace obsprop;
using test_models::make_tiny;
using test_models::TinyModel;
using torch::Tensor;

namespace {

using Vec = std::vector<double>;
using Mat = std::vector<Vec>;

const std::vector<std::pair<int, double>> kTerms = {{10, 1.0}, {20, -1.0}};
// Pairs 0, 1 and 3 align token for token; pair 2 does not (its corrupted prompt is one token longer).
const std::vector<std::vector<int>> kClean = {
    {5, 40, 77, 12, 9, 33}, {8, 41, 2, 150, 9}, {7, 7, 7, 7}, {5, 60, 70, 80, 90, 100, 110}};
const std::vector<std::vector<int>> kCorrupt = {
    {5, 41, 77, 12, 9, 33}, {8, 43, 2, 151, 9}, {7, 7, 7, 7, 7}, {5, 61, 70, 80, 90, 100, 111}};

using pair_fixtures::prompts;

ObservableMatrix matrix(int vocab) {
    return pair_fixtures::matrix(vocab, kTerms);
}

// n·z at the last position of a naive trace (n·b_U is zero: these models have no unembedding bias).
double score(const naive::Trace& t) {
    double s = 0;
    for (auto [id, w] : kTerms)
        s += w * t.logits.back()[static_cast<std::size_t>(id)];
    return s;
}

bool close(double got, double want, double scale) {
    return std::abs(got - want) <= 2e-5 * (1.0 + std::abs(scale));
}

// The explicit computation: for each aligned pair, the naive clean run, then one naive run per head with
// that head's z taken from the naive corrupted run at every position, and one per MLP with its output taken
// likewise; drops averaged over the aligned pairs. [layer][head] and [layer] (mlp).
struct Explicit {
    Mat heads;
    Vec mlp;
    double scale = 0; // the largest |n·z| met, for tolerances
    int pairs = 0;
};

Explicit explicit_total_effect(const TinyModel& t) {
    const auto& c = t.model->config();
    Explicit e;
    e.heads.assign(static_cast<std::size_t>(c.n_layers), Vec(static_cast<std::size_t>(c.n_heads), 0.0));
    e.mlp.assign(static_cast<std::size_t>(c.n_layers), 0.0);
    const naive::Weights w = t.naive();
    for (std::size_t p = 0; p < kClean.size(); ++p) {
        if (kClean[p].size() != kCorrupt[p].size()) continue;
        ++e.pairs;
        const naive::Trace clean = naive::run(t.gen.config, w, kClean[p]);
        const naive::Trace corrupt = naive::run(t.gen.config, w, kCorrupt[p]);
        const double base = score(clean);
        e.scale = std::max(e.scale, std::abs(base));
        for (int l = 0; l < c.n_layers; ++l) {
            const auto li = static_cast<std::size_t>(l);
            for (int h = 0; h < c.n_heads; ++h) {
                naive::Overrides ov;
                Mat z;
                for (const auto& at_t : corrupt.z[li])
                    z.push_back(at_t[static_cast<std::size_t>(h)]);
                ov.z[{l, h}] = z;
                e.heads[li][static_cast<std::size_t>(h)] +=
                    base - score(naive::run(t.gen.config, w, kClean[p], ov));
            }
            naive::Overrides ov;
            ov.mlp_out[l] = corrupt.mlp_out[li];
            e.mlp[li] += base - score(naive::run(t.gen.config, w, kClean[p], ov));
        }
    }
    for (auto& row : e.heads)
        for (double& v : row)
            v /= e.pairs;
    for (double& v : e.mlp)
        v /= e.pairs;
    return e;
}

// A GPT-2 model whose head (layer, head) has zero value weights: its values are the value bias at every
// token, so its z (and output) is the same on every prompt.
TinyModel gpt2_with_constant_head(int layer, int head) {
    TinyModel t;
    t.spec = tools::preset("tiny", tools::Family::GPT2);
    t.spec.n_layers = 3, t.spec.seed = 31, t.spec.vocab = 300, t.spec.prefix = false;
    t.gen = tools::generate(t.spec);
    const std::int64_t d = t.spec.d_model, dh = d / t.spec.n_heads;
    for (auto& [name, tensor] : t.gen.tensors)
        if (name == "h." + std::to_string(layer) + ".attn.c_attn.weight") // Conv1D [d, 3d]: q | k | v
            for (std::int64_t i = 0; i < d; ++i)
                for (std::int64_t e = 0; e < dh; ++e)
                    tensor.values[static_cast<std::size_t>(i * 3 * d + 2 * d + head * dh + e)] = 0.0f;
    const std::string dir = t.dir->path().toStdString() + "/model";
    tools::write_checkpoint(t.gen, t.spec, dir);
    t.model = model::Transformer::load(dir);
    return t;
}

} // namespace

class TestTotalEffect : public QObject {
    Q_OBJECT
    TinyModel gpt2_ = make_tiny(tools::Family::GPT2, 23, 300, 3);
    TinyModel neox_ = make_tiny(tools::Family::GPTNeoX, 29, 300, 3); // parallel residual

    void checkAgainstNaive(const TinyModel& t) {
        const auto& c = t.model->config();
        const Attribution a = attribute_heads(*t.model, prompts(kClean), prompts(kCorrupt), matrix(300),
                                              AttributionMethod::Total);
        const Explicit e = explicit_total_effect(t);
        QCOMPARE(e.pairs, 3);
        QCOMPARE(a.per_pair.size(0), std::int64_t{3}); // the pair that does not align is left out
        QCOMPARE(a.pairs_given, 4);
        QCOMPARE(a.mean.sizes().vec(), (std::vector<std::int64_t>{1, c.n_layers, c.n_heads}));
        QCOMPARE(a.mlp_mean.sizes().vec(), (std::vector<std::int64_t>{1, c.n_layers}));
        double largest = 0;
        for (int l = 0; l < c.n_layers; ++l) {
            for (int h = 0; h < c.n_heads; ++h) {
                const double got = a.mean[0][l][h].item<double>(), want = e.heads[l][h];
                largest = std::max(largest, std::abs(want));
                QVERIFY2(close(got, want, e.scale),
                         qPrintable(QStringLiteral("head %1.%2: %3 vs %4").arg(l).arg(h).arg(got).arg(want)));
            }
            const double got = a.mlp_mean[0][l].item<double>(), want = e.mlp[l];
            QVERIFY2(close(got, want, e.scale),
                     qPrintable(QStringLiteral("mlp%1: %2 vs %3").arg(l).arg(got).arg(want)));
        }
        QVERIFY(largest > 1e-3); // the comparison is not between zeros
        // The clean values are the naive n·z of the aligned clean prompts.
        int row = 0;
        for (std::size_t p = 0; p < kClean.size(); ++p)
            if (kClean[p].size() == kCorrupt[p].size()) {
                const double want = score(t.run_naive(kClean[p]));
                QVERIFY(close(a.clean_values[row][0].item<double>(), want, want));
                const double corrupt = score(t.run_naive(kCorrupt[p]));
                QVERIFY(close(a.corrupt_values[row++][0].item<double>(), corrupt, corrupt));
            }
    }

  private Q_SLOTS:
    // The naive reference's interventions: replacing a value by itself changes nothing; replacing a
    // last-layer head's z (parallel residual: nothing after it reads it) moves the final residual by exactly
    // W_O^h Δz at every position; replacing a last-layer MLP output moves it by exactly the difference.
    void naiveOverridesDoWhatTheySay() {
        const naive::Weights w = neox_.naive();
        const auto& ids = kClean[0];
        const naive::Trace t = neox_.run_naive(ids);
        const int L = 3, H = 4, d = 64, dh = 16;
        {
            naive::Overrides same;
            same.z[{1, 2}] = [&] {
                Mat z;
                for (const auto& at_t : t.z[1])
                    z.push_back(at_t[2]);
                return z;
            }();
            same.mlp_out[0] = t.mlp_out[0];
            const naive::Trace u = naive::run(neox_.gen.config, w, ids, same);
            QCOMPARE(u.logits, t.logits);
        }
        naive::Overrides ov;
        Mat z(ids.size(), Vec(dh, 0.0));
        for (std::size_t p = 0; p < ids.size(); ++p)
            for (int e = 0; e < dh; ++e)
                z[p][e] = 0.1 * (e + 1) - 0.03 * static_cast<double>(p);
        ov.z[{L - 1, 1}] = z;
        Mat mlp(ids.size(), Vec(d, 0.0));
        for (std::size_t p = 0; p < ids.size(); ++p)
            for (int i = 0; i < d; ++i)
                mlp[p][i] = std::sin(0.3 * i + static_cast<double>(p));
        ov.mlp_out[L - 1] = mlp;
        const naive::Trace u = naive::run(neox_.gen.config, w, ids, ov);
        const auto& WO = neox_.tensor("layers.2.attention.dense.weight"); // [d, d], nn.Linear [out, in]
        double worst = 0;
        for (std::size_t p = 0; p < ids.size(); ++p)
            for (int i = 0; i < d; ++i) {
                double want = t.resid_final[p][i] + (mlp[p][i] - t.mlp_out[L - 1][p][i]);
                for (int e = 0; e < dh; ++e)
                    want += static_cast<double>(WO.values[static_cast<std::size_t>(i * d + 1 * dh + e)]) *
                            (z[p][e] - t.z[L - 1][p][1][e]);
                worst = std::max(worst, std::abs(u.resid_final[p][i] - want));
            }
        QVERIFY2(worst < 1e-9, qPrintable(QString::number(worst)));
        QCOMPARE(u.mlp_out[L - 1], mlp);
        QCOMPARE(u.z[L - 1][0][1], z[0]);
        // Misshapen or out-of-range overrides are errors.
        naive::Overrides bad;
        bad.z[{L, 0}] = z;
        QVERIFY_THROWS_EXCEPTION(std::runtime_error, naive::run(neox_.gen.config, w, ids, bad));
        naive::Overrides shortz;
        shortz.z[{0, 0}] = Mat(ids.size() - 1, Vec(dh, 0.0));
        QVERIFY_THROWS_EXCEPTION(std::runtime_error, naive::run(neox_.gen.config, w, ids, shortz));
        Q_UNUSED(H);
    }

    void matchesNaivePatchedRunsGpt2() { checkAgainstNaive(gpt2_); }
    void matchesNaivePatchedRunsParallelResidual() { checkAgainstNaive(neox_); }

    // In a parallel-residual model a last-layer head's output is read by nothing but ln_f and the unembedding
    // (the layer's MLP reads the block input), so its total effect is its direct-path patching. Not so in
    // GPT-2, where the last layer's MLP reads the attention output.
    void lastLayerOfParallelResidualIsDirectPath() {
        auto check = [&](const TinyModel& t, bool equal) {
            const int last = t.model->config().n_layers - 1;
            const auto total = attribute_heads(*t.model, prompts(kClean), prompts(kCorrupt), matrix(300),
                                               AttributionMethod::Total);
            // Direct-path patching over the same (aligned) pairs.
            const auto direct = attribute_heads(*t.model, prompts({kClean[0], kClean[1], kClean[3]}),
                                                prompts({kCorrupt[0], kCorrupt[1], kCorrupt[3]}), matrix(300),
                                                AttributionMethod::Patching);
            double worst = 0, largest = 0;
            for (int h = 0; h < t.model->config().n_heads; ++h) {
                const double a = total.mean[0][last][h].item<double>(),
                             b = direct.mean[0][last][h].item<double>();
                worst = std::max(worst, std::abs(a - b));
                largest = std::max(largest, std::abs(b));
            }
            QVERIFY(largest > 1e-3);
            if (equal)
                QVERIFY2(worst < 1e-5 * (1 + largest), qPrintable(QString::number(worst)));
            else
                QVERIFY2(worst > 1e-4 * largest, qPrintable(QString::number(worst)));
        };
        check(neox_, true);
        check(gpt2_, false);
    }

    // A head whose output is the same on both prompts has no total effect; nor does anything on a pair of
    // identical prompts.
    void constantHeadHasNoEffect() {
        const TinyModel t = gpt2_with_constant_head(1, 2);
        const auto a = attribute_heads(*t.model, prompts(kClean), prompts(kCorrupt), matrix(300),
                                       AttributionMethod::Total);
        QVERIFY2(std::abs(a.mean[0][1][2].item<double>()) < 1e-5,
                 qPrintable(QString::number(a.mean[0][1][2].item<double>())));
        QVERIFY(a.mean.abs().max().item<double>() > 1e-3); // the other heads do matter
        const auto same =
            attribute_heads(*gpt2_.model, prompts({kClean[0], kClean[3]}), prompts({kClean[0], kClean[3]}),
                            matrix(300), AttributionMethod::Total);
        QVERIFY(same.mean.abs().max().item<double>() < 1e-5);
        QVERIFY(same.mlp_mean.abs().max().item<double>() < 1e-5);
    }

    // Pairs are batched (and each layer's heads and MLP with them): the numbers of one pair do not depend on
    // the company it keeps.
    void batchingDoesNotChangeAPairsNumbers() {
        const auto all = attribute_heads(*gpt2_.model, prompts(kClean), prompts(kCorrupt), matrix(300),
                                         AttributionMethod::Total);
        const auto one = attribute_heads(*gpt2_.model, prompts({kClean[3]}), prompts({kCorrupt[3]}),
                                         matrix(300), AttributionMethod::Total);
        QVERIFY(torch::allclose(all.per_pair[2], one.per_pair[0], 1e-5, 1e-6));
        QVERIFY(torch::allclose(all.mlp_per_pair[2], one.mlp_per_pair[0], 1e-5, 1e-6));
    }

    void refusesPairsThatDoNotAlign() {
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                                 attribute_heads(*gpt2_.model, prompts({kClean[2]}), prompts({kCorrupt[2]}),
                                                 matrix(300), AttributionMethod::Total));
    }

    void reportsProgressAndCancels() {
        std::vector<double> seen;
        attribute_heads(*gpt2_.model, prompts(kClean), prompts(kCorrupt), matrix(300),
                        AttributionMethod::Total, [&](double f, std::string_view) {
                            seen.push_back(f);
                            return true;
                        });
        QVERIFY(seen.size() > 6);
        QVERIFY(std::is_sorted(seen.begin(), seen.end()));
        QCOMPARE(seen.back(), 1.0);
        // Cancelled between layers of the patched runs.
        int calls = 0;
        QVERIFY_THROWS_EXCEPTION(
            Cancelled, attribute_heads(*gpt2_.model, prompts(kClean), prompts(kCorrupt), matrix(300),
                                       AttributionMethod::Total, [&](double, std::string_view stage) {
                                           return ++calls < 5 ||
                                                  stage.find("patched") == std::string_view::npos;
                                       }));
        QVERIFY(calls >= 5);
    }
};

QTEST_GUILESS_MAIN(TestTotalEffect)
#include "tst_total_effect.moc"
