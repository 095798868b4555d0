// Data-based analyses on the RMSNorm decoder families, each against an independent computation from the
// generator's raw tensors (tests/decoder_reference.h): direct-path attribution (patching and gradient) and
// path patching through Gemma 2/3's post-attention norms and Gemma 2's final soft-cap, the 2-head ranking,
// SVD alignment with grouped KV heads, the RMSNorm LayerNorm check and the residual statistics the norm
// treatments are estimated from.
#include "decoder_reference.h"

using namespace decoder_ref;

class TestDataDecoders : public QObject {
    Q_OBJECT
  private Q_SLOTS:
    void initTestCase() { torch::manual_seed(1234); }

    // Direct-path attribution against this file's own computation from the cached z of each prompt, run
    // alone: δ = W_O^h(z_corr − z_clean) at the last position, through the post-attention norm at the clean
    // A (Gemma 2: N(A + δ) − N(A), or J_N(A)δ by autograd), scored by n·cap(W_U N_f(r)).
    void attributionMatchesDirectPath_data() {
        QTest::addColumn<int>("family");
        QTest::addColumn<int>("method");
        for (Family f : {Family::Llama, Family::Gemma2, Family::Gemma3})
            for (auto meth : {obsprop::AttributionMethod::Patching, obsprop::AttributionMethod::Gradient})
                QTest::newRow(qPrintable(fam_name(f) + " " + obsprop::attribution_method_name(meth)))
                    << int(f) << int(meth);
        for (auto meth : {obsprop::AttributionMethod::Patching, obsprop::AttributionMethod::Gradient})
            QTest::newRow(
                qPrintable(QString("gemma2 attention_bias ") + obsprop::attribution_method_name(meth)))
                << kBias + int(Family::Gemma2) << int(meth);
    }
    void attributionMatchesDirectPath() {
        QFETCH(int, family);
        QFETCH(int, method);
        auto M = make_model(family);
        const auto& r = M.raw;
        const auto &clean = kClean, &corrupt = kCorrupt;
        const auto om = two_observables();
        const bool patching = obsprop::AttributionMethod(method) == obsprop::AttributionMethod::Patching;
        const auto att = obsprop::attribute_heads(*M.m, prompts(clean), prompts(corrupt), om,
                                                  obsprop::AttributionMethod(method));
        QCOMPARE(att.per_pair.sizes(), torch::IntArrayRef({3, 2, r.L, r.H}));
        Tensor want = torch::zeros({3, 2, r.L, r.H}, kD);
        double worst = 0, scale = 0;
        for (int p = 0; p < 3; ++p) {
            const Cached cc = run_cache(M, clean[p]), ck = run_cache(M, corrupt[p]);
            const std::int64_t tc = std::int64_t(clean[p].size()) - 1,
                               tk = std::int64_t(corrupt[p].size()) - 1;
            const Tensor rc = cc.final_resid[tc];
            for (int k = 0; k < 2; ++k) {
                const Tensor n = om.n[k].to(kD);
                const double base = score(r, n, rc).item<double>();
                QVERIFY(std::abs(base - (cc.logits[tc] * n).sum().item<double>()) < 1e-4);
                QVERIFY(std::abs(att.clean_values[p][k].item<double>() - base) < 1e-5 * (1 + std::abs(base)));
                const double corr = score(r, n, ck.final_resid[tk]).item<double>();
                QVERIFY(std::abs(att.corrupt_values[p][k].item<double>() - corr) <
                        1e-5 * (1 + std::abs(corr)));
                for (int l = 0; l < r.L; ++l)
                    for (int h = 0; h < r.H; ++h) {
                        const Tensor delta = at::matmul(r.WOh(l, h), ck.z[l][tk][h] - cc.z[l][tc][h]);
                        const Tensor A = cc.A[l][tc];
                        double v;
                        if (patching) {
                            v = base - score(r, n, rc + post_diff(r, l, A, delta)).item<double>();
                        } else {
                            Tensor t = torch::zeros({}, kD).requires_grad_(true);
                            score(r, n, rc + post_diff(r, l, A, t * delta)).backward();
                            v = -t.grad().item<double>();
                        }
                        want[p][k][l][h] = v;
                        worst = std::max(worst, std::abs(att.per_pair[p][k][l][h].item<double>() - v));
                        scale = std::max(scale, std::abs(v));
                    }
            }
        }
        QVERIFY(scale > 1e-3);
        QVERIFY2(worst < 1e-5 * (1 + scale),
                 qPrintable(QString::asprintf("worst %g, scale %g", worst, scale)));
        QVERIFY((att.mean - want.mean(0)).abs().max().item<double>() < 1e-5 * (1 + scale));
    }

    // score_paths against carry_reference (decoder_reference.h), the path's definition computed here, on the
    // gated decoders (Llama's grouped-query attention, Gemma 2's post-norms): heads, heads at a source token
    // (first, middle and last), MLPs first, in the middle and last.
    void pathPatchingMatchesIndependent_data() { family_rows({Family::Llama, Family::Gemma2}, true); }
    void pathPatchingMatchesIndependent() {
        QFETCH(int, family);
        namespace st = obsprop::source_token;
        auto M = make_model(family);
        const auto& r = M.raw;
        const auto om = two_observables();
        const std::vector<std::vector<PathNode>> paths{
            {PathNode::attn(1, 2)},
            {PathNode::attn(0, 1), PathNode::attn(1, 2)},
            {PathNode::attn(0, 3), PathNode::attn(1, 0)},
            {PathNode::attn(1, 2, st::kSlotToken)},
            {PathNode::attn(0, 1, -1), PathNode::attn(1, 3)},
            {PathNode::attn(0, 2), PathNode::attn(1, 1, 0)},
            {PathNode::attn(0, 3, 1), PathNode::mlp(0), PathNode::attn(1, 2, st::kSlotToken)},
            {PathNode::mlp(0), PathNode::attn(1, 2)},
            {PathNode::attn(0, 1), PathNode::mlp(0), PathNode::attn(1, 3)},
            {PathNode::attn(1, 0), PathNode::mlp(1)},
            {PathNode::mlp(0), PathNode::mlp(1)}};
        const auto got = obsprop::score_paths(*M.m, prompts(kClean), prompts(kCorrupt), om, 0, paths);
        QCOMPARE(got.size(), paths.size());
        const Tensor n = om.n[0].to(kD);
        for (std::size_t i = 0; i < paths.size(); ++i) {
            double sum = 0;
            for (int p : {0, 2}) { // pair 1 does not align
                const Cached cc = run_cache(M, kClean[p]), ck = run_cache(M, kCorrupt[p]);
                const std::int64_t q = std::int64_t(kClean[p].size()) - 1;
                const Tensor delta = carry_reference(r, cc, ck, paths[i], prompts(kClean).positions[p]);
                const Tensor rc = cc.final_resid[q];
                sum += (score(r, n, rc) - score(r, n, rc + delta[q])).item<double>();
            }
            const double want = sum / 2;
            QVERIFY2(
                std::abs(got[i].mean - want) < 1e-5 * (1 + std::abs(want)),
                qPrintable(QString::asprintf("%s: %g vs %g", got[i].label().c_str(), got[i].mean, want)));
            QVERIFY2(std::abs(want) > 1e-6, got[i].label().c_str()); // not comparing zeros
            QCOMPARE(got[i].pairs, 2);
        }
    }

    // Every virtual head's norm against a per-pair float64 computation (GQA heads; Gemma 2 post-norms).
    void rankingMatchesPerPair_data() {
        QTest::addColumn<int>("family");
        QTest::addColumn<int>("ln");
        QTest::addColumn<int>("method");
        for (Family f : {Family::Llama, Family::Gemma2})
            for (LnMode ln : {LnMode::None, LnMode::Approximate, LnMode::Exact})
                for (auto meth : {obsprop::RankingMethod::Direct, obsprop::RankingMethod::Gram})
                    QTest::newRow(
                        qPrintable(QStringLiteral("%1 %2 %3")
                                       .arg(fam_name(f))
                                       .arg(QString::fromLatin1(obsprop::ln_mode_name(ln)))
                                       .arg(meth == obsprop::RankingMethod::Direct ? "direct" : "gram")))
                        << int(f) << int(ln) << int(meth);
    }
    void rankingMatchesPerPair() {
        QFETCH(int, family);
        QFETCH(int, ln);
        QFETCH(int, method);
        auto M = make_model(family, 3);
        const auto& r = M.raw;
        const Observable obs = test_observable();
        const LnMode mode = LnMode(ln);
        const std::vector<double> rho{3.0, 5.0, 7.0}, rhop{2.0, 4.0, 6.0};
        const Cached c = run_cache(M, kPrompt);
        const std::int64_t q = std::int64_t(kPrompt.size()) - 1;
        const Tensor R = rows_at(c.resid, 3), PA = rows_at(c.A, q), r0 = c.final_resid[q];
        FeatureOptions o;
        o.block_ln = mode, o.rho_ln1 = rho, o.rho_post_attn = rhop, o.residuals = R, o.post_attn_points = PA;
        o.final_ln = mode == LnMode::Approximate ? LnMode::Approximate : LnMode::None;
        o.final_rho = 4.0, o.final_residual = r0.to(torch::kFloat);
        obsprop::RankingOptions ro;
        ro.keep = 0, ro.method = obsprop::RankingMethod(method);
        const auto rk = obsprop::rank_virtual_heads(*M.m, obs, o, ro);

        const double sd = std::sqrt(double(r.d));
        Tensor vf = raw_vU(r, obs);
        if (mode == LnMode::Approximate)
            vf = at::matmul(capped_weights(r, nvec(obs, 300), r0).first, r.WU) * r.lnf * (sd / 4.0);
        auto J = [&](int l, const Tensor& w, bool earliest) -> Tensor { // ln_1
            if (mode == LnMode::None) return w;
            if (mode == LnMode::Approximate) return w * r.ln1[l] * (sd / (earliest ? 1.0 : rho[l]));
            Tensor x = R[l].to(kD).clone().requires_grad_(true);
            (rms(r, x, r.ln1[l]) * w).sum().backward();
            const double s = std::sqrt(R[l].to(kD).pow(2).mean().item<double>() + r.eps);
            return earliest ? x.grad() * s * sd : x.grad();
        };
        auto P = [&](int l, const Tensor& w) -> Tensor { // post-attention norm
            if (!r.post || mode == LnMode::None) return w;
            if (mode == LnMode::Approximate) return w * r.pa[l] * (sd / rhop[l]);
            Tensor a = PA[l].to(kD).clone().requires_grad_(true);
            (rms(r, a, r.pa[l]) * w).sum().backward();
            return a.grad();
        };
        auto ov_t = [&](int l, int h, const Tensor& v) {
            return at::matmul(at::matmul(P(l, v), r.WOh(l, h)), r.WV[l][h]);
        };
        std::size_t pairs = 0;
        for (int l2 = 0; l2 < r.L; ++l2)
            for (int h2 = 0; h2 < r.H; ++h2) {
                const Tensor y2 = J(l2, ov_t(l2, h2, vf), false);
                const double single = J(l2, ov_t(l2, h2, vf), true).norm().item<double>();
                QVERIFY(std::abs(rk.single[l2][h2].item<double>() - single) < 1e-5 * single);
                for (int l1 = 0; l1 < l2; ++l1)
                    for (int h1 = 0; h1 < r.H; ++h1) {
                        const double got = rk.norms[l1][h1][l2][h2].item<double>();
                        const double want = J(l1, ov_t(l1, h1, y2), true).norm().item<double>();
                        QVERIFY2(std::abs(got - want) < 1e-4 * want,
                                 qPrintable(
                                     QString::asprintf("%d.%d>%d.%d: %g vs %g", l1, h1, l2, h2, got, want)));
                        ++pairs;
                    }
            }
        QCOMPARE(rk.n_pairs, pairs);
    }

    // Head SVDs against torch::linalg on the explicit W_O^h W_V^h (d_head ≠ d/H for Qwen3/Gemma); heads
    // sharing a KV head have the same right singular space (the row space of their common W_V).
    void svdAlignmentGqa_data() { family_rows({Family::Llama, Family::Qwen3, Family::Gemma2}); }
    void svdAlignmentGqa() {
        QFETCH(int, family);
        auto M = make_model(family);
        const auto& r = M.raw;
        const Observable obs = test_observable();
        const auto fs = obsprop::compute_head_features(*M.m, obs);
        const auto al = obsprop::svd_alignment(*M.m, fs, 3);
        const Tensor vU = raw_vU(r, obs);
        for (int l = 0; l < r.L; ++l) {
            const auto hs = obsprop::head_svd(*M.m, l);
            QCOMPARE(hs.S.sizes(), torch::IntArrayRef({r.H, r.dh}));
            for (int h = 0; h < r.H; ++h) {
                const Tensor WOV = at::matmul(r.WOh(l, h), r.WV[l][h]);
                const Tensor sv = torch::linalg::svdvals(WOV, c10::nullopt).narrow(0, 0, r.dh);
                QVERIFY2(rel_err(hs.S[h], sv) < 1e-5, qPrintable(QString::number(rel_err(hs.S[h], sv))));
                const Tensor U = hs.U[h].to(kD), V = hs.V[h].to(kD), S = hs.S[h].to(kD);
                QVERIFY(rel_err(at::matmul(U * S, V.t()), WOV) < 1e-5);
                const Tensor y = at::matmul(at::matmul(vU, r.WOh(l, h)), r.WV[l][h]);
                QVERIFY(rel_err(fs.head_inputs[l][h], y) < 1e-5);
                QVERIFY(std::abs(al.in_span[l][h].item<double>() - 1) < 1e-5); // y ∈ span(V)
                const Tensor cosv = at::matmul(V.t(), y) / y.norm();
                QCOMPARE(al.indices[l][h][0].item<std::int64_t>(), cosv.abs().argmax().item<std::int64_t>());
            }
            const int group = r.H / r.Hkv;
            for (int h = 1; h < r.H; ++h) {
                if (h % group == 0) continue;
                QVERIFY(torch::equal(r.WV[l][h], r.WV[l][h - 1]));
                const Tensor V0 = hs.V[h - 1].to(kD), V1 = hs.V[h].to(kD);
                QVERIFY(rel_err(at::matmul(V1, V1.t()), at::matmul(V0, V0.t())) < 1e-4);
            }
        }
    }

    // The LayerNorm check on RMSNorm models: cosines and norms against autograd through this file's RMSNorm,
    // the expected cosine √(1 − 1/d) (no mean removal).
    void layerNormCheckRms_data() { family_rows({Family::Llama, Family::Gemma2}); }
    void layerNormCheckRms() {
        QFETCH(int, family);
        auto M = make_model(family);
        const auto& r = M.raw;
        const Observable obs = test_observable();
        const Cached c = run_cache(M, kPrompt);
        const Tensor R = rows_at(c.resid, 4);
        const auto chk = obsprop::layernorm_check(*M.m, obs, R);
        QCOMPARE(chk.expected_cosine, obsprop::expected_ln_cosine(r.d, false));
        const Tensor vU = raw_vU(r, obs);
        for (int l = 0; l < r.L; ++l)
            for (int h = 0; h < r.H; ++h) {
                const Tensor y = at::matmul(at::matmul(vU, r.WOh(l, h)), r.WV[l][h]);
                Tensor x = R[l].to(kD).clone().requires_grad_(true);
                (rms(r, x, r.ln1[l]) * y).sum().backward();
                const Tensor ap = r.ln1[l] * y * (std::sqrt(double(r.d)) / R[l].to(kD).norm().item<double>());
                const double want =
                    (x.grad() * ap).sum().item<double>() / (x.grad().norm() * ap.norm()).item<double>();
                QVERIFY(std::abs(chk.cosine[l][h].item<double>() - want) < 1e-5);
                QVERIFY(std::abs(chk.norm_exact[l][h].item<double>() - x.grad().norm().item<double>()) <
                        1e-5 * x.grad().norm().item<double>());
                QVERIFY(std::abs(chk.norm_approx[l][h].item<double>() - ap.norm().item<double>()) <
                        1e-5 * ap.norm().item<double>());
            }
    }

    // A path with an MLP node under approximate norms (ln_1, ln_2, both post-norms, norm-comparison rule)
    // against the explicit chain; the MLP's t* hits its target for the covector the path puts on it.
    void pathApproximateMatchesFormula_data() {
        flag_rows("drop", {Family::Llama, Family::Gemma2, Family::Gemma3}, "", " norm comparison");
    }
    void pathApproximateMatchesFormula() {
        QFETCH(int, family);
        QFETCH(bool, drop);
        auto M = make_model(family);
        const auto& r = M.raw;
        const Observable obs = test_observable();
        const Cached c = run_cache(M, kPrompt);
        std::vector<double> rho1, rho2, rpa, rpm;
        for (int l = 0; l < r.L; ++l)
            rho1.push_back(3 + 2 * l), rho2.push_back(2.5 + l), rpa.push_back(2 + 2 * l),
                rpm.push_back(1.5 + l);
        FeatureOptions o;
        o.block_ln = LnMode::Approximate, o.drop_earliest_rho = drop;
        o.rho_ln1 = rho1, o.rho_ln2 = rho2, o.rho_post_attn = rpa, o.rho_post_mlp = rpm;
        std::vector<obsprop::PathNodeInput> in(3);
        torch::manual_seed(11);
        in[1].u_minus = rms(r, c.mid[0][2], r.ln2[0]).to(torch::kFloat);
        in[1].u_plus = in[1].u_minus + torch::randn({r.d});
        const auto pf =
            obsprop::compute_path_feature(*M.m, obs, obsprop::parse_path("0.1 -> mlp0 -> 1.3"), o, in);
        const double sd = std::sqrt(double(r.d));
        auto post = [&](const std::vector<Tensor>& g, const std::vector<double>& rho, int l,
                        const Tensor& w) { return r.post ? w * g[l] * (sd / rho[l]) : w; };
        auto ov_t = [&](int l, int h, const Tensor& v) {
            return at::matmul(at::matmul(v, r.WOh(l, h)), r.WV[l][h]);
        };
        Tensor y = ov_t(1, 3, post(r.pa, rpa, 1, raw_vU(r, obs))) * r.ln1[1] * (sd / rho1[1]);
        const Tensor ym = post(r.pm, rpm, 0, y); // the covector on the MLP output
        const auto& lin = pf.mlp.at(0);
        auto f = [&](const Tensor& u) { return (ym * mlp(r, 0, u.to(kD))).sum().item<double>(); };
        const double fm = f(in[1].u_minus), fp = f(in[1].u_plus), at_star = f(lin.u_star);
        const double target = (fm > 0) != (fp > 0) ? 0.0 : 0.5 * (fm + fp);
        QVERIFY2(std::abs(at_star - target) < 1e-5 * (1 + std::abs(fm) + std::abs(fp)),
                 qPrintable(QString::asprintf("f(t*) = %g, target %g", at_star, target)));
        Tensor u = lin.u_star.to(kD).clone().requires_grad_(true);
        (ym * mlp(r, 0, u)).sum().backward();
        y = u.grad() * r.ln2[0] * (sd / rho2[0]);
        y = ov_t(0, 1, post(r.pa, rpa, 0, y)) * r.ln1[0] * (sd / (drop ? 1.0 : rho1[0]));
        QVERIFY2(rel_err(pf.feature, y) < 1e-5, qPrintable(QString::number(rel_err(pf.feature, y))));
    }

    // residual_norms' data for the approximate and exact treatments: the post-norm inputs at the last token
    // and the norms' means, against this file's A and MLP outputs of each prompt run alone.
    void residualNorms_data() { family_rows({Family::Llama, Family::Gemma2, Family::Gemma3}, true); }
    void residualNorms() {
        QFETCH(int, family);
        auto M = make_model(family);
        const auto& r = M.raw;
        const std::vector<std::vector<int>> ids{
            {5, 40, 77, 12, 9, 33}, {8, 41, 2}, {5, 60, 70, 80, 90, 100, 110}};
        auto pb = prompts(ids);
        pb.positions = {1, 2, 4};
        const auto rn = obsprop::residual_norms(*M.m, pb);
        std::vector<double> ln1(r.L), ln2(r.L), pa(r.L), pm(r.L);
        double fin = 0;
        for (int p = 0; p < 3; ++p) {
            const Cached c = run_cache(M, ids[p]);
            const std::int64_t last = std::int64_t(ids[p].size()) - 1, pos = pb.positions[p];
            QVERIFY(rel_err(rn.final_residuals[p], c.final_resid[last]) < 1e-5);
            fin += c.final_resid[last].norm().item<double>() / 3;
            for (int l = 0; l < r.L; ++l) {
                QVERIFY(rel_err(rn.resid_at_position[p][l], c.resid[l][pos]) < 1e-5);
                ln1[l] += c.resid[l][pos].norm().item<double>() / 3;
                ln2[l] += c.mid[l][pos].norm().item<double>() / 3;
                if (!r.post) continue;
                QVERIFY(rel_err(rn.post_attn_last[p][l], c.A[l][last]) < 1e-5);
                QVERIFY(rel_err(rn.post_mlp_last[p][l], c.M[l][last]) < 1e-5);
                pa[l] += c.A[l][last].norm().item<double>() / 3;
                pm[l] += c.M[l][last].norm().item<double>() / 3;
            }
        }
        QVERIFY(std::abs(rn.final_rho - fin) < 1e-5 * fin);
        QCOMPARE(rn.post_attn_rho.size(), std::size_t(r.post ? r.L : 0));
        QCOMPARE(rn.post_mlp_rho.size(), std::size_t(r.post ? r.L : 0));
        for (int l = 0; l < r.L; ++l) {
            QVERIFY(std::abs(rn.ln1_rho[l] - ln1[l]) < 1e-5 * ln1[l]);
            QVERIFY(std::abs(rn.ln2_rho[l] - ln2[l]) < 1e-5 * ln2[l]);
            if (!r.post) continue;
            QVERIFY2(std::abs(rn.post_attn_rho[l] - pa[l]) < 1e-5 * pa[l],
                     qPrintable(QString::asprintf("layer %d: %g vs %g", l, rn.post_attn_rho[l], pa[l])));
            QVERIFY(std::abs(rn.post_mlp_rho[l] - pm[l]) < 1e-5 * pm[l]);
        }
    }
};

QTEST_APPLESS_MAIN(TestDataDecoders)
#include "tst_data_decoders.moc"
