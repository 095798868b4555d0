// The batched and shortcut paths of the engine against their plain forms: several observables pulled back in
// one pass over the weights equal one pass each (every LayerNorm mode); the unembedding covectors read from
// the used rows of W_U equal the dense product; a forward pass stopped before ln_f returns the final residual
// a full pass caches, and one stopped at a layer's input returns that input without running the rest. Long
// analyses report progress (and can be cancelled) between the layers of their forward passes, with
// fractions that never go back. And the tensor-memory counter the debug overlay shows counts what tensors
// allocate.
#include "test_models.h"

#include <QtTest>

#include "model/runtime.h"
#include "obsprop/analysis.h"
#include "obsprop/attribution.h"
#include "obsprop/coupling_fit.h"
#include "obsprop/path_patching.h"
#include "obsprop/prompts.h"
#include "obsprop/steering.h"

using namespace obsprop;
using test_models::make_tiny;
using test_models::TinyModel;
using torch::Tensor;

namespace {

Observable observable(const std::string& name, std::vector<std::pair<int, double>> terms) {
    Observable o;
    o.name = name;
    o.terms = std::move(terms);
    return o;
}

double max_rel(const Tensor& a, const Tensor& b) {
    return ((a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max() /
            (b.to(torch::kDouble).abs().max() + 1e-30))
        .item<double>();
}

} // namespace

class TestEngineBatching : public QObject {
    Q_OBJECT
    TinyModel t_ = make_tiny(tools::Family::GPT2, 31, 300, 3);
    TinyModel neox_ = make_tiny(tools::Family::GPTNeoX, 37, 300, 3);

  private Q_SLOTS:
    void severalObservablesInOnePass_data() {
        QTest::addColumn<int>("mode");
        QTest::addColumn<bool>("neox");
        for (bool neox : {false, true}) {
            QTest::addRow("none %d", int(neox)) << int(LnMode::None) << neox;
            QTest::addRow("approx %d", int(neox)) << int(LnMode::Approximate) << neox;
            QTest::addRow("exact %d", int(neox)) << int(LnMode::Exact) << neox;
        }
    }
    void severalObservablesInOnePass() {
        QFETCH(int, mode);
        QFETCH(bool, neox);
        const auto& m = *(neox ? neox_ : t_).model;
        const auto& c = m.config();
        FeatureOptions o;
        o.block_ln = static_cast<LnMode>(mode);
        o.final_ln = static_cast<LnMode>(mode);
        if (o.block_ln == LnMode::Exact) {
            o.residuals = torch::randn({c.n_layers, c.d_model}, torch::TensorOptions().dtype(torch::kFloat));
            o.final_residual = torch::randn({c.d_model});
        }
        const std::vector<Observable> obs{observable("a", {{10, 1.0}, {20, -1.0}}),
                                          observable("b", {{7, 0.5}, {99, 0.5}, {3, -1.0}}),
                                          observable("c", {{250, 2.0}})};
        const auto many = compute_head_features(m, obs, o);
        QCOMPARE(many.size(), obs.size());
        const Tensor norms = head_feature_norms(m, obs, o);
        QCOMPARE(norms.sizes(), (std::vector<std::int64_t>{3, c.n_layers, c.n_heads}));
        for (std::size_t k = 0; k < obs.size(); ++k) {
            const auto one = compute_head_features(m, obs[k], o);
            QCOMPARE(many[k].observable, obs[k].name);
            QVERIFY(max_rel(many[k].heads, one.heads) < 1e-6);
            QVERIFY(max_rel(norms[static_cast<std::int64_t>(k)], head_feature_norms(m, obs[k], o)) < 1e-6);
            QVERIFY(one.norms.abs().sum().item<double>() > 0);
        }
    }

    void unembeddingCovectorsReadOnlyUsedRows() {
        const auto& m = *t_.model;
        ObservableMatrix om;
        om.names = {"a", "b"};
        om.n = torch::zeros({2, 300});
        om.n[0][10] = 1.0, om.n[0][20] = -1.0, om.n[1][7] = 0.25, om.n[1][299] = -3.0, om.n[1][10] = 0.5;
        const Tensor dense = at::matmul(om.n.to(torch::kDouble), m.weights().W_U.to(torch::kDouble));
        QVERIFY(max_rel(unembedding_covectors(m, om), dense) < 1e-12);
    }

    void forwardStoppedBeforeLnFinal() {
        for (const TinyModel* t : {&t_, &neox_}) {
            const auto& m = *t->model;
            const auto batch = model::Batch::from({{5, 9, 11, 3}, {7, 8}});
            model::ActivationCache cache;
            const std::string post = model::hook_name(m.config().n_layers - 1, "hook_resid_post");
            m.run_with_cache(batch, {post}, cache);
            model::RunOptions o;
            o.final_residual_only = true;
            QVERIFY(torch::allclose(m.forward(batch, o), cache.at(post)));
            o.last_logits_only = true;
            const Tensor last = m.forward(batch, o);
            QVERIFY(torch::allclose(last[0], cache.at(post)[0][3]));
            QVERIFY(torch::allclose(last[1], cache.at(post)[1][1]));
        }
    }

    void forwardStoppedAtALayer() {
        const auto& m = *t_.model;
        const auto batch = model::Batch::from({{5, 9, 11, 3}, {7, 8}});
        model::ActivationCache full;
        const std::string name = model::hook_name(2, "hook_resid_pre");
        m.run_with_cache(batch, {name}, full);
        model::RunOptions o;
        o.stop_before_layer = 2;
        std::vector<int> ran;
        o.before_layer = [&](int l) { ran.push_back(l); };
        QVERIFY(torch::allclose(m.forward(batch, o), full.at(name)));
        QCOMPARE(ran, (std::vector<int>{0, 1, 2})); // layer 2 itself is not run
    }

    // Every forward-based analysis reports between layers, never goes back, and stops when told to.
    void progressBetweenLayers() {
        const auto& m = *t_.model;
        const int L = m.config().n_layers;
        PromptBatch clean, corrupt;
        for (int i = 0; i < 5; ++i) {
            clean.ids.push_back({5 + i, 40, 77, 12, 9});
            corrupt.ids.push_back({5 + i, 41, 77, 12, 9});
            clean.positions.push_back(1), corrupt.positions.push_back(1);
        }
        ObservableMatrix om;
        om.names = {"a"};
        om.n = torch::zeros({1, 300});
        om.n[0][10] = 1.0, om.n[0][20] = -1.0;
        const std::vector<std::pair<const char*, std::function<void(const Progress&)>>> runs = {
            {"observable values", [&](const Progress& p) { observable_values(m, clean, om, p); }},
            {"residual norms", [&](const Progress& p) { residual_norms(m, clean, p); }},
            {"attribution",
             [&](const Progress& p) {
                 attribute_heads(m, clean, corrupt, om, AttributionMethod::Patching, p);
             }},
            {"path search",
             [&](const Progress& p) {
                 beam_search_paths(m, clean, corrupt, om, 0, {3, 2}, p);
             }},
            {"steering baseline", [&](const Progress& p) { steering_baseline(m, clean, 1, om, p); }},
            {"token activations", [&](const Progress& p) { token_activations(m, clean, 2, p); }},
        };
        for (const auto& [what, run] : runs) {
            int calls = 0;
            double last = -1;
            bool backwards = false;
            run([&](double f, std::string_view) {
                backwards |= f < last - 1e-12;
                last = f;
                ++calls;
                return true;
            });
            QVERIFY2(calls >= L, what);
            QVERIFY2(!backwards, what);
            // Cancelling at the second call stops the run there.
            int seen = 0;
            bool threw = false;
            try {
                run([&](double, std::string_view) { return ++seen < 2; });
            } catch (const Cancelled&) {
                threw = true;
            }
            QVERIFY2(threw && seen == 2, what);
        }
    }

    void tensorMemoryCounter() {
        QVERIFY(!model::tensor_memory().installed);
        const Tensor plain = head_feature_norms(*t_.model, observable("a", {{10, 1.0}}));
        model::install_tensor_memory_counter();
        model::install_tensor_memory_counter(); // twice is harmless
        const auto before = model::tensor_memory();
        QVERIFY(before.installed);
        {
            Tensor big = torch::ones({1 << 20}); // 4 MiB
            const auto during = model::tensor_memory();
            QVERIFY(during.live - before.live >= (4 << 20));
            QVERIFY(during.peak >= during.live);
            QCOMPARE(big.sum().item<double>(), double(1 << 20)); // the memory works
            // Computation through the counted allocator gives the same numbers as before it.
            QVERIFY(torch::equal(head_feature_norms(*t_.model, observable("a", {{10, 1.0}})), plain));
        }
        const auto after = model::tensor_memory();
        QVERIFY(after.live <= before.live + 4096);
        QVERIFY(after.peak >= before.live + (4 << 20));
    }
};

QTEST_APPLESS_MAIN(TestEngineBatching)
#include "tst_engine_batching.moc"
