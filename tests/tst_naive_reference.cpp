// Checks the naive reference transformer (tests/reference) on its own: tiny models whose outputs can be
// worked out by hand, structural properties of attention, and its error handling. Nothing here uses the
// product's code: the reference is what the real forward pass is later compared against.
#include "naive_transformer.h"

#include <QtTest/QtTest>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

using obsprop::naive::Tensor;
using obsprop::naive::Trace;
using obsprop::naive::Weights;
using json = nlohmann::json;

namespace {

#define CHECK_NEAR(actual, expected, tol)                                                                    \
    do {                                                                                                     \
        const double a_ = (actual), e_ = (expected);                                                         \
        QVERIFY2(std::abs(a_ - e_) <= (tol), qPrintable(QStringLiteral("%1 = %2, expected %3")               \
                                                            .arg(QStringLiteral(#actual))                    \
                                                            .arg(a_, 0, 'g', 17)                             \
                                                            .arg(e_, 0, 'g', 17)));                          \
    } while (0)

using Shape = std::vector<std::int64_t>;
using Floats = std::vector<float>;

struct Model {
    std::string type;
    json config;
    Weights w;
};

bool isNeoX(const Model& m) {
    return m.type == "gpt_neox";
}

std::string ln1(const Model& m, int l) {
    return isNeoX(m) ? "layers." + std::to_string(l) + ".input_layernorm"
                     : "h." + std::to_string(l) + ".ln_1";
}
std::string ln2(const Model& m, int l) {
    return isNeoX(m) ? "layers." + std::to_string(l) + ".post_attention_layernorm"
                     : "h." + std::to_string(l) + ".ln_2";
}
std::string lnF(const Model& m) {
    return isNeoX(m) ? "final_layer_norm" : "ln_f";
}
std::string embedName(const Model& m) {
    return isNeoX(m) ? "embed_in.weight" : "wte.weight";
}
std::string unembedName(const Model& m) {
    return isNeoX(m) ? "embed_out.weight" : "lm_head.weight";
}
std::string epsKey(const Model& m) {
    return isNeoX(m) ? "layer_norm_eps" : "layer_norm_epsilon";
}
std::string actKey(const Model& m) {
    return isNeoX(m) ? "hidden_act" : "activation_function";
}
std::string outProj(const Model& m, int l) {
    const std::string n = std::to_string(l);
    return m.type == "gpt2"      ? "h." + n + ".attn.c_proj"
           : m.type == "gpt_neo" ? "h." + n + ".attn.attention.out_proj"
                                 : "layers." + n + ".attention.dense";
}
std::string mlpIn(const Model& m, int l) {
    return isNeoX(m) ? "layers." + std::to_string(l) + ".mlp.dense_h_to_4h"
                     : "h." + std::to_string(l) + ".mlp.c_fc";
}
std::string mlpOut(const Model& m, int l) {
    return isNeoX(m) ? "layers." + std::to_string(l) + ".mlp.dense_4h_to_h"
                     : "h." + std::to_string(l) + ".mlp.c_proj";
}

// A model of the given family and sizes with every parameter zero except LayerNorm weights (one).
Model blank(const std::string& type, int d, int heads, int layers, int vocab, int positions, int dMlp) {
    Model m{type, json::object(), {}};
    auto add = [&](const std::string& name, Shape shape, float value = 0.0f) {
        std::int64_t n = 1;
        for (auto s : shape)
            n *= s;
        m.w[name] = Tensor{shape, Floats(static_cast<std::size_t>(n), value)};
    };
    const int D = d, M = dMlp;
    if (type == "gpt2") {
        m.config = {{"model_type", "gpt2"},     {"n_embd", d},         {"n_head", heads}, {"n_layer", layers},
                    {"n_positions", positions}, {"vocab_size", vocab}, {"n_inner", dMlp}};
    } else if (type == "gpt_neo") {
        m.config = {{"model_type", "gpt_neo"},
                    {"hidden_size", d},
                    {"num_heads", heads},
                    {"num_layers", layers},
                    {"max_position_embeddings", positions},
                    {"vocab_size", vocab},
                    {"intermediate_size", dMlp},
                    {"attention_types", json::array({json::array({json::array({"global"}), layers})})},
                    {"window_size", 256}};
    } else {
        m.config = {{"model_type", "gpt_neox"},
                    {"hidden_size", d},
                    {"num_attention_heads", heads},
                    {"num_hidden_layers", layers},
                    {"max_position_embeddings", positions},
                    {"vocab_size", vocab},
                    {"intermediate_size", dMlp},
                    {"rotary_pct", 0.25},
                    {"rotary_emb_base", 10000},
                    {"use_parallel_residual", true},
                    {"hidden_act", "gelu"},
                    {"tie_word_embeddings", false}};
    }
    add(embedName(m), {vocab, D});
    if (!isNeoX(m)) add("wpe.weight", {positions, D});
    for (int l = 0; l < layers; ++l) {
        add(ln1(m, l) + ".weight", {D}, 1.0f);
        add(ln1(m, l) + ".bias", {D});
        add(ln2(m, l) + ".weight", {D}, 1.0f);
        add(ln2(m, l) + ".bias", {D});
        const std::string n = std::to_string(l);
        if (type == "gpt2") {
            add("h." + n + ".attn.c_attn.weight", {D, 3 * D});
            add("h." + n + ".attn.c_attn.bias", {3 * D});
            add(outProj(m, l) + ".weight", {D, D});
            add(mlpIn(m, l) + ".weight", {D, M});
            add(mlpOut(m, l) + ".weight", {M, D});
        } else if (type == "gpt_neo") {
            for (const char* p : {"q_proj", "k_proj", "v_proj"})
                add("h." + n + ".attn.attention." + p + ".weight", {D, D});
            add(outProj(m, l) + ".weight", {D, D});
            add(mlpIn(m, l) + ".weight", {M, D});
            add(mlpOut(m, l) + ".weight", {D, M});
        } else {
            add("layers." + n + ".attention.query_key_value.weight", {3 * D, D});
            add("layers." + n + ".attention.query_key_value.bias", {3 * D});
            add(outProj(m, l) + ".weight", {D, D});
            add(mlpIn(m, l) + ".weight", {M, D});
            add(mlpOut(m, l) + ".weight", {D, M});
        }
        add(outProj(m, l) + ".bias", {D});
        add(mlpIn(m, l) + ".bias", {M});
        add(mlpOut(m, l) + ".bias", {D});
    }
    add(lnF(m) + ".weight", {D}, 1.0f);
    add(lnF(m) + ".bias", {D});
    if (isNeoX(m)) add(unembedName(m), {vocab, D});
    return m;
}

// Every parameter pseudo-random (a fixed linear congruential sequence), LayerNorm weights near one.
Model randomModel(const std::string& type, int d, int heads, int layers, int vocab, int positions, int dMlp,
                  std::uint32_t seed) {
    Model m = blank(type, d, heads, layers, vocab, positions, dMlp);
    if (isNeoX(m)) m.config["rotary_pct"] = 0.5; // an even number of rotary dims for d_head 4 and 8
    std::uint32_t state = seed;
    for (auto& [name, t] : m.w) {
        const bool lnWeight = t.shape.size() == 1 && name.ends_with(".weight"); // only LayerNorms
        for (float& v : t.values) {
            state = state * 1664525u + 1013904223u;
            const float r = static_cast<float>(state >> 8) / 16777216.0f - 0.5f; // [-0.5, 0.5)
            v = lnWeight ? 1.0f + 0.4f * r : r;
        }
    }
    return m;
}

void put(Model& m, const std::string& name, const Floats& values) {
    auto it = m.w.find(name);
    if (it == m.w.end() || it->second.values.size() != values.size()) {
        throw std::logic_error("test set-up: no tensor " + name + " of that size");
    }
    it->second.values = values;
}

// Sets a linear map given as an nn.Linear-style matrix [out][in]; GPT-2's Conv1D stores it as [in][out].
void putLinear(Model& m, const std::string& name, int out, int in, const Floats& rowsOutIn) {
    if (m.type != "gpt2") {
        put(m, name, rowsOutIn);
        return;
    }
    Floats t(rowsOutIn.size());
    for (int o = 0; o < out; ++o)
        for (int i = 0; i < in; ++i)
            t[static_cast<std::size_t>(i * out + o)] = rowsOutIn[static_cast<std::size_t>(o * in + i)];
    put(m, name, t);
}

// Sets layer l's query, key and value maps of a single-head model (d = d_head), [out][in] each.
void putQkv(Model& m, int l, int d, const Floats& wq, const Floats& wk, const Floats& wv) {
    const std::string n = std::to_string(l);
    if (m.type == "gpt_neo") {
        put(m, "h." + n + ".attn.attention.q_proj.weight", wq);
        put(m, "h." + n + ".attn.attention.k_proj.weight", wk);
        put(m, "h." + n + ".attn.attention.v_proj.weight", wv);
        return;
    }
    Floats fused; // [3d][d]: q rows, then k rows, then v rows (one head: GPT-2's q|k|v = NeoX's [1, 3, dh])
    for (const Floats* part : {&wq, &wk, &wv})
        fused.insert(fused.end(), part->begin(), part->end());
    putLinear(m,
              m.type == "gpt2" ? "h." + n + ".attn.c_attn.weight"
                               : "layers." + n + ".attention.query_key_value.weight",
              3 * d, d, fused);
}

Trace runModel(const Model& m, const std::vector<int>& ids) {
    return obsprop::naive::run(m.config, m.w, ids);
}

} // namespace

class TestNaiveReference : public QObject {
    Q_OBJECT

  private Q_SLOTS:
    void activations_data() {
        QTest::addColumn<QString>("name");
        QTest::addColumn<double>("x");
        QTest::addColumn<double>("expected");
        QTest::newRow("gelu_new(1)") << "gelu_new" << 1.0 << 0.8411919906082768;
        QTest::newRow("gelu_new(-1)") << "gelu_new" << -1.0 << -0.15880800939172324;
        QTest::newRow("gelu_pytorch_tanh(0.5)") << "gelu_pytorch_tanh" << 0.5 << 0.34571400982514394;
        QTest::newRow("gelu(1)") << "gelu" << 1.0 << 0.8413447460685429;
        QTest::newRow("gelu(-1)") << "gelu" << -1.0 << -0.15865525393145707;
        QTest::newRow("gelu(0)") << "gelu" << 0.0 << 0.0;
        QTest::newRow("gelu_python(2)") << "gelu_python" << 2.0 << 1.9544997361036416;
        // HF's FastGELU uses the truncated constant 0.7978845608: 8e-13 away from gelu_new at 1.
        QTest::newRow("gelu_fast(1)") << "gelu_fast" << 1.0 << 0.841191990607477;
        QTest::newRow("quick_gelu(1)") << "quick_gelu" << 1.0 << 0.8457957659328212;
        QTest::newRow("relu(-1)") << "relu" << -1.0 << 0.0;
        QTest::newRow("relu(2)") << "relu" << 2.0 << 2.0;
    }
    void activations() {
        QFETCH(QString, name);
        QFETCH(double, x);
        QFETCH(double, expected);
        CHECK_NEAR(obsprop::naive::activation(name.toStdString(), x), expected, 1e-14);
    }

    // One layer, d_model = 2, one head, vocab 3, 2 tokens; every number below follows by hand.
    // LayerNorm of a 2-vector (a, b) with gamma 1, beta 0 is (δ, -δ) / sqrt(δ² + eps), δ = (a - b) / 2;
    // eps = 3 makes the first LayerNorm exact: (1, -1) -> (0.5, -0.5).
    //   wte = [(1,-1), (-1,1), (0,3)]; wpe[1] = (0.25, 0.25) (NeoX: no positions, sh = 0 below)
    //   x0 = (1, -1), x1 = (-1 + sh, 1 + sh), sh = 0.25; both LN to (±0.5, ∓0.5)
    //   ln_1 gamma = (2, 0), beta = (0, 1)  =>  u0 = (1, 1), u1 = (-1, 1)
    //   Wq = [[0,0],[2,0]] => q0 = (0, 2), q1 = (0, -2)
    //   Wk = [[0,0],[1,0]] => k0 = (0, 1), k1 = (0, -1)
    //   Wv = [[1,2],[0,0]] => v0 = (3, 0), v1 = (1, 0)
    //   (all maps [out][in], asymmetric so that a transposed reading changes the result)
    //   scores: s00 = 2; s10 = -2, s11 = 2, divided by D (GPT-2/NeoX sqrt(2), GPT-Neo 1)
    //   => pattern row 1: p10 = 1 / (1 + e^(4/D)) (0.0558072192 for D = sqrt 2), p11 = 1 - p10
    //   z0 = (3, 0), z1 = p10 (3,0) + p11 (1,0) = (1 + 2 p10, 0)
    //   W_O = [[1,0],[3,1]], b_O = (0.5, -0.5) => a = (z_0 + 0.5, 3 z_0 + z_1 - 0.5); mid = x + a
    //   (GPT-2 t=0: a0 = (3.5, 8.5), mid0 = (4.5, 7.5))
    //   MLP (relu, 3 units): ln_2 -> (ν, -ν); W_in = [[1,0],[0,1],[0,0]], b_in = (0,0,1)
    //   -> h = relu(ν, -ν, 1); W_out = [[1,0,0],[0,2,1]], b_out = (0, 0.25) -> (h0, 2 h1 + h2 + 0.25)
    //   (GPT-2 t=0: δ = -1.5, ν = -1.5 / sqrt(5.25) = -0.65465367, MLP out = (0, 2.55930734),
    //   final0 = (4.5, 10.05930734), ρ = -0.84871560, logits0 = (2ρ, -2ρ, -3ρ) = (-1.6974312, ...))
    //   ln_f (gamma 1, beta 0) -> (ρ, -ρ); logits = W_U (ρ, -ρ), W_U = wte (NeoX: embed_out, same values)
    void handComputed_data() {
        QTest::addColumn<QString>("type");
        QTest::addColumn<bool>("scaled");   // gpt2 scale_attn_weights
        QTest::addColumn<bool>("parallel"); // gpt_neox use_parallel_residual
        QTest::addColumn<double>("divisor");
        QTest::newRow("gpt2") << "gpt2" << true << false << std::sqrt(2.0);
        QTest::newRow("gpt2 scale_attn_weights=false") << "gpt2" << false << false << 1.0;
        QTest::newRow("gpt_neo (no 1/sqrt(d_head))") << "gpt_neo" << true << false << 1.0;
        QTest::newRow("gpt_neox sequential") << "gpt_neox" << true << false << std::sqrt(2.0);
        QTest::newRow("gpt_neox parallel") << "gpt_neox" << true << true << std::sqrt(2.0);
    }
    void handComputed() {
        QFETCH(QString, type);
        QFETCH(bool, scaled);
        QFETCH(bool, parallel);
        QFETCH(double, divisor);
        Model m = blank(type.toStdString(), 2, 1, 1, 3, 4, 3);
        m.config[epsKey(m)] = 3.0;
        m.config[actKey(m)] = "relu";
        if (m.type == "gpt2") m.config["scale_attn_weights"] = scaled;
        if (isNeoX(m)) m.config["use_parallel_residual"] = parallel;
        put(m, embedName(m), {1, -1, -1, 1, 0, 3});
        if (isNeoX(m))
            put(m, unembedName(m), {1, -1, -1, 1, 0, 3});
        else
            put(m, "wpe.weight", {0, 0, 0.25f, 0.25f, 0, 0, 0, 0});
        put(m, ln1(m, 0) + ".weight", {2, 0});
        put(m, ln1(m, 0) + ".bias", {0, 1});
        putQkv(m, 0, 2, {0, 0, 2, 0}, {0, 0, 1, 0}, {1, 2, 0, 0});
        putLinear(m, outProj(m, 0) + ".weight", 2, 2, {1, 0, 3, 1});
        put(m, outProj(m, 0) + ".bias", {0.5f, -0.5f});
        putLinear(m, mlpIn(m, 0) + ".weight", 3, 2, {1, 0, 0, 1, 0, 0});
        put(m, mlpIn(m, 0) + ".bias", {0, 0, 1});
        putLinear(m, mlpOut(m, 0) + ".weight", 2, 3, {1, 0, 0, 0, 2, 1});
        put(m, mlpOut(m, 0) + ".bias", {0, 0.25f});
        const Trace tr = runModel(m, {0, 1});

        const double sh = isNeoX(m) ? 0.0 : 0.25;
        const double p10 = 1.0 / (1.0 + std::exp(4.0 / divisor));
        const double x[2][2] = {{1, -1}, {-1 + sh, 1 + sh}};
        const double z[2] = {3.0, 1.0 + 2.0 * p10};
        const double wu[3][2] = {{1, -1}, {-1, 1}, {0, 3}};
        auto ln2d = [](double a, double b) {
            const double dl = (a - b) / 2;
            return dl / std::sqrt(dl * dl + 3.0);
        };
        const double tol = 1e-12;
        QCOMPARE(tr.pattern.size(), std::size_t(1));
        CHECK_NEAR(tr.pattern[0][0][0][0], 1.0, tol);
        CHECK_NEAR(tr.pattern[0][0][0][1], 0.0, 0.0);
        CHECK_NEAR(tr.pattern[0][0][1][0], p10, tol);
        CHECK_NEAR(tr.pattern[0][0][1][1], 1.0 - p10, tol);
        for (int t = 0; t < 2; ++t) {
            CHECK_NEAR(tr.resid_pre[0][t][0], x[t][0], 0.0);
            CHECK_NEAR(tr.resid_pre[0][t][1], x[t][1], 0.0);
            CHECK_NEAR(tr.z[0][t][0][0], z[t], tol);
            CHECK_NEAR(tr.z[0][t][0][1], 0.0, tol);
            const double mid[2] = {x[t][0] + z[t] + 0.5, x[t][1] + 3.0 * z[t] - 0.5};
            const double nu = parallel ? ln2d(x[t][0], x[t][1]) : ln2d(mid[0], mid[1]);
            const double h[3] = {std::max(nu, 0.0), std::max(-nu, 0.0), 1.0};
            const double fin[2] = {mid[0] + h[0], mid[1] + 2 * h[1] + h[2] + 0.25};
            CHECK_NEAR(tr.resid_final[t][0], fin[0], tol);
            CHECK_NEAR(tr.resid_final[t][1], fin[1], tol);
            const double rho = ln2d(fin[0], fin[1]);
            QCOMPARE(tr.logits[t].size(), std::size_t(3));
            for (int v = 0; v < 3; ++v)
                CHECK_NEAR(tr.logits[t][v], wu[v][0] * rho - wu[v][1] * rho, tol);
        }
        if (m.type == "gpt2" && scaled) { // the numbers written out above
            CHECK_NEAR(tr.pattern[0][0][1][0], 0.05580721920716974, 1e-15);
            CHECK_NEAR(tr.resid_final[0][1], 10.059307341415956, 1e-13);
            CHECK_NEAR(tr.logits[0][0], -1.6974312032006682, 1e-13);
            CHECK_NEAR(tr.logits[1][2], 2.5797190346013323, 1e-13);
        }
    }

    // All block weights zero: the residual stream stays the embedding, attention is uniform over the causal
    // prefix, z = 0, and logits = W_U · ln_f(embedding). d = 4, eps = 0.5, ln_f gamma = (1,2,1,1), beta =
    // (0,0,1,0):
    //   (1,2,3,6): mean 3, centred (-2,-1,0,3), var 3.5, /sqrt(4) -> (-1,-.5,0,1.5) -> ln_f (-1,-1,1,1.5)
    //   (0,1,1,2): mean 1, centred (-1,0,0,1),  var 0.5, /sqrt(1) -> (-1,0,0,1)     -> ln_f (-1,0,1,1)
    //   (5,5,5,5): centred 0                                       -> ln_f = beta = (0,0,1,0)
    // Positions add (p,p,p,p)/2, which LayerNorm removes. Tied W_U = wte gives rows
    //   token 0: (9, 3, 2.5), token 1: (8, 3, 5), token 2: (3, 1, 5);
    // NeoX's untied embed_out = [(1,0,0,0), (0,1,0,0), (0,0,0,2)] gives (-1,-1,3), (-1,0,2), (0,0,0).
    void zeroBlocks_data() {
        QTest::addColumn<QString>("type");
        QTest::newRow("gpt2") << "gpt2";
        QTest::newRow("gpt_neo") << "gpt_neo";
        QTest::newRow("gpt_neox") << "gpt_neox";
    }
    void zeroBlocks() {
        QFETCH(QString, type);
        Model m = blank(type.toStdString(), 4, 2, 2, 3, 4, 8);
        m.config[epsKey(m)] = 0.5;
        const Floats embed = {1, 2, 3, 6, 0, 1, 1, 2, 5, 5, 5, 5};
        put(m, embedName(m), embed);
        if (!isNeoX(m))
            put(m, "wpe.weight", {0, 0, 0, 0, .5f, .5f, .5f, .5f, 1, 1, 1, 1, 1.5f, 1.5f, 1.5f, 1.5f});
        put(m, lnF(m) + ".weight", {1, 2, 1, 1});
        put(m, lnF(m) + ".bias", {0, 0, 1, 0});
        if (isNeoX(m)) put(m, unembedName(m), {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2});
        const std::vector<int> ids = {0, 1, 2};
        const Trace tr = runModel(m, ids);

        const double tied[3][3] = {{9, 3, 2.5}, {8, 3, 5}, {3, 1, 5}};
        const double untied[3][3] = {{-1, -1, 3}, {-1, 0, 2}, {0, 0, 0}};
        QCOMPARE(tr.resid_pre.size(), std::size_t(2));
        for (int t = 0; t < 3; ++t) {
            for (int i = 0; i < 4; ++i) {
                const double expected =
                    embed[static_cast<std::size_t>(ids[t] * 4 + i)] + (isNeoX(m) ? 0.0 : 0.5 * t);
                CHECK_NEAR(tr.resid_pre[0][t][i], expected, 0.0);
                CHECK_NEAR(tr.resid_pre[1][t][i], expected, 0.0);
                CHECK_NEAR(tr.resid_final[t][i], expected, 0.0);
            }
            for (int v = 0; v < 3; ++v)
                CHECK_NEAR(tr.logits[t][v], isNeoX(m) ? untied[t][v] : tied[t][v], 1e-12);
        }
        for (int l = 0; l < 2; ++l)
            for (int h = 0; h < 2; ++h)
                for (int i = 0; i < 3; ++i) {
                    for (int j = 0; j < 3; ++j)
                        CHECK_NEAR(tr.pattern[l][h][i][j], j <= i ? 1.0 / (i + 1) : 0.0, 1e-15);
                    for (int e = 0; e < 2; ++e)
                        CHECK_NEAR(tr.z[l][i][h][e], 0.0, 0.0);
                }
    }

    // Random weights: every pattern row is a probability distribution over the allowed keys only.
    void patternProperties_data() {
        QTest::addColumn<QString>("type");
        QTest::addColumn<int>("window"); // GPT-Neo local window of the odd layers (0: all global)
        QTest::newRow("gpt2") << "gpt2" << 0;
        QTest::newRow("gpt_neo global/local window 2") << "gpt_neo" << 2;
        QTest::newRow("gpt_neo global/local window 4") << "gpt_neo" << 4;
        QTest::newRow("gpt_neox") << "gpt_neox" << 0;
    }
    void patternProperties() {
        QFETCH(QString, type);
        QFETCH(int, window);
        const int T = 6, L = 2, H = 2;
        Model m = randomModel(type.toStdString(), 16, H, L, 11, 8, 24, 12345u);
        if (window > 0) {
            m.config["attention_types"] = json::parse(R"([[["global", "local"], 1]])");
            m.config["window_size"] = window;
        }
        const Trace tr = runModel(m, {3, 1, 4, 1, 5, 9});
        QCOMPARE(tr.pattern.size(), std::size_t(L));
        QCOMPARE(tr.z.size(), std::size_t(L));
        QCOMPARE(tr.z[0].size(), std::size_t(T));
        QCOMPARE(tr.z[0][0].size(), std::size_t(H));
        QCOMPARE(tr.z[0][0][0].size(), std::size_t(8));
        for (int l = 0; l < L; ++l) {
            const int w = (l % 2 == 1) ? window : 0;
            for (int h = 0; h < H; ++h)
                for (int i = 0; i < T; ++i) {
                    double sum = 0.0;
                    for (int j = 0; j < T; ++j) {
                        const double p = tr.pattern[l][h][i][j];
                        const bool allowed = j <= i && (w == 0 || j > i - w);
                        QVERIFY2(allowed ? p > 0.0 : p == 0.0,
                                 qPrintable(QStringLiteral("layer %1 head %2 [%3][%4] = %5")
                                                .arg(l)
                                                .arg(h)
                                                .arg(i)
                                                .arg(j)
                                                .arg(p)));
                        sum += p;
                    }
                    CHECK_NEAR(sum, 1.0, 1e-12);
                }
        }
        for (const auto& row : tr.logits)
            for (double v : row)
                QVERIFY(std::isfinite(v));
    }

    // GPT-Neo local attention with zero q/k: query i attends uniformly to keys i-w < j <= i.
    void localWindow_data() {
        QTest::addColumn<int>("window");
        QTest::newRow("window 1 (self only)") << 1;
        QTest::newRow("window 2") << 2;
        QTest::newRow("window 3") << 3;
    }
    void localWindow() {
        QFETCH(int, window);
        Model m = blank("gpt_neo", 4, 2, 2, 5, 8, 8);
        m.config["attention_types"] = json::parse(R"([[["global", "local"], 1]])");
        m.config["window_size"] = window;
        put(m, "wte.weight", {1, 2, 3, 4, 0, 1, 0, 1, 2, 2, 0, 0, 1, 1, 1, 3, 4, 0, 0, 0});
        const int T = 6;
        const Trace tr = runModel(m, {0, 1, 2, 3, 4, 0});
        for (int h = 0; h < 2; ++h)
            for (int i = 0; i < T; ++i)
                for (int j = 0; j < T; ++j) {
                    CHECK_NEAR(tr.pattern[0][h][i][j], j <= i ? 1.0 / (i + 1) : 0.0, 1e-15); // global layer
                    const int first = std::max(0, i - window + 1);
                    CHECK_NEAR(tr.pattern[1][h][i][j], (j >= first && j <= i) ? 1.0 / (i - first + 1) : 0.0,
                               1e-15);
                }
    }

    // Layer 1 of a 2-layer model (layer 0 all zero, so layer 1 sees the embedding) with the q/k of
    // handComputed: the raw score gap s11 - s10 = 4, so pattern[1][0][1][0] = 1 / (1 + e^(4 / D)).
    void attentionScaling_data() {
        QTest::addColumn<QString>("type");
        QTest::addColumn<QString>("extra"); // JSON merged into the config
        QTest::addColumn<double>("divisor");
        const double r2 = std::sqrt(2.0);
        QTest::newRow("gpt2 default: sqrt(d_head)") << "gpt2"
                                                    << "{}" << r2;
        QTest::newRow("gpt2 unscaled") << "gpt2"
                                       << R"({"scale_attn_weights": false})" << 1.0;
        QTest::newRow("gpt2 inverse layer idx") << "gpt2"
                                                << R"({"scale_attn_by_inverse_layer_idx": true})" << 2 * r2;
        QTest::newRow("gpt2 inverse layer idx only")
            << "gpt2"
            << R"({"scale_attn_weights": false, "scale_attn_by_inverse_layer_idx": true})" << 2.0;
        QTest::newRow("gpt_neo: none") << "gpt_neo"
                                       << "{}" << 1.0;
        QTest::newRow("gpt_neox: sqrt(d_head)") << "gpt_neox"
                                                << "{}" << r2;
    }
    void attentionScaling() {
        QFETCH(QString, type);
        QFETCH(QString, extra);
        QFETCH(double, divisor);
        Model m = blank(type.toStdString(), 2, 1, 2, 3, 4, 3);
        m.config.update(json::parse(extra.toStdString()));
        m.config[epsKey(m)] = 3.0;
        put(m, embedName(m), {1, -1, -1, 1, 0, 3});
        put(m, ln1(m, 1) + ".weight", {2, 0});
        put(m, ln1(m, 1) + ".bias", {0, 1});
        putQkv(m, 1, 2, {0, 0, 2, 0}, {0, 0, 1, 0}, {1, 2, 0, 0});
        const Trace tr = runModel(m, {0, 1});
        CHECK_NEAR(tr.pattern[0][0][1][0], 0.5, 1e-15);
        CHECK_NEAR(tr.pattern[1][0][1][0], 1.0 / (1.0 + std::exp(4.0 / divisor)), 1e-14);
    }

    // NeoX rotary, one head of d_head 4, q and k constant (biases only) so that only rotation moves scores.
    // Position 1 query q, position 0 key k (unrotated), scale 1/2:
    //   rotary_ndims 2 (pct 0.5): pair (0,1), angle 1:  R e0 = (cos 1, sin 1, 0, 0), R e1 = (-sin 1, cos 1,
    //   0, 0) rotary_ndims 4 (pct 1):   pairs (0,2) angle 1 and (1,3) angle base^(-1/2) (0.1 for base 100)
    // s10 = (R q)·k / 2, s11 = q·k / 2 (same rotation on both), pattern[1][0] = 1 / (1 + e^(s11 - s10)).
    void rotary_data() {
        QTest::addColumn<double>("pct");
        QTest::addColumn<double>("base");
        QTest::addColumn<int>("qDim");
        QTest::addColumn<int>("kDim");
        QTest::addColumn<double>("s10");
        QTest::addColumn<double>("s11");
        const double s1 = std::sin(1.0);
        QTest::newRow("pct 0.5: e0 -> e1 gives +sin 1") << 0.5 << 10000.0 << 0 << 1 << s1 / 2 << 0.0;
        QTest::newRow("pct 0.5: e1 -> e0 gives -sin 1") << 0.5 << 10000.0 << 1 << 0 << -s1 / 2 << 0.0;
        QTest::newRow("pct 0.5: dim 2 not rotated") << 0.5 << 10000.0 << 2 << 2 << 0.5 << 0.5;
        QTest::newRow("pct 1: rotate-half pairs (0,2)") << 1.0 << 10000.0 << 0 << 2 << s1 / 2 << 0.0;
        QTest::newRow("pct 1, base 100: pair (1,3) at 0.1")
            << 1.0 << 100.0 << 1 << 3 << std::sin(0.1) / 2 << 0.0;
        QTest::newRow("pct 1, base 100: e1 -> e1") << 1.0 << 100.0 << 1 << 1 << std::cos(0.1) / 2 << 0.5;
    }
    void rotary() {
        QFETCH(double, pct);
        QFETCH(double, base);
        QFETCH(int, qDim);
        QFETCH(int, kDim);
        QFETCH(double, s10);
        QFETCH(double, s11);
        Model m = blank("gpt_neox", 4, 1, 1, 3, 4, 4);
        m.config["rotary_pct"] = pct;
        m.config["rotary_emb_base"] = base;
        Floats bias(12, 0.0f); // [1 head][q, k, v][4]
        bias[static_cast<std::size_t>(qDim)] = 1.0f;
        bias[static_cast<std::size_t>(4 + kDim)] = 1.0f;
        put(m, "layers.0.attention.query_key_value.bias", bias);
        const Trace tr = runModel(m, {0, 1});
        CHECK_NEAR(tr.pattern[0][0][1][0], 1.0 / (1.0 + std::exp(s11 - s10)), 1e-14);
    }

    // The fused query_key_value output is [n_heads, 3, d_head]. Two heads of d_head 2, weight zero, bias
    // b[i] = i: head h's value is b[6h + 4 .. 6h + 5], so z = (4, 5) and (10, 11) at every position. Reading
    // it as [3, n_heads, d_head] (q | k | v) would give head 0 the value (8, 9) instead.
    void neoxHeadLayout() {
        Model m = blank("gpt_neox", 4, 2, 1, 3, 4, 4);
        Floats bias(12);
        for (int i = 0; i < 12; ++i)
            bias[static_cast<std::size_t>(i)] = static_cast<float>(i);
        put(m, "layers.0.attention.query_key_value.bias", bias);
        put(m, "layers.0.attention.dense.weight", {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1});
        put(m, "embed_in.weight", {1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 3, 1});
        const std::vector<int> ids = {2, 0, 1};
        const Trace tr = runModel(m, ids);
        const double attn[4] = {4, 5, 10, 11};
        for (int t = 0; t < 3; ++t) {
            CHECK_NEAR(tr.z[0][t][0][0], 4.0, 1e-12);
            CHECK_NEAR(tr.z[0][t][0][1], 5.0, 1e-12);
            CHECK_NEAR(tr.z[0][t][1][0], 10.0, 1e-12);
            CHECK_NEAR(tr.z[0][t][1][1], 11.0, 1e-12);
            for (int i = 0; i < 4; ++i)
                CHECK_NEAR(tr.resid_final[t][i], tr.resid_pre[0][t][i] + attn[i], 1e-12);
        }
    }

    // NeoX, d = 2, one token x = (1, -1), eps 3, default hidden_act (exact gelu). Attention adds
    // a = (1, -1) (value bias through an identity dense). The MLP reads ln_2(input)[0] and writes it,
    // through gelu, to dim 0. Parallel: ln_2(x) = (1,-1)/2 -> 0.5; sequential: ln_2(x + a) = (2,-2)/sqrt 7.
    void parallelVsSequential_data() {
        QTest::addColumn<QString>("setting"); // "true", "false" or "default"
        QTest::addColumn<double>("mlpInput");
        QTest::newRow("use_parallel_residual true") << "true" << 0.5;
        QTest::newRow("use_parallel_residual absent (default true)") << "default" << 0.5;
        QTest::newRow("use_parallel_residual false") << "false" << 2.0 / std::sqrt(7.0);
    }
    void parallelVsSequential() {
        QFETCH(QString, setting);
        QFETCH(double, mlpInput);
        Model m = blank("gpt_neox", 2, 1, 1, 3, 4, 1);
        if (setting == "default")
            m.config.erase("use_parallel_residual");
        else
            m.config["use_parallel_residual"] = setting == "true";
        m.config.erase("hidden_act");
        m.config["layer_norm_eps"] = 3.0;
        put(m, "embed_in.weight", {1, -1, 0, 0, 0, 0});
        put(m, "layers.0.attention.query_key_value.bias", {0, 0, 0, 0, 1, -1});
        put(m, "layers.0.attention.dense.weight", {1, 0, 0, 1});
        put(m, "layers.0.mlp.dense_h_to_4h.weight", {1, 0});
        put(m, "layers.0.mlp.dense_4h_to_h.weight", {1, 0});
        const Trace tr = runModel(m, {0});
        const double gelu = 0.5 * mlpInput * (1.0 + std::erf(mlpInput / std::sqrt(2.0)));
        CHECK_NEAR(tr.resid_final[0][0], 2.0 + gelu, 1e-14);
        CHECK_NEAR(tr.resid_final[0][1], -2.0, 1e-14);
        if (setting != "false") CHECK_NEAR(tr.resid_final[0][0], 2.0 + 0.34573123063700656, 1e-14);
    }

    // With n_inner / intermediate_size null (GPT-2 / GPT-Neo: 4 * d) and no activation named, an MLP with
    // zero input weights and bias 1 outputs act(1) on dim 0: gelu_new for gpt2 / gpt_neo, exact gelu for
    // NeoX.
    void defaultActivationAndWidth_data() {
        QTest::addColumn<QString>("type");
        QTest::addColumn<double>("act1");
        QTest::newRow("gpt2: gelu_new, n_inner 4d") << "gpt2" << 0.8411919906082768;
        QTest::newRow("gpt_neo: gelu_new, intermediate 4d") << "gpt_neo" << 0.8411919906082768;
        QTest::newRow("gpt_neox: gelu") << "gpt_neox" << 0.8413447460685429;
    }
    void defaultActivationAndWidth() {
        QFETCH(QString, type);
        QFETCH(double, act1);
        Model m = blank(type.toStdString(), 2, 1, 1, 3, 4, 8);
        m.config.erase(actKey(m));
        if (!isNeoX(m)) m.config[m.type == "gpt2" ? "n_inner" : "intermediate_size"] = nullptr;
        put(m, mlpIn(m, 0) + ".bias", Floats(8, 1.0f));
        Floats out(16, 0.0f); // 8 hidden units, each contributing 1/8 to output dim 0
        for (int k = 0; k < 8; ++k)
            out[static_cast<std::size_t>(m.type == "gpt2" ? 2 * k : k)] = 0.125f;
        put(m, mlpOut(m, 0) + ".weight", out);
        const Trace tr = runModel(m, {1});
        CHECK_NEAR(tr.resid_final[0][0], act1, 1e-15);
        CHECK_NEAR(tr.resid_final[0][1], 0.0, 0.0);
    }

    // The same weights with the base-model prefix and HF's non-parameter buffers give identical results.
    void prefixesAndBuffers_data() {
        QTest::addColumn<QString>("type");
        QTest::newRow("gpt2") << "gpt2";
        QTest::newRow("gpt_neo") << "gpt_neo";
        QTest::newRow("gpt_neox") << "gpt_neox";
    }
    void prefixesAndBuffers() {
        QFETCH(QString, type);
        const Model m = randomModel(type.toStdString(), 8, 2, 2, 7, 6, 12, 777u);
        const std::string prefix = isNeoX(m) ? "gpt_neox." : "transformer.";
        Weights prefixed;
        for (const auto& [name, t] : m.w)
            prefixed[name == unembedName(m) ? name : prefix + name] = t;
        const Tensor mask{{1, 1, 6, 6}, Floats(36, 1.0f)}, scalar{{}, Floats{-1e4f}};
        for (int l = 0; l < 2; ++l) {
            const std::string n = std::to_string(l);
            if (m.type == "gpt2") {
                prefixed[prefix + "h." + n + ".attn.bias"] = mask;
                prefixed[prefix + "h." + n + ".attn.masked_bias"] = scalar;
            } else if (m.type == "gpt_neo") {
                prefixed[prefix + "h." + n + ".attn.attention.bias"] = mask;
                prefixed[prefix + "h." + n + ".attn.attention.masked_bias"] = scalar;
            } else {
                prefixed[prefix + "layers." + n + ".attention.bias"] = mask;
                prefixed[prefix + "layers." + n + ".attention.masked_bias"] = scalar;
                prefixed[prefix + "layers." + n + ".attention.rotary_emb.inv_freq"] =
                    Tensor{{1}, Floats{1.0f}};
            }
        }
        const std::vector<int> ids = {1, 6, 2, 0};
        const Trace a = runModel(m, ids);
        const Trace b = obsprop::naive::run(m.config, prefixed, ids);
        QVERIFY(a.logits == b.logits);
        QVERIFY(a.resid_final == b.resid_final);
    }

    // Tied GPT-2: a stored lm_head equal to wte changes nothing; untied, lm_head = 2 wte doubles the logits
    // exactly; NeoX with tie_word_embeddings true uses embed_in and needs no embed_out.
    void unembedding() {
        Model m = randomModel("gpt2", 8, 2, 1, 7, 6, 12, 99u);
        const std::vector<int> ids = {4, 2, 6};
        const Trace tied = runModel(m, ids);
        Model copy = m;
        copy.w["lm_head.weight"] = m.w["wte.weight"];
        QVERIFY(runModel(copy, ids).logits == tied.logits);
        Tensor doubled = m.w["wte.weight"];
        for (float& v : doubled.values)
            v *= 2.0f;
        copy.w["lm_head.weight"] = doubled;
        copy.config["tie_word_embeddings"] = false;
        const Trace untied = runModel(copy, ids);
        for (std::size_t t = 0; t < ids.size(); ++t)
            for (std::size_t v = 0; v < 7; ++v)
                QCOMPARE(untied.logits[t][v], 2.0 * tied.logits[t][v]);

        Model neox = randomModel("gpt_neox", 8, 2, 1, 7, 6, 12, 5u);
        neox.w["embed_out.weight"] = neox.w["embed_in.weight"];
        const Trace separate = runModel(neox, ids);
        neox.w.erase("embed_out.weight");
        neox.config["tie_word_embeddings"] = true;
        QVERIFY(runModel(neox, ids).logits == separate.logits);
    }

    void errors_data() {
        QTest::addColumn<QString>("what");
        QTest::addColumn<QString>("message"); // a fragment of the expected error text
        const char* rows[][2] = {
            {"unknown model_type", "unknown model_type 'falcon'"},
            {"missing model_type", "no model_type"},
            {"config not an object", "not a JSON object"},
            {"unknown activation", "unknown activation function 'gelu_magic'"},
            {"unknown gpt_neo attention type", "unknown gpt_neo attention type 'sparse'"},
            {"gpt_neo attention layers count", "1 attention types for 2 layers"},
            {"gpt_neo window 0", "window_size must be at least 1"},
            {"neox rope scaling", "RoPE scaling"},
            {"neox odd rotary dims", "rotary dimension 1"},
            {"heads do not divide d", "not divisible"},
            {"missing tensor", "missing tensor 'h.1.mlp.c_fc.bias'"},
            {"wrong shape", "'h.0.attn.c_proj.weight' has shape [4, 16], expected [8, 8]"},
            {"values do not match shape", "but 7 values"},
            {"unexpected tensor", "unexpected tensor 'h.0.attn.c_attn.extra'"},
            {"duplicate prefixed name", "both with and without"},
            {"token id too large", "token id 5 outside"},
            {"negative token id", "token id -1 outside"},
            {"empty prompt", "empty prompt"},
            {"prompt longer than positions", "exceeds 4 positions"},
            {"tied lm_head differs", "'lm_head.weight' differs"},
            {"untied lm_head missing", "missing tensor 'lm_head.weight'"},
            {"add_cross_attention", "add_cross_attention"},
        };
        for (const auto& row : rows)
            QTest::newRow(row[0]) << row[0] << row[1];
    }
    void errors() {
        QFETCH(QString, what);
        Model m = blank(what.contains("neo ") || what.contains("gpt_neo") ? "gpt_neo"
                        : what.contains("neox")                           ? "gpt_neox"
                                                                          : "gpt2",
                        8, what.contains("neox") ? 1 : 2, 2, 5, 4, 16);
        std::vector<int> ids = {0, 1};
        json config = m.config;
        if (what == "unknown model_type")
            config["model_type"] = "falcon";
        else if (what == "missing model_type")
            config.erase("model_type");
        else if (what == "config not an object")
            config = json::array();
        else if (what == "unknown activation")
            config["activation_function"] = "gelu_magic";
        else if (what == "unknown gpt_neo attention type")
            config["attention_types"] = json::parse(R"([[["sparse"], 2]])");
        else if (what == "gpt_neo attention layers count") {
            config.erase("attention_types");
            config["attention_layers"] = json::array({"global"});
        } else if (what == "gpt_neo window 0") {
            config["attention_types"] = json::parse(R"([[["local"], 2]])");
            config["window_size"] = 0;
        } else if (what == "neox rope scaling")
            config["rope_scaling"] = {{"type", "linear"}, {"factor", 2.0}};
        else if (what == "neox odd rotary dims")
            config["rotary_pct"] = 0.125; // d_head 8 -> 1 rotary dim
        else if (what == "heads do not divide d")
            config["n_head"] = 3;
        else if (what == "missing tensor")
            m.w.erase("h.1.mlp.c_fc.bias");
        else if (what == "wrong shape")
            m.w["h.0.attn.c_proj.weight"].shape = {4, 16};
        else if (what == "values do not match shape")
            m.w["ln_f.bias"].values.pop_back();
        else if (what == "unexpected tensor")
            m.w["h.0.attn.c_attn.extra"] = Tensor{{1}, {0.0f}};
        else if (what == "duplicate prefixed name")
            m.w["transformer.ln_f.bias"] = m.w["ln_f.bias"];
        else if (what == "token id too large")
            ids = {0, 5};
        else if (what == "negative token id")
            ids = {-1};
        else if (what == "empty prompt")
            ids.clear();
        else if (what == "prompt longer than positions")
            ids = {0, 1, 2, 3, 4};
        else if (what == "tied lm_head differs")
            m.w["lm_head.weight"] = Tensor{{5, 8}, Floats(40, 0.5f)};
        else if (what == "untied lm_head missing")
            config["tie_word_embeddings"] = false;
        else if (what == "add_cross_attention")
            config["add_cross_attention"] = true;
        else
            QFAIL("unhandled row");
        QFETCH(QString, message);
        try {
            obsprop::naive::run(config, m.w, ids);
            QFAIL("no exception");
        } catch (const std::runtime_error& e) {
            QVERIFY2(QString::fromStdString(e.what()).contains(message), e.what());
        }
        QVERIFY_THROWS_EXCEPTION(std::runtime_error, obsprop::naive::activation("softplus2", 1.0));
    }
};

int runNaiveDecoderTests(int argc, char** argv); // naive_reference_decoders.cpp: the Llama-style families

int main(int argc, char** argv) {
    TestNaiveReference reference;
    const int gpt = QTest::qExec(&reference, argc, argv);
    const int decoders = runNaiveDecoderTests(argc, argv);
    return gpt != 0 || decoders != 0 ? 1 : 0;
}
#include "tst_naive_reference.moc"
