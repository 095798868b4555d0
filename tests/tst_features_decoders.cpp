// Feature vectors on the RMSNorm decoder families (Llama, Mistral, Qwen2, Qwen3, Gemma, Gemma2, Gemma3):
// grouped KV heads, gated MLPs, Gemma 2/3's post-norms and Gemma 2's final soft-cap. Each product result is
// checked against an independent computation: autograd through functions written here from the generator's
// raw Hugging Face tensors (float64, Gemma's (1 + w) applied here), explicit formulas, torch::linalg SVDs.
#include "decoder_reference.h"

using namespace decoder_ref;

class TestFeaturesDecoders : public QObject {
    Q_OBJECT
  private Q_SLOTS:
    void initTestCase() { torch::manual_seed(1234); }

    // The reading above reproduces the product's forward pass (per-head z through the GQA mapping, the
    // residual updates through the post-norms, the soft-capped logits), so the references below are sound.
    void rawReadingReproducesForward_data() { family_rows(kDecoders, true); }
    void rawReadingReproducesForward() {
        QFETCH(int, family);
        auto M = make_model(family);
        const auto& r = M.raw;
        const Cached c = run_cache(M, kPrompt);
        for (int l = 0; l < r.L; ++l) {
            const Tensor a = rms(r, c.resid[l], r.ln1[l]);
            for (int h = 0; h < r.H; ++h) {
                const Tensor z = at::matmul(c.pattern[l][h], at::matmul(a, r.WV[l][h].t()) + r.bV[l][h]);
                QVERIFY(rel_err(c.z[l].select(1, h), z) < 1e-5);
            }
            QVERIFY(rel_err(c.mid[l], c.resid[l] + (r.post ? rms(r, c.A[l], r.pa[l]) : c.A[l])) < 1e-5);
            const Tensor next = l + 1 < r.L ? c.resid[l + 1] : c.final_resid;
            QVERIFY(rel_err(next, c.mid[l] + (r.post ? rms(r, c.M[l], r.pm[l]) : c.M[l])) < 1e-5);
        }
        Tensor z = at::matmul(rms(r, c.final_resid, r.lnf), r.WU.t());
        if (r.cap > 0) z = r.cap * at::tanh(z / r.cap);
        QVERIFY(rel_err(c.logits, z) < 1e-5);
    }

    // y_{l,h} = ∂/∂x_s [vU · o_h(x)[q]] / p_qs with the pattern frozen; Gemma 2/3 with exact norms put the
    // post-attention norm at the clean attention output A₀[q] in between: vU · N(A₀ − o_h(x₀) + o_h(x))[q].
    void headFeatureIsAutogradGradient_data() {
        flag_rows("exact", kDecoders, " none", " exact");
        QTest::newRow("gemma2 attention_bias exact") << kBias + int(Family::Gemma2) << true;
    }
    void headFeatureIsAutogradGradient() {
        QFETCH(int, family);
        QFETCH(bool, exact);
        auto M = make_model(family);
        const auto& r = M.raw;
        const Observable obs = test_observable();
        const Tensor vU = raw_vU(r, obs);
        const Cached c = run_cache(M, kPrompt);
        const std::int64_t q = static_cast<std::int64_t>(kPrompt.size()) - 1;
        FeatureOptions o;
        o.block_ln = exact ? LnMode::Exact : LnMode::None;
        if (exact && r.post) o.post_attn_points = rows_at(c.A, q);
        for (int l = 0; l < r.L; ++l)
            for (int h : {0, r.H - 1}) {
                Tensor x = c.resid[l].clone().requires_grad_(true);
                Tensor out = head_out(r, l, h, x, c.pattern[l], exact)[q];
                if (exact && r.post) out = rms(r, c.A[l][q] + out - out.detach(), r.pa[l]);
                (out * vU).sum().backward();
                int checked = 0;
                for (std::int64_t s = 0; s <= q; ++s) {
                    const double p = c.pattern[l][h][q][s].item<double>();
                    if (p < 0.02) continue;
                    if (exact) o.residuals = rows_at(c.resid, s);
                    const auto fs = obsprop::compute_head_features(*M.m, obs, o);
                    const double err = rel_err(fs.heads[l][h], x.grad()[s] / p);
                    QVERIFY2(err < 2e-5,
                             qPrintable(QString::asprintf("head %d.%d source %d: %g", l, h, int(s), err)));
                    ++checked;
                }
                QVERIFY(checked > 0);
            }
    }

    // Approximate norms: y = (√d/ρ₁)γ₁ ⊙ W_Vᵀ W_Oᵀ [(√d/ρ_p)γ_p ⊙] (√d/ρ_f)γ_f ⊙ W_Uᵀ n' (n' soft-capped for
    // Gemma 2), with and without the norm-comparison rule (ρ₁ → 1).
    void approximateNormsMatchFormula_data() { flag_rows("drop", kDecoders, "", " norm comparison"); }
    void approximateNormsMatchFormula() {
        QFETCH(int, family);
        QFETCH(bool, drop);
        auto M = make_model(family, 3);
        const auto& r = M.raw;
        const Observable obs = test_observable();
        const Tensor r0 = run_cache(M, kPrompt).final_resid[std::int64_t(kPrompt.size()) - 1];
        const std::vector<double> rho1{3.0, 5.0, 7.0}, rhop{2.0, 4.0, 6.0};
        const double rho_f = 4.0, sd = std::sqrt(double(r.d));
        FeatureOptions o;
        o.block_ln = o.final_ln = LnMode::Approximate;
        o.rho_ln1 = rho1, o.rho_post_attn = rhop, o.final_rho = rho_f, o.drop_earliest_rho = drop;
        o.final_residual = r0.to(torch::kFloat);
        const auto fs = obsprop::compute_head_features(*M.m, obs, o);
        const Tensor vUc = at::matmul(capped_weights(r, nvec(obs, 300), r0).first, r.WU);
        const Tensor vf = sd / rho_f * r.lnf * vUc;
        QVERIFY(rel_err(fs.final.v_unembed, vUc) < 1e-6);
        QVERIFY(rel_err(fs.final.v_final, vf) < 1e-6);
        for (int l = 0; l < r.L; ++l) {
            const Tensor w = r.post ? sd / rhop[l] * r.pa[l] * vf : vf;
            for (int h = 0; h < r.H; ++h) {
                const Tensor y = at::matmul(at::matmul(w, r.WOh(l, h)), r.WV[l][h]) * r.ln1[l] *
                                 (sd / (drop ? 1.0 : rho1[l]));
                const double err = rel_err(fs.heads[l][h], y);
                QVERIFY2(err < 1e-5, qPrintable(QStringLiteral("head %1.%2: %3").arg(l).arg(h).arg(err)));
                QVERIFY(std::abs(fs.norms[l][h].item<double>() - y.norm().item<double>()) <
                        1e-5 * y.norm().item<double>());
            }
        }
    }

    // The exact final RMSNorm: r* is on {g = 0} and v_final = ∇g(r*); Gemma 2's cap is linearised at r₀.
    void finalNormBoundary_data() { family_rows({Family::Llama, Family::Gemma, Family::Gemma2}); }
    void finalNormBoundary() {
        QFETCH(int, family);
        auto M = make_model(family);
        const auto& r = M.raw;
        const Observable obs = test_observable();
        const Tensor r0 = run_cache(M, kPrompt).final_resid[std::int64_t(kPrompt.size()) - 1];
        const auto [w, offset] = capped_weights(r, nvec(obs, 300), r0);
        const Tensor vUc = at::matmul(w, r.WU);
        auto g = [&](const Tensor& x) { return (rms(r, x, r.lnf) * vUc).sum() + offset; };
        FeatureOptions o;
        o.final_ln = LnMode::Exact;
        o.final_residual = r0.to(torch::kFloat);
        const auto fc = obsprop::final_covector(*M.m, obs, o);
        QVERIFY(fc.boundary.has_value());
        QVERIFY(rel_err(fc.v_unembed, vUc) < 1e-6);
        const double g0 = g(r0).item<double>();
        QVERIFY2(std::abs(fc.boundary->g_start - g0) < 1e-5 * (1 + std::abs(g0)),
                 qPrintable(QStringLiteral("%1 vs %2").arg(fc.boundary->g_start).arg(g0)));
        Tensor rs = fc.boundary->r_star.clone().requires_grad_(true);
        Tensor gs = g(rs);
        QVERIFY2(std::abs(gs.item<double>()) < 1e-6 * (1 + std::abs(g0)),
                 qPrintable(QString::number(gs.item<double>())));
        gs.backward();
        QVERIFY(rel_err(fc.v_final, rs.grad()) < 1e-6);
        QVERIFY(fc.boundary->iterations > 0 && fc.boundary->iterations < 50);
        const auto fs = obsprop::compute_head_features(*M.m, obs, o); // block norms (and post-norms) ignored
        const Tensor want = at::matmul(at::matmul(rs.grad(), r.WOh(1, 2)), r.WV[1][2]);
        QVERIFY(rel_err(fs.heads[1][2], want) < 1e-5);
    }

    // Gemma 2's final soft-cap with ln_f approximate: v_unembed = W_Uᵀ(n ⊙ sech²(z₀/cap)), the gradient of
    // the capped score at r₀ through the final norm; ignored with final_ln None and absent in Gemma 3 tiny.
    void finalSoftCap() {
        auto M = make_model(int(Family::Gemma2));
        const auto& r = M.raw;
        QCOMPARE(r.cap, 3.0);
        const Observable obs = test_observable();
        const Tensor n = nvec(obs, 300);
        const Tensor r0 = run_cache(M, kPrompt).final_resid[std::int64_t(kPrompt.size()) - 1];
        FeatureOptions o;
        o.final_ln = LnMode::Approximate, o.final_rho = 5.0, o.final_residual = r0.to(torch::kFloat);
        const auto fc = obsprop::final_covector(*M.m, obs, o);
        const Tensor z0 = at::matmul(rms(r, r0, r.lnf), r.WU.t());
        const Tensor sech2 = 1 / at::cosh(z0 / r.cap).pow(2);
        const Tensor want = at::matmul(n * sech2, r.WU);
        QVERIFY2(rel_err(fc.v_unembed, want) < 1e-6,
                 qPrintable(QString::number(rel_err(fc.v_unembed, want))));
        QVERIFY(rel_err(fc.v_unembed, raw_vU(r, obs)) > 1e-2); // the cap bites
        QVERIFY(rel_err(fc.v_final, std::sqrt(64.0) / 5.0 * r.lnf * want) < 1e-6);
        // The same slope as the true capped score: ∇ score(r₀) = J_N(r₀)ᵀ v_unembed.
        Tensor x = r0.clone().requires_grad_(true), x2 = r0.clone().requires_grad_(true);
        score(r, n, x).backward();
        (rms(r, x2, r.lnf) * fc.v_unembed.to(kD)).sum().backward();
        QVERIFY(rel_err(x2.grad(), x.grad()) < 1e-6);
        o.final_ln = LnMode::None;
        QVERIFY(rel_err(obsprop::final_covector(*M.m, obs, o).v_unembed, raw_vU(r, obs)) < 1e-6);
        auto M3 = make_model(int(Family::Gemma3));
        FeatureOptions o3;
        o3.final_ln = LnMode::Approximate; // no cap: no final residual needed
        const auto f3 = obsprop::final_covector(*M3.m, obs, o3);
        QVERIFY(rel_err(f3.v_unembed, raw_vU(M3.raw, obs)) < 1e-6);
    }

    // Paths with frozen attention. For each chain of positions (where each node reads and writes), the
    // feature with that chain's inputs (residuals, post-norm points, MLP inputs) times the pattern product
    // equals the autograd gradient of the hand-built path function restricted to that chain. MLP nodes are
    // linearised at the product's u* (whose choice is checked in gatedMlp).
    void pathIsAutogradGradient_data() {
        QTest::addColumn<int>("family");
        QTest::addColumn<bool>("exact");
        QTest::addColumn<QString>("path");
        auto add = [](Family f, const char* path) {
            for (bool exact : {false, true})
                QTest::newRow(qPrintable(fam_name(f) + " " + path + (exact ? " exact" : " none")))
                    << int(f) << exact << QString::fromLatin1(path);
        };
        for (Family f : kDecoders)
            for (const char* p : {"0.1 -> 1.2", "0.1 -> mlp0 -> 1.3"})
                add(f, p);
        add(Family::Gemma3, "0.2 -> 1.0 -> 2.3");
        add(Family::Gemma3, "mlp0 -> 1.1 -> mlp2");
        add(Family::Llama, "mlp0 -> 1.1 -> mlp1");
    }
    void pathIsAutogradGradient() {
        QFETCH(int, family);
        QFETCH(bool, exact);
        QFETCH(QString, path);
        auto M = make_model(family);
        const auto& r = M.raw;
        const auto nodes = obsprop::parse_path(path.toStdString());
        const int k = static_cast<int>(nodes.size());
        const Observable obs = test_observable();
        const Tensor vU = raw_vU(r, obs);
        const Cached c = run_cache(M, kPrompt);
        const std::int64_t T = static_cast<std::int64_t>(kPrompt.size()), q = T - 1;
        FeatureOptions o;
        o.block_ln = exact ? LnMode::Exact : LnMode::None;

        struct Chain {
            std::vector<std::int64_t> rd, wr; // position each node reads / writes
            double w = 1;                     // product of the heads' pattern weights
        };
        std::vector<Chain> chains;
        std::function<void(int, std::int64_t, Chain)> walk = [&](int i, std::int64_t at, Chain ch) {
            if (i < 0) return chains.push_back(ch);
            ch.wr[i] = at;
            const auto& nd = nodes[i];
            if (nd.is_mlp()) {
                ch.rd[i] = at;
                return walk(i - 1, at, ch);
            }
            for (std::int64_t s = 0; s <= at; ++s) {
                const double p = c.pattern[nd.layer][nd.head][at][s].item<double>();
                if (p < 0.05) continue;
                Chain c2 = ch;
                c2.rd[i] = s, c2.w *= p;
                walk(i - 1, s, c2);
            }
        };
        walk(k - 1, q, Chain{std::vector<std::int64_t>(k), std::vector<std::int64_t>(k), 1.0});
        std::sort(chains.begin(), chains.end(), [](const Chain& a, const Chain& b) { return a.w > b.w; });
        QVERIFY(chains.size() >= 2);
        chains.resize(std::min<std::size_t>(chains.size(), 8));

        torch::manual_seed(7);
        std::vector<Tensor> noise;
        for (int i = 0; i < k; ++i)
            noise.push_back(torch::randn({r.d}, kD));
        auto base = [&](int i) -> const Tensor& {
            return nodes[i].is_mlp() ? c.mid[nodes[i].layer] : c.resid[nodes[i].layer];
        };
        auto onehot = [&](std::int64_t s) {
            Tensor e = torch::zeros({T, 1}, kD);
            e[s][0] = 1.0;
            return e;
        };
        for (const auto& ch : chains) {
            std::vector<obsprop::PathNodeInput> in(k);
            for (int i = 0; i < k; ++i) {
                const int l = nodes[i].layer;
                in[i].residual = base(i)[ch.rd[i]].to(torch::kFloat);
                in[i].post_point = (nodes[i].is_mlp() ? c.M[l] : c.A[l])[ch.wr[i]].to(torch::kFloat);
                if (nodes[i].is_mlp()) {
                    const Tensor x = base(i)[ch.rd[i]];
                    in[i].u_minus = (exact ? rms(r, x, r.ln2[l]) : x).to(torch::kFloat);
                    in[i].u_plus = (in[i].u_minus.to(kD) + noise[i]).to(torch::kFloat);
                }
            }
            const auto pf = obsprop::compute_path_feature(*M.m, obs, nodes, o, in);
            QCOMPARE(pf.hook, obsprop::model::hook_name(
                                  nodes[0].layer, nodes[0].is_mlp() ? "hook_resid_mid" : "hook_resid_pre"));
            Tensor x1 = base(0).clone().requires_grad_(true);
            Tensor out;
            std::size_t mi = 0;
            for (int i = 0; i < k; ++i) {
                const int l = nodes[i].layer;
                const Tensor xi = i == 0 ? x1 : base(i) + onehot(ch.rd[i]) * (out - out.detach());
                if (!nodes[i].is_mlp()) {
                    out = head_out(r, l, nodes[i].head, xi, c.pattern[l], exact);
                    if (exact && r.post) out = rms(r, c.A[l] + out - out.detach(), r.pa[l]);
                    continue;
                }
                const auto& lin = pf.mlp.at(mi++);
                QVERIFY(lin.t_star >= 0 && lin.t_star <= 1);
                const Tensor us = lin.u_star.to(kD);
                QVERIFY(rel_err(us, (1 - lin.t_star) * in[i].u_minus.to(kD) +
                                        lin.t_star * in[i].u_plus.to(kD)) < 1e-6);
                const Tensor u = (exact ? rms(r, xi, r.ln2[l]) : xi)[ch.rd[i]];
                Tensor mo = mlp(r, l, us + (u - u.detach())); // linearised at u*
                if (exact && r.post) mo = rms(r, c.M[l][ch.rd[i]] + mo - mo.detach(), r.pm[l]);
                out = onehot(ch.rd[i]) * mo.unsqueeze(0);
            }
            (out[q] * vU).sum().backward();
            const Tensor want = x1.grad()[ch.rd[0]];
            const double err = rel_err(ch.w * pf.feature.to(kD), want);
            QVERIFY2(err < 5e-5,
                     qPrintable(QString::asprintf("chain %g from %d: %g", ch.w, int(ch.rd[0]), err)));
        }
    }

    // Gated MLPs: mlp_functional and mlp_gradient against this file's MLP (autograd), linearise_mlp's t*.
    void gatedMlp_data() { family_rows({Family::Llama, Family::Gemma, Family::Gemma2}); } // silu, gelu tanh
    void gatedMlp() {
        torch::manual_seed(1000);
        QFETCH(int, family);
        auto M = make_model(family);
        const auto& r = M.raw;
        const int l = 1;
        auto f = [&](const Tensor& u, const Tensor& v) { return (v * mlp(r, l, u)).sum().item<double>(); };
        bool opposite = false, same = false;
        for (int trial = 0; trial < 16; ++trial) {
            const Tensor v = torch::randn({r.d}, kD), um = torch::randn({r.d}, kD);
            const Tensor up = trial < 14 ? torch::randn({r.d}, kD) : um + 1e-3 * torch::randn({r.d}, kD);
            const double fu = f(up, v);
            QVERIFY(std::abs(obsprop::mlp_functional(*M.m, l, up, v) - fu) < 1e-6 * (1 + std::abs(fu)));
            Tensor uu = up.clone().requires_grad_(true);
            (v * mlp(r, l, uu)).sum().backward();
            QVERIFY(rel_err(obsprop::mlp_gradient(*M.m, l, up, v), uu.grad()) < 1e-5);
            const auto lin = obsprop::linearise_mlp(*M.m, l, up, um, v);
            const double fm = f(um, v), fp = fu;
            const bool opp = (fm > 0) != (fp > 0);
            (opp ? opposite : same) = true;
            const double target = opp ? 0.0 : 0.5 * (fm + fp);
            QVERIFY(std::abs(lin.target - target) < 1e-6 * (1 + std::abs(target)));
            QVERIFY(lin.t_star >= 0 && lin.t_star <= 1);
            const Tensor ustar = (1 - lin.t_star) * um + lin.t_star * up;
            QVERIFY(rel_err(lin.u_star, ustar) < 1e-12);
            const double at_star = f(ustar, v);
            QVERIFY2(std::abs(at_star - target) < 1e-5 * (1 + std::abs(fm) + std::abs(fp)),
                     qPrintable(QString::asprintf("f(t*) = %g, target %g", at_star, target)));
            Tensor us = ustar.clone().requires_grad_(true);
            (v * mlp(r, l, us)).sum().backward();
            QVERIFY(rel_err(lin.gradient, us.grad()) < 1e-5);
        }
        QVERIFY(opposite && same);
    }
};

QTEST_APPLESS_MAIN(TestFeaturesDecoders)
#include "tst_features_decoders.moc"
