// Observables as tensors (the dense n of a parsed expression; the parser itself is tst_observables_parse)
// and the model-free maths applied to observables' feature vectors: the LayerNorm gradient and theorem
// (§3.4) and the coupling theorem (§3.6), against finite differences and Monte Carlo.
#include "obsprop/analysis.h"
#include "obsprop/layernorm.h"
#include "obsprop/observable.h"
#include "toy_tokenizer.h"

#include <QtTest>

#include <algorithm>
#include <cmath>
#include <map>

using obsprop::Observable;
using obsprop::ObservableError;

namespace {

constexpr int kToyVocab = 100;
constexpr auto kD = torch::kDouble;
using torch::Tensor;

double rel_err(const Tensor& got, const Tensor& want) {
    return (got.to(kD) - want.to(kD)).norm().item<double>() /
           std::max(1e-30, want.to(kD).norm().item<double>());
}

} // namespace

class TestObservables : public QObject {
    Q_OBJECT
  private Q_SLOTS:
    void initTestCase() { torch::manual_seed(99); }

    // ∇ₓ[v·LN(x)] against central finite differences of a LayerNorm written out here.
    void layerNormGradient_data() {
        QTest::addColumn<int>("d");
        QTest::addColumn<double>("eps");
        QTest::newRow("d 8, eps 0") << 8 << 0.0;
        QTest::newRow("d 64, eps 0") << 64 << 0.0;
        QTest::newRow("d 64, eps 1e-5") << 64 << 1e-5;
        QTest::newRow("d 17, eps 0.3") << 17 << 0.3;
    }
    void layerNormGradient() {
        torch::manual_seed(1000); // independent of which tests ran before
        QFETCH(int, d);
        QFETCH(double, eps);
        const Tensor gamma = 1 + 0.3 * torch::randn({d}, kD), beta = 0.1 * torch::randn({d}, kD);
        const Tensor x = torch::randn({3, d}, kD) + 0.5, v = torch::randn({3, d}, kD);
        auto ln = [&](const Tensor& z) {
            const double mu = z.mean().item<double>();
            const double var = ((z - mu) * (z - mu)).mean().item<double>();
            return (z - mu) / std::sqrt(var + eps) * gamma + beta;
        };
        const Tensor g = obsprop::ln_exact_grad(x, gamma, v, eps);
        const Tensor g_drop = obsprop::ln_exact_grad(x, gamma, v, eps, true);
        QCOMPARE(g.sizes(), x.sizes());
        for (int b = 0; b < 3; ++b) {
            const double h = 1e-6;
            for (int i = 0; i < d; ++i) {
                Tensor e = torch::zeros({d}, kD);
                e[i] = h;
                const double fd = ((ln(x[b] + e) - ln(x[b] - e)) * v[b]).sum().item<double>() / (2 * h);
                QVERIFY2(std::abs(fd - g[b][i].item<double>()) < 1e-7 * (1 + g[b].abs().max().item<double>()),
                         qPrintable(QStringLiteral("row %1 dim %2: %3 vs %4")
                                        .arg(b)
                                        .arg(i)
                                        .arg(g[b][i].item<double>())
                                        .arg(fd)));
            }
            // The norm-comparison form replaces 1/s by √d.
            const double s = std::sqrt(x[b].var(false).item<double>() + eps);
            QVERIFY(rel_err(g_drop[b], g[b] * s * std::sqrt(double(d))) < 1e-12);
        }
        // The approximation is (√d/ρ)γ⊙v.
        QVERIFY(rel_err(obsprop::ln_approx_grad(gamma, v, 2.5), v * gamma * (std::sqrt(double(d)) / 2.5)) <
                1e-14);
    }

    // The LayerNorm theorem on Gaussian data: the exact gradient's direction differs from the (mean-removed)
    // input direction by O(1/d), mean cos = √(1 − 1/(d−1)); against the raw direction (mean included) the
    // two removed dimensions give (d−2)/(d−1).
    void layerNormTheorem_data() {
        QTest::addColumn<int>("d");
        QTest::addColumn<int>("samples");
        QTest::addColumn<double>("tol");
        QTest::newRow("d 64") << 64 << 6000 << 8e-4;
        QTest::newRow("d 512") << 512 << 2000 << 2e-4;
    }
    void layerNormTheorem() {
        torch::manual_seed(1001); // independent of which tests ran before
        QFETCH(int, d);
        QFETCH(int, samples);
        QFETCH(double, tol);
        const Tensor x = torch::randn({samples, d}, kD), y = torch::randn({samples, d}, kD);
        const Tensor g = obsprop::ln_exact_grad(x, torch::ones({d}, kD), y, 0.0);
        auto cos = [](const Tensor& a, const Tensor& b) {
            return (a * b).sum(-1) / (a.norm(2, {-1}) * b.norm(2, {-1}));
        };
        const double centred = cos(g, y - y.mean(-1, true)).mean().item<double>();
        const double plain = cos(g, y).mean().item<double>();
        const double theorem = std::sqrt(1.0 - 1.0 / (d - 1));
        QVERIFY2(std::abs(centred - theorem) < tol,
                 qPrintable(QStringLiteral("%1 vs %2").arg(centred).arg(theorem)));
        QVERIFY2(std::abs(plain - double(d - 2) / (d - 1)) < tol,
                 qPrintable(QStringLiteral("%1 vs %2").arg(plain).arg(double(d - 2) / (d - 1))));
    }

    // Theorem 2 by Monte Carlo: x uniform on {‖x‖ = r, y₁·x = k}.
    void couplingMonteCarlo_data() {
        QTest::addColumn<int>("d");
        QTest::addColumn<double>("k");
        QTest::addColumn<double>("corr");
        QTest::newRow("d 3") << 3 << 0.3 << -0.5;
        QTest::newRow("d 16") << 16 << 0.5 << 0.6;
        QTest::newRow("d 128") << 128 << -1.0 << 0.2;
    }
    void couplingMonteCarlo() {
        torch::manual_seed(1002); // independent of which tests ran before
        QFETCH(int, d);
        QFETCH(double, k);
        QFETCH(double, corr);
        const Tensor y1 = torch::randn({d}, kD), y2 = corr * y1 + torch::randn({d}, kD);
        const auto cp = obsprop::coupling(y1, y2);
        const double n1 = y1.norm().item<double>();
        QVERIFY(std::abs(cp.coefficient - (y1 * y2).sum().item<double>() / (n1 * n1)) < 1e-12);
        const double r = 2 * std::abs(k) / n1 + 1.0;
        const int M = 20000;
        const Tensor u1 = y1 / n1;
        Tensor w = torch::randn({M, d}, kD);
        w = w - at::outer(at::matmul(w, u1), u1);
        w = w / w.norm(2, {-1}, true);
        const Tensor x = (k / (n1 * n1)) * y1 + std::sqrt(r * r - k * k / (n1 * n1)) * w;
        QVERIFY((x.norm(2, {-1}) - r).abs().max().item<double>() < 1e-9);
        QVERIFY((at::matmul(x, y1) - k).abs().max().item<double>() < 1e-9);
        const Tensor s = at::matmul(x, y2);
        const double mean = s.mean().item<double>(), se = s.std().item<double>() / std::sqrt(double(M));
        QVERIFY2(
            std::abs(mean - cp.expectation(k)) < 5 * se + 1e-12,
            qPrintable(QStringLiteral("mean %1 vs kC %2 (se %3)").arg(mean).arg(cp.expectation(k)).arg(se)));
        const double hw = cp.half_width(r, k);
        const double dev = (s - cp.expectation(k)).abs().max().item<double>();
        QVERIFY2(dev <= hw * (1 + 1e-9),
                 qPrintable(QStringLiteral("deviation %1 > bound %2").arg(dev).arg(hw)));
        if (d == 3) QVERIFY(dev > 0.99 * hw); // a circle: the bound is reached
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, cp.half_width(0.5 * std::abs(k) / n1, k));
    }

    // The dense vector has exactly the terms, merged by id.
    void vectorHoldsTheTerms() {
        Observable o = obsprop::parse_observable("0.5*\" her\" + 0.5*\" she\" - \" him\" + #7 + 2*#7",
                                                 toy_encode, kToyVocab);
        const Tensor n = o.vector(kToyVocab);
        QCOMPARE(n.size(0), static_cast<std::int64_t>(kToyVocab));
        const std::map<int, double> want{{12, 0.5}, {10, 0.5}, {13, -1.0}, {7, 3.0}};
        for (int id = 0; id < kToyVocab; ++id) {
            const auto it = want.find(id);
            QCOMPARE(n[id].item<double>(), it == want.end() ? 0.0 : it->second);
        }
    }

    void vectorRejectsSmallVocabulary() {
        Observable o = obsprop::parse_observable("#50 - #3", toy_encode, kToyVocab);
        QVERIFY_THROWS_EXCEPTION(std::out_of_range, o.vector(40));
        QCOMPARE(o.vector(51)[50].item<float>(), 1.0f);
    }
};

QTEST_APPLESS_MAIN(TestObservables)
#include "tst_observables.moc"
