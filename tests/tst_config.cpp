// config.json parsing: every field that changes the forward pass, and clear errors.
#include <QtTest>

#include <nlohmann/json.hpp>

#include "io/model_config.h"

using nlohmann::json;
using obsprop::io::ConfigError;
using obsprop::io::Family;
using obsprop::io::parse_model_config;

class TestConfig : public QObject {
    Q_OBJECT
  private Q_SLOTS:
    void gpt2Small() {
        // GPT-2 small's published config.json (the fields that matter).
        json j = {{"model_type", "gpt2"},
                  {"n_embd", 768},
                  {"n_layer", 12},
                  {"n_head", 12},
                  {"n_positions", 1024},
                  {"vocab_size", 50257},
                  {"n_inner", nullptr},
                  {"activation_function", "gelu_new"},
                  {"layer_norm_epsilon", 1e-5}};
        auto c = parse_model_config(j);
        QCOMPARE(c.family, Family::GPT2);
        QCOMPARE(c.d_head, 64);
        QCOMPARE(c.d_mlp, 3072);
        QCOMPARE(c.n_ctx, 1024);
        QCOMPARE(c.attn_scale, 0.125);
        QVERIFY(!c.scale_by_inverse_layer);
        QCOMPARE(c.activation, obsprop::io::Activation::GeluTanh);
        QVERIFY(c.tie_word_embeddings);
    }

    void gptNeoLayout() {
        // GPT-Neo-1.3B: 24 layers alternating global/local, window 256, no score scaling.
        json j = {{"model_type", "gpt_neo"},
                  {"hidden_size", 2048},
                  {"num_layers", 24},
                  {"num_heads", 16},
                  {"max_position_embeddings", 2048},
                  {"vocab_size", 50257},
                  {"window_size", 256},
                  {"intermediate_size", nullptr},
                  {"attention_types", json::array({json::array({json::array({"global", "local"}), 12})})}};
        auto c = parse_model_config(j);
        QCOMPARE(c.family, Family::GPTNeo);
        QCOMPARE(c.d_mlp, 8192);
        QCOMPARE(c.attn_scale, 1.0);
        QCOMPARE(int(c.local_window.size()), 24);
        QVERIFY(!c.is_local(0));
        QVERIFY(c.is_local(1));
        QCOMPARE(c.local_window[23], 256);
        // An explicit attention_layers list wins over attention_types, as in Hugging Face.
        j["num_layers"] = 2;
        j["attention_layers"] = {"local", "local"};
        c = parse_model_config(j);
        QVERIFY(c.is_local(0) && c.is_local(1));
    }

    void pythia() {
        json j = {
            {"model_type", "gpt_neox"},      {"hidden_size", 512},        {"num_hidden_layers", 6},
            {"num_attention_heads", 8},      {"intermediate_size", 2048}, {"max_position_embeddings", 2048},
            {"vocab_size", 50304},           {"rotary_pct", 0.25},        {"rotary_emb_base", 10000},
            {"use_parallel_residual", true}, {"hidden_act", "gelu"},      {"tie_word_embeddings", false}};
        auto c = parse_model_config(j);
        QCOMPARE(c.family, Family::GPTNeoX);
        QCOMPARE(c.d_head, 64);
        QCOMPARE(c.rotary_dims, 16);
        QVERIFY(c.parallel_residual);
        QCOMPARE(c.activation, obsprop::io::Activation::GeluErf);
        QVERIFY(!c.tie_word_embeddings);
        QCOMPARE(c.attn_scale, 0.125);
    }

    void errors_data() {
        QTest::addColumn<QString>("config");
        QTest::addColumn<QString>("message");
        QTest::newRow("not an object") << "[1,2]"
                                       << "not a JSON object";
        QTest::newRow("no model_type") << R"({"n_embd": 8})"
                                       << "missing required field 'model_type'";
        QTest::newRow("unknown architecture") << R"({"model_type": "falcon"})"
                                              << "unsupported model_type 'falcon'";
        QTest::newRow("gpt2 missing n_head")
            << R"({"model_type":"gpt2","n_embd":8,"n_layer":1,"vocab_size":10,"n_positions":4})"
            << "missing required field 'n_head'";
        QTest::newRow("negative size")
            << R"({"model_type":"gpt2","n_embd":-8,"n_layer":1,"n_head":2,"vocab_size":10,"n_positions":4})"
            << "'n_embd' must be a positive integer";
        QTest::newRow("heads do not divide")
            << R"({"model_type":"gpt2","n_embd":10,"n_layer":1,"n_head":3,"vocab_size":10,"n_positions":4})"
            << "not divisible by the number of heads";
        QTest::newRow("unknown activation")
            << R"({"model_type":"gpt2","n_embd":8,"n_layer":1,"n_head":2,"vocab_size":10,"n_positions":4,
                  "activation_function":"mish"})"
            << "unsupported activation 'mish'";
        QTest::newRow("neo layout length")
            << R"({"model_type":"gpt_neo","hidden_size":8,"num_layers":3,"num_heads":2,"vocab_size":10,
                  "max_position_embeddings":4,"attention_types":[[["global","local"],1]]})"
            << "lists 2 layers but num_layers is 3";
        QTest::newRow("neo unknown kind")
            << R"({"model_type":"gpt_neo","hidden_size":8,"num_layers":1,"num_heads":2,"vocab_size":10,
                  "max_position_embeddings":4,"attention_layers":["sparse"]})"
            << "unknown GPT-Neo attention kind 'sparse'";
        QTest::newRow("neox bad rotary")
            << R"({"model_type":"gpt_neox","hidden_size":8,"num_hidden_layers":1,"num_attention_heads":2,
                  "vocab_size":10,"max_position_embeddings":4,"intermediate_size":16,"rotary_pct":1.5})"
            << "'rotary_pct' must lie in [0, 1]";
        QTest::newRow("neox odd rotary dims")
            << R"({"model_type":"gpt_neox","hidden_size":12,"num_hidden_layers":1,"num_attention_heads":2,
                  "vocab_size":10,"max_position_embeddings":4,"intermediate_size":16,"rotary_pct":0.5})"
            << "must be even";
        QTest::newRow("string where number")
            << R"({"model_type":"gpt2","n_embd":"768","n_layer":1,"n_head":2,"vocab_size":10,"n_positions":4})"
            << "'n_embd' must be a positive integer";
    }
    void errors() {
        QFETCH(QString, config);
        QFETCH(QString, message);
        try {
            parse_model_config(json::parse(config.toStdString()), "cfg.json");
            QFAIL("expected a ConfigError");
        } catch (const ConfigError& e) {
            const QString what = QString::fromUtf8(e.what());
            QVERIFY2(what.startsWith(QStringLiteral("cfg.json: ")), qPrintable(what));
            QVERIFY2(what.contains(message), qPrintable(what));
        }
    }

    void missingFile() {
        try {
            obsprop::io::load_model_config("/nonexistent/model");
            QFAIL("expected a ConfigError");
        } catch (const ConfigError& e) {
            QVERIFY(QString::fromUtf8(e.what()).contains(QStringLiteral("/nonexistent/model/config.json")));
        }
    }
};

QTEST_APPLESS_MAIN(TestConfig)
#include "tst_config.moc"
