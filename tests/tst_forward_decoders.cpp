// The LibTorch forward pass of the RMSNorm decoders (Llama, Mistral, Qwen 2/3, Gemma 1/2/3) against the
// independent naive reference (tests/reference), on tiny generated checkpoints of each family in every
// storage variant: logits, residuals, attention patterns and z, grouped-query attention, rotary scaling,
// sliding windows on prompts longer than the window, soft-caps, q/k norms, post-norms, tied and untied
// unembeddings; gradients against finite differences of the reference.
#include "test_models.h"

#include <QTemporaryDir>
#include <QtTest>

#include "model/hooks.h"

using obsprop::model::Batch;
using obsprop::model::Transformer;
namespace tools = obsprop::tools;
namespace naive = obsprop::naive;
using torch::Tensor;
using F = tools::Family;
using D = obsprop::io::DType;

namespace {

using test_models::max_rel_err;
using test_models::to_naive;

tools::CheckpointSpec tiny(F f, std::uint64_t seed = 7) {
    auto s = tools::preset("tiny", f);
    s.seed = seed;
    s.vocab = 300;
    s.n_ctx = 24;
    return s;
}

std::string write(const tools::GeneratedCheckpoint& g, const tools::CheckpointSpec& s,
                  const QTemporaryDir& tmp) {
    const std::string dir = tmp.path().toStdString() + "/model";
    tools::write_checkpoint(g, s, dir);
    return dir;
}

// Three prompts of different lengths: 20 tokens (longer than the tiny presets' windows of 4), 7 and 1.
std::vector<std::vector<int>> prompts_for(int vocab) {
    return test_models::test_prompts(vocab, {20, 7, 1});
}

struct Variant {
    tools::CheckpointSpec spec;
};

} // namespace

Q_DECLARE_METATYPE(Variant)

class TestForwardDecoders : public QObject {
    Q_OBJECT

    static void add(const char* name, const tools::CheckpointSpec& s) { QTest::newRow(name) << Variant{s}; }

  private Q_SLOTS:
    void initTestCase() { torch::manual_seed(0); }

    void matchesNaive_data() {
        QTest::addColumn<Variant>("v");
        // Every family's tiny preset (its particular features switched on), in float32.
        for (F f : {F::Llama, F::Mistral, F::Qwen2, F::Qwen3, F::Gemma, F::Gemma2, F::Gemma3})
            add(tools::family_name(f), tiny(f));
        auto s = tiny(F::Llama);
        s.storage = D::BF16, s.shards = 3;
        add("llama bf16 in 3 shards", s);
        s = tiny(F::Llama);
        s.storage = D::F16, s.prefix = false, s.untied = true;
        add("llama f16 unprefixed, untied lm_head", s);
        s = tiny(F::Llama);
        s.lm_head = true, s.buffers = true;
        add("llama tied with a stored lm_head copy and rotary buffers", s);
        s = tiny(F::Llama);
        s.n_kv_heads = 1;
        add("llama multi-query (1 KV head)", s);
        s = tiny(F::Llama);
        s.n_kv_heads = s.n_heads, s.rope_scaling = "linear", s.rope_factor = 4;
        add("llama one KV head per head, linear RoPE scaling", s);
        s = tiny(F::Llama);
        s.attention_bias = true, s.mlp_bias = true, s.rope_scaling.clear(), s.rope_theta = 500000;
        add("llama with attention and MLP biases", s);
        s = tiny(F::Mistral);
        s.sliding_window = 1;
        add("mistral window 1 (each token sees itself)", s);
        s = tiny(F::Qwen2);
        s.storage = D::BF16, s.untied = true;
        add("qwen2 bf16 untied", s);
        s = tiny(F::Qwen3);
        s.attention_bias = true, s.n_kv_heads = 4;
        add("qwen3 with attention biases, 4 KV heads", s);
        s = tiny(F::Gemma2);
        s.storage = D::F16, s.shards = 2;
        add("gemma2 f16 in 2 shards", s);
        s = tiny(F::Gemma3);
        s.rope_scaling = "linear", s.rope_factor = 8, s.n_kv_heads = 1;
        add("gemma3 linear scaling on full layers, 1 KV head", s);
    }
    void matchesNaive() {
        QFETCH(Variant, v);
        QTemporaryDir tmp;
        const auto g = tools::generate(v.spec);
        auto m = Transformer::load(write(g, v.spec, tmp));
        const auto ps = prompts_for(v.spec.vocab);
        torch::NoGradGuard ng;
        Tensor logits = m->forward(Batch::from(ps));
        const auto w = to_naive(g);
        for (std::size_t b = 0; b < ps.size(); ++b) {
            const auto ref = naive::run(g.config, w, ps[b]);
            const double err = max_rel_err(logits[static_cast<std::int64_t>(b)], ref.logits,
                                           static_cast<std::int64_t>(ps[b].size()));
            QVERIFY2(err < 1e-4, qPrintable(QStringLiteral("prompt %1: max rel err %2").arg(b).arg(err)));
        }
        obsprop::model::RunOptions o;
        o.last_logits_only = true;
        Tensor last = m->forward(Batch::from(ps), o);
        for (std::size_t b = 0; b < ps.size(); ++b)
            QVERIFY(torch::allclose(
                last[static_cast<std::int64_t>(b)],
                logits[static_cast<std::int64_t>(b)][static_cast<std::int64_t>(ps[b].size()) - 1], 1e-5,
                1e-5));
        Tensor alone = m->forward(Batch::from({ps[1]}));
        QVERIFY(torch::allclose(alone[0], logits[1].narrow(0, 0, static_cast<std::int64_t>(ps[1].size())),
                                1e-5, 1e-5));
    }

    // Residuals, attention patterns and z per head (query heads sharing a KV head included).
    void cacheMatchesNaive_data() {
        QTest::addColumn<int>("family");
        for (F f : {F::Llama, F::Mistral, F::Qwen2, F::Qwen3, F::Gemma, F::Gemma2, F::Gemma3})
            QTest::newRow(tools::family_name(f)) << int(f);
    }
    void cacheMatchesNaive() {
        QFETCH(int, family);
        const auto s = tiny(F(family), 3);
        QTemporaryDir tmp;
        const auto g = tools::generate(s);
        auto m = Transformer::load(write(g, s, tmp));
        const std::vector<int> ids{5, 17, 200, 42, 9, 9, 77, 150, 3, 64};
        std::set<std::string> names;
        for (int l = 0; l < s.n_layers; ++l)
            for (const char* h : {"hook_resid_pre", "attn.hook_pattern", "attn.hook_z"})
                names.insert(obsprop::model::hook_name(l, h));
        names.insert(obsprop::model::hook_name(s.n_layers - 1, "hook_resid_post"));
        obsprop::model::ActivationCache cache;
        torch::NoGradGuard ng;
        m->run_with_cache(Batch::from({ids}), names, cache);
        const auto ref = naive::run(g.config, to_naive(g), ids);
        const auto T = static_cast<std::int64_t>(ids.size());
        for (int l = 0; l < s.n_layers; ++l) {
            const auto resid = cache.at(obsprop::model::hook_name(l, "hook_resid_pre"))[0];
            QVERIFY2(max_rel_err(resid, ref.resid_pre[static_cast<std::size_t>(l)], T) < 1e-5,
                     qPrintable(QStringLiteral("resid_pre %1").arg(l)));
            const auto pat = cache.at(obsprop::model::hook_name(l, "attn.hook_pattern"))[0]; // [H, T, T]
            const auto z = cache.at(obsprop::model::hook_name(l, "attn.hook_z"))[0];         // [T, H, dh]
            QCOMPARE(pat.size(0), static_cast<std::int64_t>(s.n_heads));
            QCOMPARE(z.size(2), static_cast<std::int64_t>(s.d_head()));
            for (int h = 0; h < s.n_heads; ++h) {
                QVERIFY2(max_rel_err(pat[h],
                                     ref.pattern[static_cast<std::size_t>(l)][static_cast<std::size_t>(h)],
                                     T) < 1e-5,
                         qPrintable(QStringLiteral("pattern %1.%2").arg(l).arg(h)));
                for (std::int64_t t = 0; t < T; ++t)
                    QVERIFY(max_rel_err(z[t][h].unsqueeze(0),
                                        {ref.z[static_cast<std::size_t>(l)][static_cast<std::size_t>(t)]
                                              [static_cast<std::size_t>(h)]},
                                        1) < 1e-5);
            }
        }
        QVERIFY(max_rel_err(cache.at(obsprop::model::hook_name(s.n_layers - 1, "hook_resid_post"))[0],
                            ref.resid_final, T) < 1e-5);
    }

    // Every hook the model lists exists in a pass that caches them all, with the documented shapes.
    void allHooksRun_data() { cacheMatchesNaive_data(); }
    void allHooksRun() {
        QFETCH(int, family);
        const auto s = tiny(F(family), 4);
        QTemporaryDir tmp;
        const auto g = tools::generate(s);
        auto m = Transformer::load(write(g, s, tmp));
        const auto names = obsprop::model::all_hook_names(m->config());
        obsprop::model::ActivationCache cache;
        torch::NoGradGuard ng;
        const std::vector<int> ids{1, 2, 3, 4, 5, 6};
        Tensor plain = m->forward(Batch::from({ids}));
        Tensor hooked = m->run_with_cache(Batch::from({ids}), {names.begin(), names.end()}, cache);
        QCOMPARE(cache.size(), names.size());
        QVERIFY(torch::allclose(plain, hooked, 1e-5, 1e-5)); // observing changes nothing
        QCOMPARE(cache.at("blocks.0.attn.hook_v").size(2), static_cast<std::int64_t>(s.kv_heads()));
        QCOMPARE(cache.at("blocks.0.attn.hook_q").size(2), static_cast<std::int64_t>(s.n_heads));
        // RMSNorm: hook_normalized · hook_scale is the norm's input (no centring).
        const Tensor x = cache.at("blocks.1.hook_resid_pre");
        QVERIFY(torch::allclose(
            cache.at("blocks.1.ln1.hook_normalized") * cache.at("blocks.1.ln1.hook_scale"), x, 1e-4, 1e-5));
        // What the attention adds to the residual stream: resid_mid − resid_pre.
        QVERIFY(torch::allclose(cache.at("blocks.0.hook_resid_mid") - cache.at("blocks.0.hook_resid_pre"),
                                cache.at("blocks.0.hook_attn_out"), 1e-4, 1e-5));
    }

    // d(logit)/d(vector added at blocks.0.hook_resid_pre, position p) by autograd against central finite
    // differences of the naive model, perturbing the embedding row of the token at p (which occurs once);
    // Gemma scales embeddings by √d, so a change δ of the row moves the residual by √d·δ.
    void gradientMatchesFiniteDifferences_data() { cacheMatchesNaive_data(); }
    void gradientMatchesFiniteDifferences() {
        QFETCH(int, family);
        const auto s = tiny(F(family), 5);
        QTemporaryDir tmp;
        const auto g = tools::generate(s);
        auto m = Transformer::load(write(g, s, tmp));
        const std::vector<int> ids{10, 20, 30, 40, 50, 60};
        const int p = 1, target = 123;
        Tensor delta = torch::zeros({s.d_model}, torch::requires_grad());
        Tensor logits = m->run_with_hooks(
            Batch::from({ids}), {{"blocks.0.hook_resid_pre", {obsprop::model::add_vector_at(delta, {p})}}});
        logits[0][static_cast<std::int64_t>(ids.size()) - 1][target].backward();
        const Tensor grad = delta.grad();
        const double scale = m->config().embed_scale;
        auto w = to_naive(g);
        std::string embed;
        for (const auto& [name, t] : w)
            if (name.ends_with("embed_tokens.weight")) embed = name;
        QVERIFY(!embed.empty());
        const float h = 1e-2f;
        for (int i : {0, 7, 31, 63}) {
            auto plus = w, minus = w;
            const std::size_t at = static_cast<std::size_t>(ids[p]) * static_cast<std::size_t>(s.d_model) +
                                   static_cast<std::size_t>(i);
            plus.at(embed).values[at] += h;
            minus.at(embed).values[at] -= h;
            const double step = double(plus.at(embed).values[at]) - double(minus.at(embed).values[at]);
            const double fd = (naive::run(g.config, plus, ids).logits.back()[target] -
                               naive::run(g.config, minus, ids).logits.back()[target]) /
                              (step * scale);
            const double ag = grad[i].item<double>();
            QVERIFY2(
                std::abs(fd - ag) < 2e-3 * (1 + std::abs(fd)),
                qPrintable(
                    QStringLiteral("dim %1: autograd %2 vs finite difference %3").arg(i).arg(ag).arg(fd)));
        }
    }

    // A missing tensor and a wrong shape are named.
    void badCheckpoint() {
        auto s = tiny(F::Qwen3);
        QTemporaryDir tmp;
        auto g = tools::generate(s);
        g.config["num_key_value_heads"] = 4; // the file holds k_proj for 2 KV heads
        try {
            Transformer::load(write(g, s, tmp));
            QFAIL("expected a shape error");
        } catch (const std::exception& e) {
            const QString what = QString::fromUtf8(e.what());
            QVERIFY2(what.contains(QStringLiteral("self_attn.k_proj.weight")) &&
                         what.contains(QStringLiteral("shape")),
                     qPrintable(what));
        }
        auto s2 = tiny(F::Gemma3);
        QTemporaryDir tmp2;
        auto g2 = tools::generate(s2);
        g2.config["num_hidden_layers"] = 4; // more layers than stored
        try {
            Transformer::load(write(g2, s2, tmp2));
            QFAIL("expected a missing-tensor error");
        } catch (const std::exception& e) {
            const QString what = QString::fromUtf8(e.what());
            QVERIFY2(what.contains(QStringLiteral("missing tensor 'model.layers.3.")), qPrintable(what));
        }
    }
};

QTEST_APPLESS_MAIN(TestForwardDecoders)
#include "tst_forward_decoders.moc"
