// Data-free analyses on GPT-2, GPT-Neo and GPT-NeoX against independent computations
// (tests/features_reference.h): the LayerNorm check against autograd, observable comparison, SVD alignment
// against explicit SVDs, the 2-head ranking against per-pair path features, cancellation, and bad inputs.
#include "features_reference.h"

using namespace features_ref;

class TestFeaturesAnalysis : public QObject {
    Q_OBJECT
  private Q_SLOTS:
    void initTestCase() { torch::manual_seed(1234); }

    // The per-head LayerNorm check against autograd through at::layer_norm, at three real tokens: the mean
    // and the smallest of the per-token cosines, the mean norm; one token alone gives that token's.
    void layerNormCheck() {
        auto M = make_model(int(tools::Family::GPT2), 2, false);
        const auto& r = M.raw;
        const Observable obs = test_observable();
        const Cached c = run_cache(*M.m, kPrompt);
        const std::vector<std::int64_t> at = {2, 3, 4};
        std::vector<Tensor> rows;
        for (auto s : at)
            rows.push_back(residuals_at(c, s));
        const auto chk = obsprop::layernorm_check(*M.m, obs, torch::stack(rows)); // [3, L, d]
        const auto one = obsprop::layernorm_check(*M.m, obs, rows[2]);            // [L, d]
        QCOMPARE(chk.tokens, std::int64_t(3));
        QCOMPARE(one.tokens, std::int64_t(1));
        const Tensor vU = raw_vU(r, obs);
        for (int l = 0; l < r.L; ++l)
            for (int h = 0; h < r.H; ++h) {
                const Tensor y = at::matmul(at::matmul(vU, r.WOh(l, h)), r.WV[l][h]);
                double sum = 0, low = 2, norms = 0, last = 0;
                for (const Tensor& R : rows) {
                    Tensor x = R[l].to(kD).clone().requires_grad_(true);
                    (at::layer_norm(x, {r.d}, r.ln1w[l], r.ln1b[l], r.eps) * y).sum().backward();
                    const Tensor ap = r.ln1w[l] * y;
                    last =
                        (x.grad() * ap).sum().item<double>() / (x.grad().norm() * ap.norm()).item<double>();
                    sum += last, low = std::min(low, last), norms += x.grad().norm().item<double>();
                }
                QVERIFY(std::abs(chk.cosine[l][h].item<double>() - sum / 3) < 1e-5);
                QVERIFY(std::abs(chk.cosine_min[l][h].item<double>() - low) < 1e-5);
                QVERIFY(std::abs(chk.norm_exact[l][h].item<double>() - norms / 3) < 1e-5 * norms / 3);
                QVERIFY(std::abs(one.cosine[l][h].item<double>() - last) < 1e-5);
                QCOMPARE(one.cosine_min[l][h].item<double>(), one.cosine[l][h].item<double>());
            }
        QCOMPARE(chk.expected_cosine, obsprop::expected_ln_cosine(r.d, true));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                                 obsprop::layernorm_check(*M.m, obs, torch::zeros({0, r.L, r.d})));
    }

    // The reference value of the check: the mean cosine between a random direction and its exact pull-back,
    // by Monte Carlo through ln_exact_grad at random inputs (centred LayerNorm and RMSNorm), a case by hand
    // (d = 3, centred: cos = |cos θ| of a direction in a plane, mean 1/2) and the large-d limit √(1 − 2/d).
    void expectedLayerNormCosine() {
        QCOMPARE(obsprop::expected_ln_cosine(3, true), 0.5);
        QVERIFY(std::abs(obsprop::expected_ln_cosine(4096, true) - std::sqrt(1 - 2.0 / 4096)) < 1e-6);
        QVERIFY(std::abs(obsprop::expected_ln_cosine(4096, false) - std::sqrt(1 - 1.0 / 4096)) < 1e-6);
        QVERIFY(obsprop::expected_ln_cosine(64, true) <
                std::sqrt(1 - 1.0 / 63)); // the old reference was too high
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, obsprop::expected_ln_cosine(2, true));
        torch::manual_seed(7);
        const std::int64_t n = 40000;
        for (std::int64_t d : {8, 64})
            for (bool centred : {true, false}) {
                const Tensor x = torch::randn({n, d}, kD), w = torch::randn({n, d}, kD);
                const Tensor ex = obsprop::ln_exact_grad(x, torch::ones({d}, kD), w, 0.0, false, centred);
                const Tensor cos = (ex * w).sum(-1) / (ex.norm(2, {-1}) * w.norm(2, {-1}));
                const double mean = cos.mean().item<double>(),
                             se = cos.std().item<double>() / std::sqrt(double(n));
                const double want = obsprop::expected_ln_cosine(d, centred);
                QVERIFY2(std::abs(mean - want) < 5 * se,
                         qPrintable(QStringLiteral("d %1 centred %2: Monte Carlo %3 ± %4, formula %5")
                                        .arg(d)
                                        .arg(centred)
                                        .arg(mean)
                                        .arg(se)
                                        .arg(want)));
            }
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

QTEST_APPLESS_MAIN(TestFeaturesAnalysis)
#include "tst_features_analysis.moc"
