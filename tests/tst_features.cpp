// Feature vectors and data-free analysis (DESIGN §3.2–3.8), each checked against an independent computation:
// autograd through hand-built head/path functions with frozen attention, explicit loops over the generator's
// raw tensors in their Hugging Face layouts (float64), finite differences, Monte Carlo, explicit SVDs.
#include "features_reference.h"

using namespace features_ref;

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
        // The embeddings: parsed everywhere, a node only in path patching (validate_path's allow_embed).
        QTest::newRow("embeddings") << "embed -> 0.1" << false << "a node in path patching only";
        QTest::newRow("embeddings alone") << "embed" << false << "a node in path patching only";
        QTest::newRow("embed typo") << "embd -> 0.1" << false << "expected a node";
        // Heads at a source token: parsed everywhere, a node only in path patching.
        QTest::newRow("head at a token") << "0.1@name -> 2.3" << false << "a node in path patching only";
        QTest::newRow("token after an MLP") << "mlp0@last" << false << "only an attention head can be read";
        QTest::newRow("token after embed")
            << "embed@2 -> 0.1" << false << "only an attention head can be read";
        QTest::newRow("token missing") << "0.1@ -> 2.3" << false << "expected a source token after '@'";
        QTest::newRow("token word") << "0.1@first" << false << "expected a source token after '@'";
        QTest::newRow("token minus zero") << "0.1@-0" << false << "the last token is -1";
        QTest::newRow("token too large") << "0.1@10000000" << false << "number too large";
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

    // Path patching accepts the embeddings as a first node, and only there.
    void embeddingNodeOrder() {
        obsprop::io::ModelConfig cfg;
        cfg.n_layers = 3, cfg.n_heads = 4;
        auto check = [&](const char* path) -> std::string {
            try {
                obsprop::validate_path(cfg, obsprop::parse_path(path), true);
                return {};
            } catch (const std::invalid_argument& e) {
                return e.what();
            }
        };
        QCOMPARE(check("embed"), std::string());
        QCOMPARE(check("embed -> mlp0 -> 2.3"), std::string());
        QVERIFY(obsprop::parse_path("embed -> 1.2").front() == obsprop::PathNode::embed());
        QCOMPARE(obsprop::parse_path("embed -> 1.2").front().label(), std::string("embed"));
        QVERIFY(check("0.1 -> embed").find("only be a path's first node") != std::string::npos);
        QVERIFY(check("embed -> embed").find("only be a path's first node") != std::string::npos);
    }

    // Heads at a source token: every spelling, its label back, order rules as for the head itself.
    void sourceTokenNodes() {
        using obsprop::PathNode;
        namespace st = obsprop::source_token;
        const auto p = obsprop::parse_path("embed -> 0.1@name -> 1.2@last, 1.3@4 > 2.0@-2 -> mlp2");
        QCOMPARE(p.size(), std::size_t{6});
        QVERIFY(p[1] == PathNode::attn(0, 1, st::kSlotToken));
        QVERIFY(p[2] == PathNode::attn(1, 2, -1));
        QVERIFY(p[3] == PathNode::attn(1, 3, 4));
        QVERIFY(p[4] == PathNode::attn(2, 0, -2));
        QVERIFY(!(p[4] == PathNode::attn(2, 0)) && p[4].whole() == PathNode::attn(2, 0));
        std::string labels;
        for (const auto& n : p)
            labels += n.label() + " ";
        QCOMPARE(labels, std::string("embed 0.1@name 1.2@last 1.3@4 2.0@-2 mlp2 "));
        QVERIFY(obsprop::whole_nodes(p)[1] == PathNode::attn(0, 1));
        obsprop::io::ModelConfig cfg;
        cfg.n_layers = 3, cfg.n_heads = 4;
        obsprop::validate_path(cfg, {p[0], p[1], p[4], p[5]}, true); // accepted in path patching
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, obsprop::validate_path(cfg, {p[2], p[3]}, true));
        // A token resolves in each prompt: from the start, from the end, the slot; -1 where it names none.
        QCOMPARE(st::resolve(st::kSlotToken, 6, 2), 2);
        QCOMPARE(st::resolve(st::kSlotToken, 6, -1), -1);
        QCOMPARE(st::resolve(-1, 6, 2), 5);
        QCOMPARE(st::resolve(-6, 6, 2), 0);
        QCOMPARE(st::resolve(-7, 6, 2), -1);
        QCOMPARE(st::resolve(5, 6, 2), 5);
        QCOMPARE(st::resolve(6, 6, 2), -1);
        QCOMPARE(st::resolve(st::kEveryToken, 6, 2), -1);
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

    // An MLP node given the ln_2 inputs of several prompts (what the analyses pass): u₊ and u₋ are the MLP
    // inputs with the largest and smallest v·MLP(u), found here by an explicit loop over an independent
    // LayerNorm and MLP; the feature is the autograd gradient at u* (no LN) or through ln_2 at
    // x* = (1−t*)x₋ + t*x₊ (exact LN).
    void mlpNodeChosenAmongPrompts() {
        torch::manual_seed(77);
        auto M = make_model(int(tools::Family::GPT2), 2, false);
        const auto& r = M.raw;
        const int l = 1;
        const Observable obs = test_observable();
        const Tensor v = raw_vU(r, obs);
        const Tensor X = 3 * torch::randn({12, r.d}, kD); // ln_2 inputs of 12 "prompts"
        auto ln2 = [&](const Tensor& x) { return at::layer_norm(x, {r.d}, r.ln2w[l], r.ln2b[l], r.eps); };
        auto mlp = [&](const Tensor& u) {
            return at::matmul(r.Wout[l], at::gelu(at::matmul(r.Win[l], u) + r.bin[l], "tanh")) + r.bout[l];
        };
        int ip = 0, im = 0;
        std::vector<double> f;
        for (int p = 0; p < X.size(0); ++p) {
            f.push_back((v * mlp(ln2(X[p]))).sum().item<double>());
            if (f[p] > f[ip]) ip = p;
            if (f[p] < f[im]) im = p;
        }
        // The bisection's target: 0 when the prompts reach both sides of the boundary, else the mean.
        const double target = (f[ip] > 0) != (f[im] > 0) ? 0.0 : 0.5 * (f[ip] + f[im]);
        obsprop::PathNodeInput in;
        in.ln2_inputs = X.to(torch::kFloat);
        for (bool exact : {false, true}) {
            FeatureOptions o;
            o.block_ln = exact ? LnMode::Exact : LnMode::None;
            const auto pf = obsprop::compute_path_feature(*M.m, obs, {PathNode::mlp(l)}, o, {in});
            QCOMPARE(pf.mlp.size(), std::size_t(1));
            const auto& lin = pf.mlp[0];
            QCOMPARE(lin.prompt_plus, ip);
            QCOMPARE(lin.prompt_minus, im);
            QVERIFY(std::abs(lin.value_plus - f[ip]) < 1e-4 * (1 + std::abs(f[ip])));
            QVERIFY(std::abs(lin.value_minus - f[im]) < 1e-4 * (1 + std::abs(f[im])));
            const double t = lin.t_star;
            QVERIFY(t > 0 && t < 1);
            const Tensor ustar = (1 - t) * ln2(X[im]) + t * ln2(X[ip]);
            QVERIFY(std::abs((v * mlp(ustar)).sum().item<double>() - target) <
                    1e-6 * (1 + std::abs(f[ip]) + std::abs(f[im])));
            Tensor uu = ustar.clone().requires_grad_(true);
            (v * mlp(uu)).sum().backward();
            Tensor want = uu.grad();
            if (exact) {
                Tensor xx = ((1 - t) * X[im] + t * X[ip]).clone().requires_grad_(true);
                (want.detach() * ln2(xx)).sum().backward();
                want = xx.grad();
            }
            const double err = rel_err(pf.feature, want);
            QVERIFY2(err < 1e-5, qPrintable(QStringLiteral("exact %1: rel err %2").arg(exact).arg(err)));
        }
        // A malformed candidate tensor is refused with its shape named.
        obsprop::PathNodeInput bad;
        bad.ln2_inputs = torch::randn({0, r.d});
        try {
            obsprop::compute_path_feature(*M.m, obs, {PathNode::mlp(l)}, {}, {bad});
            QFAIL("no prompts accepted");
        } catch (const std::invalid_argument& e) {
            QVERIFY2(QString::fromUtf8(e.what()).contains(QStringLiteral("[prompts, d_model]")), e.what());
        }
    }
};

QTEST_APPLESS_MAIN(TestFeatures)
#include "tst_features.moc"
