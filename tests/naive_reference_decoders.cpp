// The naive reference's Llama-style families (tests/reference/naive_decoder.cpp) on their own: tiny models
// whose outputs follow by hand (RMSNorm, Gemma's embedding scale, GQA head mapping, rotary, llama3
// frequencies, sliding windows, soft-caps, q/k norms, sandwich norms, gated MLP, tied and untied heads)
// and the refusals. Part of the tst_naive_reference executable (see its main).
#include "naive_transformer.h"

#include <QtTest/QtTest>

#include <cmath>
#include <cstdint>
#include <numbers>
#include <stdexcept>
#include <string>
#include <vector>

using obsprop::naive::Tensor;
using obsprop::naive::Trace;
using obsprop::naive::Weights;
using json = nlohmann::json;

namespace {

#define NEAR(actual, expected, tol)                                                                          \
    do {                                                                                                     \
        const double a_ = (actual), e_ = (expected);                                                         \
        QVERIFY2(std::abs(a_ - e_) <= (tol), qPrintable(QStringLiteral("%1 = %2, expected %3")               \
                                                            .arg(QStringLiteral(#actual))                    \
                                                            .arg(a_, 0, 'g', 17)                             \
                                                            .arg(e_, 0, 'g', 17)));                          \
    } while (0)

using Floats = std::vector<float>;

struct Model {
    std::string type;
    json config;
    Weights w;

    bool gemma() const { return type == "gemma" || type == "gemma2" || type == "gemma3_text"; }
    bool sandwich() const { return type == "gemma2" || type == "gemma3_text"; }
    bool qkNorm() const { return type == "qwen3" || type == "gemma3_text"; }

    void add(const std::string& name, std::vector<std::int64_t> shape, float value = 0.0f) {
        std::int64_t n = 1;
        for (auto s : shape)
            n *= s;
        w[name] = Tensor{std::move(shape), Floats(static_cast<std::size_t>(n), value)};
    }
    void put(const std::string& name, const Floats& values) {
        auto it = w.find(name);
        if (it == w.end() || it->second.values.size() != values.size()) {
            throw std::logic_error("test set-up: no tensor " + name + " of that size");
        }
        it->second.values = values;
    }
    Trace run(const std::vector<int>& ids) const { return obsprop::naive::run(config, w, ids); }
};

std::string L(int l, const std::string& rest) {
    return "layers." + std::to_string(l) + "." + rest;
}

// A model of the family with every weight zero and every norm the identity (Llama-style weights 1, Gemma
// weights 0). Attention biases are present when `biases` (attention_bias; Qwen2 always has q/k/v ones);
// head_dim is written explicitly; windows, soft-caps and rope scaling are off unless a test sets them.
Model blank(const std::string& type, int d, int heads, int kv, int dh, int layers, int vocab, int dMlp,
            bool biases = false) {
    Model m{type, json::object(), {}};
    m.config = {{"model_type", type},
                {"hidden_size", d},
                {"num_attention_heads", heads},
                {"num_key_value_heads", kv},
                {"head_dim", dh},
                {"num_hidden_layers", layers},
                {"vocab_size", vocab},
                {"intermediate_size", dMlp},
                {"max_position_embeddings", 64},
                {"rms_norm_eps", 1e-6},
                {"rope_theta", 10000.0},
                {"rope_scaling", nullptr},
                {"tie_word_embeddings", true}};
    if (type != "qwen2" && type != "mistral") m.config["attention_bias"] = biases;
    if (m.sandwich()) {
        m.config["query_pre_attn_scalar"] = dh;
        m.config["attn_logit_softcapping"] = nullptr;
        m.config["final_logit_softcapping"] = nullptr;
        m.config["sliding_window"] = 4096;
        if (type == "gemma3_text") {
            m.config["sliding_window_pattern"] = layers + 1; // all layers full
        } else {
            m.config["layer_types"] = json::array();
            for (int l = 0; l < layers; ++l)
                m.config["layer_types"].push_back("full_attention");
        }
    }
    if (type == "mistral") m.config["sliding_window"] = nullptr;
    const float norm = m.gemma() ? 0.0f : 1.0f;
    m.add("embed_tokens.weight", {vocab, d});
    for (int l = 0; l < layers; ++l) {
        m.add(L(l, "input_layernorm.weight"), {d}, norm);
        m.add(L(l, "post_attention_layernorm.weight"), {d}, norm);
        if (m.sandwich()) {
            m.add(L(l, "pre_feedforward_layernorm.weight"), {d}, norm);
            m.add(L(l, "post_feedforward_layernorm.weight"), {d}, norm);
        }
        m.add(L(l, "self_attn.q_proj.weight"), {heads * dh, d});
        m.add(L(l, "self_attn.k_proj.weight"), {kv * dh, d});
        m.add(L(l, "self_attn.v_proj.weight"), {kv * dh, d});
        m.add(L(l, "self_attn.o_proj.weight"), {d, heads * dh});
        if (biases || type == "qwen2") {
            m.add(L(l, "self_attn.q_proj.bias"), {heads * dh});
            m.add(L(l, "self_attn.k_proj.bias"), {kv * dh});
            m.add(L(l, "self_attn.v_proj.bias"), {kv * dh});
        }
        if (biases && type != "qwen2") m.add(L(l, "self_attn.o_proj.bias"), {d});
        if (m.qkNorm()) {
            m.add(L(l, "self_attn.q_norm.weight"), {dh}, norm);
            m.add(L(l, "self_attn.k_norm.weight"), {dh}, norm);
        }
        m.add(L(l, "mlp.gate_proj.weight"), {dMlp, d});
        m.add(L(l, "mlp.up_proj.weight"), {dMlp, d});
        m.add(L(l, "mlp.down_proj.weight"), {d, dMlp});
    }
    m.add("norm.weight", {d}, norm);
    return m;
}

// Every weight pseudo-random (a fixed linear congruential sequence) of size `amp`, norms near identity.
Model randomModel(const std::string& type, int heads, int kv, int dh, int layers, std::uint32_t seed,
                  float amp = 1.0f) {
    Model m = blank(type, 16, heads, kv, dh, layers, 11, 24, type != "mistral");
    std::uint32_t state = seed;
    for (auto& [name, t] : m.w) {
        const bool norm = t.shape.size() == 1 && name.ends_with("norm.weight");
        for (float& v : t.values) {
            state = state * 1664525u + 1013904223u;
            const float r = static_cast<float>(state >> 8) / 16777216.0f - 0.5f; // [-0.5, 0.5)
            v = norm ? (m.gemma() ? 0.0f : 1.0f) + 0.4f * r : amp * r;
        }
    }
    return m;
}

// Sets each key of the JSON object `settings` (null stays null: absent and null differ for some keys).
void merge(json& config, const QString& settings) {
    const json patch = json::parse(settings.toStdString());
    for (const auto& [key, value] : patch.items())
        config[key] = value;
}

QString failure(const Model& m, const std::vector<int>& ids = {0, 1}) {
    try {
        m.run(ids);
    } catch (const std::runtime_error& e) {
        return QString::fromStdString(e.what());
    }
    return "no exception";
}

} // namespace

class TestNaiveDecoders : public QObject {
    Q_OBJECT

  private Q_SLOTS:
    // Zero blocks: the residual stays the embedding and logits = W_U · norm(x). d = 4, x = (1, 2, 3, 6):
    // mean square 12.5; eps 3.5 makes the root 4, so x / 4 = (.25, .5, .75, 1.5). The final norm's weight is
    // (1, 2, 1, .5), stored as such (Llama) or as (0, 1, 0, -.5) (Gemma: 1 + w): n = (.25, 1, .75, .75).
    // Gemma's embedding is first multiplied by sqrt(4) = 2: x = (2, 4, 6, 12), mean square 50, eps 14 -> 8.
    // Tied W_U rows (1, 2, 3, 6) and (0, 1, 0, -1): logits (9, 0.25). Untied lm_head = 2 W_U doubles them.
    void rmsNormAndUnembedding_data() {
        QTest::addColumn<QString>("type");
        QTest::addColumn<bool>("untied");
        for (const char* t : {"llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "gemma3_text"}) {
            QTest::newRow(t) << t << false;
            QTest::newRow((std::string(t) + " untied").c_str()) << t << true;
        }
    }
    void rmsNormAndUnembedding() {
        QFETCH(QString, type);
        QFETCH(bool, untied);
        Model m = blank(type.toStdString(), 4, 2, 1, 2, 2, 2, 3);
        m.config["rms_norm_eps"] = m.gemma() ? 14.0 : 3.5;
        m.put("embed_tokens.weight", {1, 2, 3, 6, 0, 1, 0, -1});
        m.put("norm.weight", m.gemma() ? Floats{0, 1, 0, -0.5f} : Floats{1, 2, 1, 0.5f});
        if (untied) {
            m.config["tie_word_embeddings"] = false;
            m.add("lm_head.weight", {2, 4});
            m.put("lm_head.weight", {2, 4, 6, 12, 0, 2, 0, -2});
        }
        const Trace tr = m.run({0, 0});
        const double k = untied ? 2.0 : 1.0;
        for (int t = 0; t < 2; ++t) {
            NEAR(tr.logits[t][0], 9.0 * k, 1e-13);
            NEAR(tr.logits[t][1], 0.25 * k, 1e-13);
            for (int i = 0; i < 4; ++i) {
                const double e = (m.gemma() ? 2.0 : 1.0) * std::vector<double>{1, 2, 3, 6}[std::size_t(i)];
                NEAR(tr.resid_pre[0][t][i], e, 0.0);
                NEAR(tr.resid_final[t][i], e, 0.0);
                NEAR(tr.attn_out[1][t][i], 0.0, 0.0);
                NEAR(tr.mlp_out[1][t][i], 0.0, 0.0);
            }
        }
        // A stored lm_head that differs from a tied embedding is refused; an equal copy changes nothing.
        if (!untied) {
            Model copy = m;
            copy.w["lm_head.weight"] = m.w["embed_tokens.weight"];
            QVERIFY(copy.run({0, 0}).logits == tr.logits);
            copy.w["lm_head.weight"].values[0] = 5;
            QVERIFY(failure(copy).contains("'lm_head.weight' differs"));
        }
        // The "model." prefix may be present.
        Model prefixed = m;
        prefixed.w.clear();
        for (const auto& [name, t] : m.w)
            prefixed.w[name == "lm_head.weight" ? name : "model." + name] = t;
        QVERIFY(prefixed.run({0, 0}).logits == tr.logits);
    }

    // HF casts sqrt(hidden_size) to the hidden states' dtype: float32(sqrt(3)) = 1.73205077648162841796875,
    // not sqrt(3) = 1.7320508075688772.
    void gemmaEmbeddingScale() {
        for (const char* type : {"gemma", "gemma2", "gemma3_text"}) {
            Model m = blank(type, 3, 1, 1, 2, 1, 2, 2);
            m.put("embed_tokens.weight", {1, -2, 0.5f, 0, 0, 0});
            const Trace tr = m.run({0});
            NEAR(tr.resid_pre[0][0][0], 1.73205077648162841796875, 0.0);
            NEAR(tr.resid_pre[0][0][1], -2 * 1.73205077648162841796875, 0.0);
            NEAR(tr.resid_pre[0][0][2], 0.5 * 1.73205077648162841796875, 0.0);
        }
        Model llama = blank("llama", 3, 1, 1, 2, 1, 2, 2);
        llama.put("embed_tokens.weight", {1, -2, 0.5f, 0, 0, 0});
        NEAR(llama.run({0}).resid_pre[0][0][0], 1.0, 0.0);
    }

    // GQA: 4 query heads on 2 KV heads; head h reads KV head h / 2 (repeat_kv), not h % 2. All q and k are
    // zero, so every pattern row is uniform and z[t][h] is the value of the KV head it reads: the value
    // biases are (1, 0) for KV head 0 and (0, 1) for KV head 1.
    void groupedKeyValueHeads() {
        Model m = blank("llama", 4, 4, 2, 2, 1, 3, 2, true);
        m.put(L(0, "self_attn.v_proj.bias"), {1, 0, 0, 1});
        const Trace tr = m.run({0, 1, 2});
        const double v[4][2] = {{1, 0}, {1, 0}, {0, 1}, {0, 1}};
        for (int t = 0; t < 3; ++t)
            for (int h = 0; h < 4; ++h) {
                NEAR(tr.z[0][t][h][0], v[h][0], 1e-15);
                NEAR(tr.z[0][t][h][1], v[h][1], 1e-15);
                for (int j = 0; j <= t; ++j)
                    NEAR(tr.pattern[0][h][t][j], 1.0 / (t + 1), 1e-15);
            }
        // Two heads on one KV head with equal queries have identical patterns; a third with other queries
        // not.
        Model r = randomModel("qwen2", 4, 2, 4, 1, 7u);
        auto& wq = r.w[L(0, "self_attn.q_proj.weight")].values; // rows of head 1 := rows of head 0
        auto& bq = r.w[L(0, "self_attn.q_proj.bias")].values;
        for (std::size_t i = 0; i < 4 * 16; ++i)
            wq[4 * 16 + i] = wq[i];
        for (std::size_t i = 0; i < 4; ++i)
            bq[4 + i] = bq[i];
        const Trace g = r.run({1, 5, 2, 7, 3});
        QVERIFY(g.pattern[0][0] == g.pattern[0][1]);
        QVERIFY(g.pattern[0][0] != g.pattern[0][2]);
        QCOMPARE(g.z[0][4][0], g.z[0][4][1]);
    }

    // Rotary, d_head 2 (one frequency, inv_freq 1 for any theta: the angle is the position). q bias (1, 0)
    // and k bias (0, 1), zero weights: q_1 = (cos 1, sin 1), k_0 = (0, 1) unrotated at position 0, k_1 =
    // (-sin 1, cos 1). Scores (scaled by 1/sqrt 2): s_10 = sin 1 / sqrt 2, s_11 = 0; so p_10 = 1 / (1 +
    // e^(-s_10)). A rotation the other way would give -sin 1; no rotation at position 0 is what makes s_00
    // and k_0 plain.
    void rotaryHandWorked() {
        Model m = blank("llama", 2, 1, 1, 2, 1, 2, 2, true);
        m.put(L(0, "self_attn.q_proj.bias"), {1, 0});
        m.put(L(0, "self_attn.k_proj.bias"), {0, 1});
        m.put(L(0, "self_attn.v_proj.bias"), {1, 0});
        const Trace tr = m.run({0, 1});
        const double s10 = std::sin(1.0) / std::sqrt(2.0);
        NEAR(tr.pattern[0][0][1][0], 1.0 / (1.0 + std::exp(-s10)), 1e-15);
        NEAR(tr.pattern[0][0][0][0], 1.0, 0.0);
        QCOMPARE(tr.inv_freq.size(), std::size_t(1));
        QCOMPARE(tr.inv_freq[0], std::vector<double>{1.0});
        // Same keys, query (0, 1): q_1 = (-sin 1, cos 1); s_10 = cos 1 / sqrt 2, s_11 = 1 / sqrt 2.
        m.put(L(0, "self_attn.q_proj.bias"), {0, 1});
        NEAR(m.run({0, 1}).pattern[0][0][1][0],
             1.0 / (1.0 + std::exp((1.0 - std::cos(1.0)) / std::sqrt(2.0))), 1e-15);
    }

    // Inverse frequencies against the formulas written out (theta 10000, d_head 16: base_i = 10000^(-i/8)).
    // llama3 with factor 8, low 1, high 4, original 32: wavelength 2 pi / base_i is 6.28 (< 32/4: kept),
    // 19.87 (between 8 and 32: smoothed with s = (32 / 19.87 - 1) / 3 = 0.2035) and >= 62.8 (> 32: / 8).
    // linear factor 2: all / 2. HF computes these in float32; the reference too (the values are floats).
    void ropeFrequencies() {
        Model m = blank("llama", 64, 4, 2, 16, 1, 2, 2);
        const Trace plain = m.run({0});
        m.config["rope_scaling"] = {{"rope_type", "llama3"},
                                    {"factor", 8.0},
                                    {"low_freq_factor", 1.0},
                                    {"high_freq_factor", 4.0},
                                    {"original_max_position_embeddings", 32}};
        const Trace llama3 = m.run({0});
        m.config["rope_scaling"] = {{"type", "linear"}, {"factor", 2.0}}; // the legacy spelling of rope_type
        const Trace linear = m.run({0});
        QCOMPARE(plain.inv_freq[0].size(), std::size_t(8));
        for (int i = 0; i < 8; ++i) {
            const double base = std::pow(10000.0, -i / 8.0);
            const double wavelen = 2 * std::numbers::pi / base;
            double expected = base / 8;
            if (wavelen < 8) {
                expected = base;
                QCOMPARE(i, 0);
            } else if (wavelen <= 32) {
                QCOMPARE(i, 1);
                const double s = (32 / wavelen - 1) / 3;
                NEAR(s, 0.2035, 1e-4);
                expected = (1 - s) * base / 8 + s * base;
            }
            for (double v : {plain.inv_freq[0][i], llama3.inv_freq[0][i], linear.inv_freq[0][i]})
                QCOMPARE(double(float(v)), v); // float32 values
            NEAR(plain.inv_freq[0][i], base, 2e-7 * base);
            NEAR(llama3.inv_freq[0][i], expected, 1e-6 * expected);
            NEAR(linear.inv_freq[0][i], base / 2, 2e-7 * base);
        }
    }

    // The new rope_parameters spelling (flat; Gemma 3 nested by layer type) gives the same model.
    void ropeParameterSpellings() {
        Model m = randomModel("llama", 4, 2, 4, 2, 3u);
        m.config["rope_theta"] = 500000.0;
        m.config["rope_scaling"] = {{"rope_type", "linear"}, {"factor", 4.0}};
        const Trace classic = m.run({1, 2, 3, 4});
        Model n = m;
        n.config.erase("rope_theta");
        n.config.erase("rope_scaling");
        n.config["rope_parameters"] = {{"rope_type", "linear"}, {"factor", 4.0}, {"rope_theta", 500000.0}};
        QVERIFY(n.run({1, 2, 3, 4}).logits == classic.logits);

        Model g = randomModel("gemma3_text", 4, 2, 4, 3, 5u);
        g.config["sliding_window_pattern"] = 2;
        g.config["sliding_window"] = 2;
        g.config["rope_theta"] = 100000.0;
        g.config["rope_local_base_freq"] = 1000.0;
        g.config["rope_scaling"] = {{"rope_type", "linear"}, {"factor", 8.0}};
        const Trace gc = g.run({1, 2, 3, 4, 5});
        QCOMPARE(gc.window, (std::vector<std::int64_t>{2, 0, 2}));
        NEAR(gc.inv_freq[0][1], std::pow(1000.0, -0.5), 1e-7);         // sliding: local base, no scaling
        NEAR(gc.inv_freq[1][1], std::pow(100000.0, -0.5) / 8.0, 1e-9); // full: rope_theta, linear 8
        Model gn = g;
        for (const char* k : {"rope_theta", "rope_local_base_freq", "rope_scaling"})
            gn.config.erase(k);
        gn.config["rope_parameters"] = {
            {"full_attention", {{"rope_type", "linear"}, {"factor", 8.0}, {"rope_theta", 100000.0}}},
            {"sliding_attention", {{"rope_type", "default"}, {"rope_theta", 1000.0}}}};
        QVERIFY(gn.run({1, 2, 3, 4, 5}).logits == gc.logits);
    }

    // Sliding windows: zero exactly outside i - W < j <= i, positive inside; which layers slide per family.
    void slidingWindows_data() {
        QTest::addColumn<QString>("type");
        QTest::addColumn<QString>("settings"); // JSON merged into the config
        QTest::addColumn<QList<int>>("windows");
        QTest::newRow("mistral: every layer") << "mistral"
                                              << R"({"sliding_window": 3})" << QList<int>{3, 3, 3};
        QTest::newRow("mistral null") << "mistral"
                                      << R"({"sliding_window": null})" << QList<int>{0, 0, 0};
        QTest::newRow("qwen2 from max_window_layers")
            << "qwen2"
            << R"({"use_sliding_window": true, "sliding_window": 2, "max_window_layers": 1})"
            << QList<int>{0, 2, 2};
        QTest::newRow("qwen2 use_sliding_window false")
            << "qwen2"
            << R"({"use_sliding_window": false, "sliding_window": 2, "max_window_layers": 0})"
            << QList<int>{0, 0, 0};
        QTest::newRow("qwen3 layer_types") << "qwen3"
                                           << R"({"use_sliding_window": true, "sliding_window": 3,
                  "layer_types": ["full_attention", "sliding_attention", "full_attention"]})"
                                           << QList<int>{0, 3, 0};
        QTest::newRow("gemma2 alternating (no layer_types)")
            << "gemma2"
            << R"({"sliding_window": 2, "layer_types": null})" << QList<int>{2, 0, 2};
        QTest::newRow("gemma3 pattern 3")
            << "gemma3_text"
            << R"({"sliding_window": 4, "sliding_window_pattern": 3})" << QList<int>{4, 4, 0};
        QTest::newRow("gemma3 layer_types win")
            << "gemma3_text"
            << R"({"sliding_window": 2, "layer_types": ["full_attention", "full_attention", "sliding_attention"]})"
            << QList<int>{0, 0, 2};
        QTest::newRow("llama never") << "llama"
                                     << R"({"sliding_window": 2})" << QList<int>{0, 0, 0};
    }
    void slidingWindows() {
        QFETCH(QString, type);
        QFETCH(QString, settings);
        QFETCH(QList<int>, windows);
        Model m = randomModel(type.toStdString(), 4, 2, 4, 3, 11u);
        merge(m.config, settings);
        const int T = 7;
        const Trace tr = m.run({1, 2, 3, 4, 5, 6, 7});
        for (int l = 0; l < 3; ++l) {
            QCOMPARE(tr.window[std::size_t(l)], std::int64_t(windows[l]));
            const int w = windows[l];
            for (int h = 0; h < 4; ++h)
                for (int i = 0; i < T; ++i) {
                    double sum = 0;
                    for (int j = 0; j < T; ++j) {
                        const double p = tr.pattern[l][h][i][j];
                        const bool allowed = j <= i && (w == 0 || j > i - w);
                        QVERIFY2(
                            allowed ? p > 0.0 : p == 0.0,
                            qPrintable(QString("l%1 h%2 [%3][%4] = %5").arg(l).arg(h).arg(i).arg(j).arg(p)));
                        sum += p;
                    }
                    NEAR(sum, 1.0, 1e-12);
                }
        }
    }

    // Soft-caps. Hand-worked: Gemma 2, d_head 2, query_pre_attn_scalar 2, q bias (4, 0), k bias (0, 1):
    // s_10 = 4 sin 1 / sqrt 2 = 2.38, s_11 = 0, capped at 1: tanh(2.38). On large random weights every
    // pattern row's max / min ratio stays below e^(2 cap) (it does not without the cap), and logits stay
    // inside (-final cap, final cap) and equal cap * tanh(uncapped / cap).
    void softCaps() {
        Model m = blank("gemma2", 2, 1, 1, 2, 1, 2, 2, true);
        m.config["attn_logit_softcapping"] = 1.0;
        m.put(L(0, "self_attn.q_proj.bias"), {4, 0});
        m.put(L(0, "self_attn.k_proj.bias"), {0, 1});
        const double s10 = std::tanh(4 * std::sin(1.0) / std::sqrt(2.0));
        NEAR(m.run({0, 1}).pattern[0][0][1][0], 1.0 / (1.0 + std::exp(-s10)), 1e-15);

        for (const char* type : {"gemma2", "gemma3_text"}) {
            Model r = randomModel(type, 4, 2, 4, 2, 21u, 8.0f);
            r.config["attn_logit_softcapping"] = nullptr;
            r.config["final_logit_softcapping"] = nullptr;
            const std::vector<int> ids = {1, 2, 3, 4, 5, 6};
            const Trace free = r.run(ids);
            r.config["attn_logit_softcapping"] = 0.5;
            r.config["final_logit_softcapping"] = 2.0;
            const Trace capped = r.run(ids);
            auto widest = [](const Trace& tr) {
                double ratio = 1;
                for (const auto& layer : tr.pattern)
                    for (const auto& head : layer)
                        for (std::size_t i = 0; i < head.size(); ++i)
                            for (std::size_t j = 0; j <= i; ++j)
                                for (std::size_t k = 0; k <= i; ++k)
                                    ratio = std::max(ratio, head[i][j] / head[i][k]);
                return ratio;
            };
            // tanh saturates to exactly 1 in double for these scores: the bound is reached, not passed.
            QVERIFY2(widest(capped) <= std::exp(1.0) * (1 + 1e-12),
                     qPrintable(QString::number(widest(capped))));
            QVERIFY(widest(free) > std::exp(1.0));
            // The layers differ, so compare the last layer's logits with the cap applied to the same model
            // with only the attention cap: final cap = 2 tanh(raw / 2).
            r.config["final_logit_softcapping"] = nullptr;
            const Trace raw = r.run(ids);
            double biggest = 0;
            for (std::size_t t = 0; t < ids.size(); ++t)
                for (std::size_t v = 0; v < 11; ++v) {
                    QVERIFY(std::abs(capped.logits[t][v]) <= 2.0); // tanh may round to 1
                    NEAR(capped.logits[t][v], 2.0 * std::tanh(raw.logits[t][v] / 2.0), 1e-12);
                    biggest = std::max(biggest, std::abs(raw.logits[t][v]));
                }
            QVERIFY(biggest > 2.0); // the cap bites
        }
    }

    // q/k norms (Qwen3: weight w; Gemma 3: 1 + w) act on each head before RoPE. q bias (3, 4), k bias (3, 4),
    // eps 3.5: both normalise to (.75, 1), |.|^2 = 1.5625; after rotation s_10 = 1.5625 cos 1, s_11 = 1.5625,
    // times 1/sqrt 2 (Gemma 3: query_pre_attn_scalar 2). A norm weight of 2 (Gemma 3: w = 1) doubles q.
    void qkNorms() {
        for (const char* type : {"qwen3", "gemma3_text", "llama"}) {
            Model m = blank(type, 2, 1, 1, 2, 1, 2, 2, true);
            m.config["rms_norm_eps"] = 3.5;
            m.put(L(0, "self_attn.q_proj.bias"), {3, 4});
            m.put(L(0, "self_attn.k_proj.bias"), {3, 4});
            const double sq = m.qkNorm() ? 1.5625 : 25.0;
            const double gap = sq * (1.0 - std::cos(1.0)) / std::sqrt(2.0);
            NEAR(m.run({0, 1}).pattern[0][0][1][0], 1.0 / (1.0 + std::exp(gap)), 1e-14);
            if (!m.qkNorm()) continue;
            m.put(L(0, "self_attn.q_norm.weight"), m.gemma() ? Floats{1, 1} : Floats{2, 2});
            NEAR(m.run({0, 1}).pattern[0][0][1][0], 1.0 / (1.0 + std::exp(2 * gap)), 1e-14);
        }
    }

    // Gemma 2/3's post-attention norm acts on the attention output; Gemma 1's post_attention_layernorm is the
    // MLP's input norm. Uniform attention over value bias (3, 4) through an identity o_proj: attn_out is
    // (3, 4) for Gemma 1 and (3, 4) / sqrt(12.5 + eps) for Gemma 2/3 (eps 3.5: (.75, 1)).
    void sandwichNorms() {
        for (const char* type : {"gemma", "gemma2", "gemma3_text"}) {
            Model m = blank(type, 2, 1, 1, 2, 1, 2, 2, true);
            m.config["rms_norm_eps"] = 3.5;
            m.put(L(0, "self_attn.v_proj.bias"), {3, 4});
            m.put(L(0, "self_attn.o_proj.weight"), {1, 0, 0, 1});
            const Trace tr = m.run({0, 1});
            const double k = m.sandwich() ? 0.25 : 1.0;
            for (int t = 0; t < 2; ++t) {
                NEAR(tr.attn_out[0][t][0], 3 * k, 1e-15);
                NEAR(tr.attn_out[0][t][1], 4 * k, 1e-15);
                NEAR(tr.resid_mid[0][t][1], tr.resid_pre[0][t][1] + 4 * k, 1e-15);
            }
        }
    }

    // Llama's gated MLP with mlp_bias: zero weights, gate bias (1, -2), up bias (3, 5), down picks unit 0 and
    // 2 x unit 1, down bias (0, .5): mlp_out = (silu(1) 3 + 2 silu(-2) 5, .5).
    void gatedMlp() {
        Model m = blank("llama", 2, 1, 1, 2, 1, 2, 2);
        m.config["mlp_bias"] = true;
        m.add(L(0, "mlp.gate_proj.bias"), {2});
        m.add(L(0, "mlp.up_proj.bias"), {2});
        m.add(L(0, "mlp.down_proj.bias"), {2});
        m.put(L(0, "mlp.gate_proj.bias"), {1, -2});
        m.put(L(0, "mlp.up_proj.bias"), {3, 5});
        m.put(L(0, "mlp.down_proj.weight"), {1, 2, 0, 0});
        m.put(L(0, "mlp.down_proj.bias"), {0, 0.5f});
        const Trace tr = m.run({1});
        auto silu = [](double x) { return x / (1 + std::exp(-x)); };
        NEAR(tr.mlp_out[0][0][0], silu(1) * 3 + 2 * silu(-2) * 5, 1e-15);
        NEAR(tr.mlp_out[0][0][1], 0.5, 0.0);
        m.config["hidden_act"] = "gelu_pytorch_tanh";
        QVERIFY(m.run({1}).mlp_out[0][0][0] != tr.mlp_out[0][0][0]);
    }

    void refusals_data() {
        QTest::addColumn<QString>("type");
        QTest::addColumn<QString>("settings"); // JSON merged into the config ("" for the special rows)
        QTest::addColumn<QString>("message");
        auto row = [](const char* name, const char* type, const char* settings, const char* message) {
            QTest::newRow(name) << type << settings << message;
        };
        row("unknown rope type", "llama", R"({"rope_scaling": {"rope_type": "yarn", "factor": 2.0}})",
            "RoPE type 'yarn' is not supported");
        row("dynamic rope", "qwen2", R"({"rope_scaling": {"type": "dynamic", "factor": 2.0}})",
            "RoPE type 'dynamic'");
        row("partial rotary", "llama", R"({"partial_rotary_factor": 0.5})", "partial_rotary_factor");
        row("partial rotary in rope dict", "llama", R"({"rope_parameters": {"rope_type": "default",
            "partial_rotary_factor": 0.5}})",
            "partial_rotary_factor");
        row("unknown rope key", "llama",
            R"({"rope_scaling": {"rope_type": "linear", "factor": 2.0, "beta": 1}})",
            "RoPE parameter 'beta'");
        row("llama3 without low_freq_factor", "llama",
            R"({"rope_scaling": {"rope_type": "llama3", "factor": 8.0, "high_freq_factor": 4.0}})",
            "needs a number 'low_freq_factor'");
        row("rope_scaling and rope_parameters differ", "llama",
            R"({"rope_scaling": {"rope_type": "linear", "factor": 2.0}, "rope_parameters": {"rope_type": "default"}})",
            "both given and differ");
        row("rope_theta twice", "qwen3",
            R"({"rope_parameters": {"rope_type": "default", "rope_theta": 5.0}})",
            "disagrees with rope_theta");
        row("nested rope_parameters on llama", "llama",
            R"({"rope_parameters": {"full_attention": {"rope_type": "default"}}})",
            "only supported for gemma3_text");
        row("bidirectional", "gemma3_text", R"({"use_bidirectional_attention": true})",
            "use_bidirectional_attention");
        row("softcap on llama", "llama", R"({"attn_logit_softcapping": 50.0})",
            "llama does not read attn_logit_softcapping");
        row("final softcap on qwen2", "qwen2", R"({"final_logit_softcapping": 30.0})", "qwen2 does not read");
        row("mrope", "qwen2", R"({"use_mrope": true})", "'use_mrope' is not supported");
        row("heads not divisible by kv heads", "mistral", R"({"num_key_value_heads": 3})",
            "4 attention heads are not divisible by 3 key/value heads");
        row("odd head_dim", "gemma", R"({"head_dim": 3})", "head_dim 3 must be even");
        row("layer_types length", "qwen3", R"({"layer_types": ["full_attention"]})", "one type per layer");
        row("layer_types unknown", "gemma2", R"({"layer_types": ["full_attention", "chunked_attention"]})",
            "unknown layer type");
        row("layer_types on llama", "llama", R"({"layer_types": ["sliding_attention", "full_attention"]})",
            "llama does not read layer_types");
        row("sliding layer without window", "qwen2",
            R"({"use_sliding_window": false, "layer_types": ["sliding_attention", "full_attention"]})",
            "without a window");
        row("activations disagree", "gemma",
            R"({"hidden_act": "gelu", "hidden_activation": "gelu_pytorch_tanh"})",
            "hidden_act and hidden_activation disagree");
        row("unknown activation", "qwen3", R"({"hidden_act": "swiglu"})",
            "unknown activation function 'swiglu'");
        row("mlp_bias on mistral", "mistral", R"({"mlp_bias": true})", "mistral with mlp_bias");
        row("missing q_norm", "qwen3", "", "missing tensor 'layers.0.self_attn.q_norm.weight'");
        row("o_proj bias on qwen2", "qwen2", "", "unexpected tensor 'layers.0.self_attn.o_proj.bias'");
        row("k_proj shape", "llama", "",
            "'layers.1.self_attn.k_proj.weight' has shape [4, 16], expected [8, 16]");
        row("untied without lm_head", "gemma2", R"({"tie_word_embeddings": false})",
            "missing tensor 'lm_head.weight'");
        row("token id", "mistral", "", "token id 11 outside");
    }
    void refusals() {
        QFETCH(QString, type);
        QFETCH(QString, settings);
        QFETCH(QString, message);
        Model m = randomModel(type.toStdString(), 4, 2, 4, 2, 1u);
        std::vector<int> ids = {0, 1};
        if (!settings.isEmpty()) merge(m.config, settings);
        const QString name = QTest::currentDataTag();
        if (name == "missing q_norm") m.w.erase(L(0, "self_attn.q_norm.weight"));
        if (name == "o_proj bias on qwen2") m.add(L(0, "self_attn.o_proj.bias"), {16});
        if (name == "k_proj shape") m.w[L(1, "self_attn.k_proj.weight")].shape = {4, 16};
        if (name == "k_proj shape") m.w[L(1, "self_attn.k_proj.weight")].values.resize(64);
        if (name == "token id") ids = {11};
        const QString got = failure(m, ids);
        QVERIFY2(got.contains(message), qPrintable(got));
        QVERIFY2(got.startsWith("naive reference: "), qPrintable(got));
    }
};

int runNaiveDecoderTests(int argc, char** argv) {
    TestNaiveDecoders t;
    return QTest::qExec(&t, argc, argv);
}

#include "naive_reference_decoders.moc"
