// The LibTorch forward pass against the independent naive reference (tests/reference), on tiny
// generated checkpoints of every family and storage variant; hooks, interventions and gradients.
#include "model/finite.h"
#include "test_models.h"

#include <QTemporaryDir>
#include <QtTest>

#include <fstream>
#include <limits>

using obsprop::model::Batch;
using obsprop::model::Transformer;
namespace tools = obsprop::tools;
namespace naive = obsprop::naive;
using torch::Tensor;

namespace {

struct Variant {
    tools::CheckpointSpec spec;
    nlohmann::json config_overrides = nlohmann::json::object();
};

using test_models::max_rel_err;
using test_models::to_naive;

// Writes the checkpoint (with config overrides applied) and returns its folder.
std::string write(const tools::GeneratedCheckpoint& g, const tools::CheckpointSpec& s,
                  const QTemporaryDir& tmp) {
    const std::string dir = tmp.path().toStdString() + "/model";
    tools::write_checkpoint(g, s, dir);
    return dir;
}

std::vector<std::vector<int>> prompts_for(int vocab, int n_ctx) {
    // Three prompts of different lengths (so padding is exercised); the longest is near the context.
    return test_models::test_prompts(vocab, {std::min(n_ctx, 20), 7, 1});
}

} // namespace

Q_DECLARE_METATYPE(Variant)

class TestForward : public QObject {
    Q_OBJECT
  private Q_SLOTS:
    void initTestCase() { torch::manual_seed(0); }

    void matchesNaive_data() {
        QTest::addColumn<Variant>("v");
        auto tiny = [](tools::Family f) {
            auto s = tools::preset("tiny", f);
            s.seed = 7;
            s.n_ctx = 24;
            s.vocab = 300;
            s.d_model = 32, s.n_heads = 4, s.d_mlp = 64;
            return s;
        };
        using F = tools::Family;
        using D = obsprop::io::DType;
        {
            Variant v{tiny(F::GPT2)};
            QTest::newRow("gpt2 f32 prefixed") << v;
            v.spec.prefix = false, v.spec.buffers = true, v.spec.lm_head = true;
            QTest::newRow("gpt2 f32 unprefixed with legacy buffers and lm_head") << v;
            v.spec.storage = D::F16, v.spec.shards = 3;
            QTest::newRow("gpt2 f16 in 3 shards") << v;
            v = Variant{tiny(F::GPT2)};
            v.config_overrides = {{"scale_attn_by_inverse_layer_idx", true}};
            QTest::newRow("gpt2 scale by inverse layer index") << v;
            v = Variant{tiny(F::GPT2)};
            v.config_overrides = {{"activation_function", "relu"}};
            QTest::newRow("gpt2 relu") << v;
        }
        {
            Variant v{tiny(F::GPTNeo)};
            v.spec.window_size = 5; // local layers see 5 keys; prompts are 20 long
            QTest::newRow("gpt-neo f32 window 5") << v;
            v.spec.storage = D::BF16, v.spec.shards = 2, v.spec.buffers = true;
            QTest::newRow("gpt-neo bf16 in 2 shards with buffers") << v;
            v = Variant{tiny(F::GPTNeo)};
            v.spec.window_size = 1;
            v.spec.n_layers = 3;
            QTest::newRow("gpt-neo window 1, 3 layers") << v;
        }
        {
            Variant v{tiny(F::GPTNeoX)};
            QTest::newRow("gpt-neox parallel, rotary 0.25") << v;
            v.spec.parallel_residual = false;
            v.spec.rotary_pct = 1.0;
            QTest::newRow("gpt-neox sequential, full rotary") << v;
            v = Variant{tiny(F::GPTNeoX)};
            v.spec.storage = D::F16, v.spec.prefix = false, v.spec.buffers = true, v.spec.shards = 2;
            QTest::newRow("gpt-neox f16 unprefixed in 2 shards with buffers") << v;
            v = Variant{tiny(F::GPTNeoX)};
            v.spec.rotary_pct = 0.0;
            QTest::newRow("gpt-neox no rotary") << v;
        }
    }
    void matchesNaive() {
        QFETCH(Variant, v);
        QTemporaryDir tmp;
        auto g = tools::generate(v.spec);
        g.config.update(v.config_overrides);
        const auto dir = write(g, v.spec, tmp);
        auto m = Transformer::load(dir);
        const auto ps = prompts_for(v.spec.vocab, v.spec.n_ctx);
        torch::NoGradGuard ng;
        Tensor logits = m->forward(Batch::from(ps));
        QCOMPARE(logits.size(0), static_cast<std::int64_t>(ps.size()));
        const auto w = to_naive(g);
        for (std::size_t b = 0; b < ps.size(); ++b) {
            auto ref = naive::run(g.config, w, ps[b]);
            double err = max_rel_err(logits[b], ref.logits, static_cast<std::int64_t>(ps[b].size()));
            QVERIFY2(err < 1e-4, qPrintable(QStringLiteral("prompt %1: max rel err %2").arg(b).arg(err)));
        }
        // The last-position shortcut gives the same numbers.
        obsprop::model::RunOptions o;
        o.last_logits_only = true;
        Tensor last = m->forward(Batch::from(ps), o);
        for (std::size_t b = 0; b < ps.size(); ++b)
            QVERIFY(
                torch::allclose(last[b], logits[b][static_cast<std::int64_t>(ps[b].size()) - 1], 1e-5, 1e-5));
        // A prompt's logits do not depend on what else is in the batch.
        Tensor alone = m->forward(Batch::from({ps[1]}));
        QVERIFY(torch::allclose(alone[0], logits[1].narrow(0, 0, static_cast<std::int64_t>(ps[1].size())),
                                1e-5, 1e-5));
    }

    void cacheMatchesNaive_data() {
        QTest::addColumn<int>("family");
        QTest::newRow("gpt2") << int(tools::Family::GPT2);
        QTest::newRow("gpt-neo") << int(tools::Family::GPTNeo);
        QTest::newRow("gpt-neox") << int(tools::Family::GPTNeoX);
    }
    void cacheMatchesNaive() {
        QFETCH(int, family);
        auto s = tools::preset("tiny", tools::Family(family));
        s.window_size = 4, s.seed = 3, s.vocab = 300;
        QTemporaryDir tmp;
        auto g = tools::generate(s);
        auto m = Transformer::load(write(g, s, tmp));
        std::vector<int> ids{5, 17, 200, 42, 9, 9, 77, 150};
        std::set<std::string> names;
        for (int l = 0; l < s.n_layers; ++l)
            for (const char* h : {"hook_resid_pre", "attn.hook_pattern", "attn.hook_z"})
                names.insert(obsprop::model::hook_name(l, h));
        obsprop::model::ActivationCache cache;
        torch::NoGradGuard ng;
        m->run_with_cache(Batch::from({ids}), names, cache);
        QCOMPARE(cache.size(), names.size());
        auto ref = naive::run(g.config, to_naive(g), ids);
        const auto T = static_cast<std::int64_t>(ids.size());
        for (int l = 0; l < s.n_layers; ++l) {
            auto resid = cache.at(obsprop::model::hook_name(l, "hook_resid_pre"))[0];
            QVERIFY(max_rel_err(resid, ref.resid_pre[l], T) < 1e-5);
            auto pat = cache.at(obsprop::model::hook_name(l, "attn.hook_pattern"))[0]; // [H, T, T]
            auto z = cache.at(obsprop::model::hook_name(l, "attn.hook_z"))[0];         // [T, H, dh]
            for (int h = 0; h < s.n_heads; ++h) {
                QVERIFY(max_rel_err(pat[h], ref.pattern[l][h], T) < 1e-5);
                for (std::int64_t t = 0; t < T; ++t)
                    QVERIFY(max_rel_err(z[t][h].unsqueeze(0), {ref.z[l][t][h]}, 1) < 1e-5);
            }
        }
    }

    // Adding v at blocks.0.hook_resid_pre, position p, is the same as adding v to row p of the learned
    // position table: the naive model with a modified wpe is an independent check.
    void addVectorMatchesModifiedPositions() {
        auto s = tools::preset("tiny", tools::Family::GPT2);
        s.seed = 11, s.vocab = 300, s.prefix = false;
        QTemporaryDir tmp;
        auto g = tools::generate(s);
        auto m = Transformer::load(write(g, s, tmp));
        std::vector<int> ids{3, 99, 250, 7, 64};
        const int p = 2;
        Tensor vec = torch::randn({s.d_model});
        Tensor logits;
        {
            torch::NoGradGuard ng;
            logits = m->run_with_hooks(Batch::from({ids}), {{"blocks.0.hook_resid_pre",
                                                             {obsprop::model::add_vector_at(vec, {p})}}})[0];
        }
        auto w = to_naive(g);
        auto& wpe = w.at("wpe.weight");
        for (int i = 0; i < s.d_model; ++i)
            wpe.values[p * s.d_model + i] += vec[i].item<float>();
        auto ref = naive::run(g.config, w, ids);
        QVERIFY(max_rel_err(logits, ref.logits, static_cast<std::int64_t>(ids.size())) < 1e-4);
    }

    // d(logit)/d(vector added at resid_pre) by autograd against central finite differences of the
    // naive model (again through the position table).
    void gradientMatchesFiniteDifferences() {
        auto s = tools::preset("tiny", tools::Family::GPT2); // learned positions carry the perturbation
        s.seed = 5, s.vocab = 300, s.prefix = false;
        QTemporaryDir tmp;
        auto g = tools::generate(s);
        auto m = Transformer::load(write(g, s, tmp));
        std::vector<int> ids{10, 20, 30, 40};
        const int p = 1, target = 123;
        Tensor delta = torch::zeros({s.d_model}, torch::requires_grad());
        Tensor logits = m->run_with_hooks(
            Batch::from({ids}), {{"blocks.0.hook_resid_pre", {obsprop::model::add_vector_at(delta, {p})}}});
        logits[0][static_cast<std::int64_t>(ids.size()) - 1][target].backward();
        Tensor grad = delta.grad();
        auto w = to_naive(g);
        const double eps = 1e-2;
        for (int i : {0, 5, 17, 31}) {
            auto plus = w, minus = w;
            plus.at("wpe.weight").values[p * s.d_model + i] += static_cast<float>(eps);
            minus.at("wpe.weight").values[p * s.d_model + i] -= static_cast<float>(eps);
            // wpe values are float: use the exact perturbation that was stored.
            double hp = plus.at("wpe.weight").values[p * s.d_model + i] -
                        w.at("wpe.weight").values[p * s.d_model + i];
            double hm = w.at("wpe.weight").values[p * s.d_model + i] -
                        minus.at("wpe.weight").values[p * s.d_model + i];
            double fd = (naive::run(g.config, plus, ids).logits.back()[target] -
                         naive::run(g.config, minus, ids).logits.back()[target]) /
                        (hp + hm);
            double ag = grad[i].item<double>();
            QVERIFY2(
                std::abs(fd - ag) < 1e-3 * (1 + std::abs(fd)),
                qPrintable(
                    QStringLiteral("dim %1: autograd %2 vs finite difference %3").arg(i).arg(ag).arg(fd)));
        }
    }

    // Patching one head's z changes the attention output by exactly W_O^h (z_src - z), computed here
    // with explicit loops from the checkpoint's own c_proj tensor.
    void patchHeadChangesOutputByItsOwnTerm() {
        auto s = tools::preset("tiny", tools::Family::GPT2);
        s.seed = 9, s.vocab = 300, s.prefix = false;
        QTemporaryDir tmp;
        auto g = tools::generate(s);
        auto m = Transformer::load(write(g, s, tmp));
        const int L = 1, h = 2, dh = s.d_head(), d = s.d_model;
        std::vector<int> clean{1, 2, 3, 4, 5, 6}, corrupt{9, 8, 7, 6, 5, 4};
        const std::string zname = obsprop::model::hook_name(L, "attn.hook_z");
        const std::string oname = obsprop::model::hook_name(L, "hook_attn_out");
        torch::NoGradGuard ng;
        obsprop::model::ActivationCache cc, pc, kc;
        m->run_with_cache(Batch::from({corrupt}), {zname}, kc);
        m->run_with_cache(Batch::from({clean}), {zname, oname}, cc);
        obsprop::model::RunOptions o;
        o.add_hook(zname, obsprop::model::patch_head_z(h, kc.at(zname)));
        o.cache = {oname};
        m->forward(Batch::from({clean}), o, &pc);
        const auto& Wproj = g.at("h." + std::to_string(L) + ".attn.c_proj.weight"); // Conv1D [in, out]
        Tensor zc = cc.at(zname)[0], zk = kc.at(zname)[0];
        Tensor diff = pc.at(oname)[0] - cc.at(oname)[0];
        for (std::int64_t t = 0; t < static_cast<std::int64_t>(clean.size()); ++t)
            for (int o2 = 0; o2 < d; ++o2) {
                double want = 0;
                for (int e = 0; e < dh; ++e)
                    want += Wproj.values[(h * dh + e) * d + o2] *
                            (zk[t][h][e].item<double>() - zc[t][h][e].item<double>());
                QVERIFY(std::abs(diff[t][o2].item<double>() - want) < 1e-4);
            }
        // Asking for hook_result takes the per-head path; the output must not change.
        obsprop::model::ActivationCache rc;
        m->run_with_cache(Batch::from({clean}), {obsprop::model::hook_name(L, "attn.hook_result"), oname},
                          rc);
        QVERIFY(torch::allclose(rc.at(oname), cc.at(oname), 1e-5, 1e-5));
        QVERIFY(torch::allclose(rc.at(obsprop::model::hook_name(L, "attn.hook_result")).sum(2) +
                                    m->weights().layers[L].b_O,
                                cc.at(oname), 1e-5, 1e-5));
    }

    // A checkpoint with one more layer than its configuration is refused, naming a tensor of that layer
    // (it would otherwise run silently as the smaller model); legacy buffers of known layers stay allowed.
    void extraLayerRefused_data() {
        QTest::addColumn<int>("family");
        QTest::addColumn<QString>("layerKey"); // config.json's number of layers
        QTest::addColumn<QString>("tensor");   // a tensor name of the extra layer
        QTest::newRow("gpt2") << int(tools::Family::GPT2) << "n_layer"
                              << "transformer.h.2.";
        QTest::newRow("neox") << int(tools::Family::GPTNeoX) << "num_hidden_layers"
                              << "gpt_neox.layers.2.";
        QTest::newRow("llama") << int(tools::Family::Llama) << "num_hidden_layers"
                               << "model.layers.2.";
    }
    void extraLayerRefused() {
        QFETCH(int, family);
        QFETCH(QString, layerKey);
        QFETCH(QString, tensor);
        auto s = tools::preset("tiny", static_cast<tools::Family>(family));
        s.n_layers = 3;
        QTemporaryDir tmp;
        const std::string dir = write(tools::generate(s), s, tmp);
        {
            const std::string p = dir + "/config.json";
            nlohmann::json j = nlohmann::json::parse(std::ifstream(p));
            QVERIFY(j.contains(layerKey.toStdString()));
            j[layerKey.toStdString()] = 2;
            std::ofstream(p) << j.dump(2);
        }
        QString got;
        try {
            Transformer::load(dir);
        } catch (const std::exception& e) {
            got = QString::fromUtf8(e.what());
        }
        QVERIFY2(got.startsWith(QStringLiteral("checkpoint has tensor '") + tensor), qPrintable(got));
        QVERIFY2(got.contains(QStringLiteral("' of layer 2, but the configuration has 2 layers (0..1): "
                                             "config.json does not match the weights")),
                 qPrintable(got));
    }

    // NaN or inf in a checkpoint is found and named when a result needs explaining (never scanned at load).
    void nonfiniteWeightsNamed_data() {
        QTest::addColumn<int>("storage");
        QTest::addColumn<float>("value");
        QTest::addColumn<QString>("kind");
        QTest::newRow("f32 NaN") << int(obsprop::io::DType::F32) << std::numeric_limits<float>::quiet_NaN()
                                 << "NaN";
        QTest::newRow("f16 NaN") << int(obsprop::io::DType::F16) << std::numeric_limits<float>::quiet_NaN()
                                 << "NaN";
        QTest::newRow("bf16 inf") << int(obsprop::io::DType::BF16) << std::numeric_limits<float>::infinity()
                                  << "inf";
    }
    void nonfiniteWeightsNamed() {
        QFETCH(int, storage);
        QFETCH(float, value);
        QFETCH(QString, kind);
        auto s = tools::preset("tiny", tools::Family::GPT2);
        s.storage = static_cast<obsprop::io::DType>(storage);
        auto g = tools::generate(s);
        const std::string bad = "transformer.h.1.mlp.c_proj.weight";
        bool found = false;
        for (auto& [name, t] : g.tensors)
            if (name == bad) t.values[7] = value, found = true;
        QVERIFY(found);
        QTemporaryDir tmp;
        auto m = Transformer::load(write(g, s, tmp));
        const auto names = obsprop::model::nonfinite_weights(*m);
        QCOMPARE(names.size(), std::size_t{1});
        QCOMPARE(QString::fromStdString(names[0]),
                 QStringLiteral("'%1' holds %2").arg(QString::fromStdString(bad), kind));
        QCOMPARE(
            QString::fromStdString(obsprop::model::nonfinite_weights_note(*m)),
            QStringLiteral("; the checkpoint's tensor '%1' holds %2").arg(QString::fromStdString(bad), kind));
        // The weights in memory say the same, by their own names.
        const auto mem = obsprop::model::nonfinite_weights(m->weights());
        QCOMPARE(mem.size(), std::size_t{1});
        QCOMPARE(QString::fromStdString(mem[0]), QStringLiteral("'layers.1.W_out' holds %1").arg(kind));
        // A clean model's note says so.
        QTemporaryDir tmp2;
        tools::write_checkpoint(tools::generate(s), s, tmp2.path().toStdString());
        auto ok = Transformer::load(tmp2.path().toStdString());
        QVERIFY(obsprop::model::nonfinite_weights(*ok).empty());
        QCOMPARE(QString::fromStdString(obsprop::model::nonfinite_weights_note(*ok)),
                 QStringLiteral("; every weight of the model is finite, so the computation overflowed"));
    }

    void badInputs() {
        auto s = tools::preset("tiny", tools::Family::GPT2);
        s.vocab = 300;
        QTemporaryDir tmp;
        auto g = tools::generate(s);
        auto m = Transformer::load(write(g, s, tmp));
        auto message = [&](const std::vector<std::vector<int>>& ps) -> QString {
            try {
                m->forward(Batch::from(ps));
            } catch (const std::exception& e) {
                return QString::fromUtf8(e.what());
            }
            return {};
        };
        QVERIFY(message({std::vector<int>(s.n_ctx + 1, 1)})
                    .contains(QStringLiteral("exceeds the model's context")));
        QVERIFY(message({{1, 300}}).contains(QStringLiteral("token id out of range")));
        QVERIFY(message({{1, -1}}).contains(QStringLiteral("token id out of range")));
        QVERIFY(message({{}}).contains(QStringLiteral("no tokens")));
        QVERIFY(message({}).contains(QStringLiteral("no prompts")));
    }
};

QTEST_APPLESS_MAIN(TestForward)
#include "tst_forward.moc"
