// config.json parsing: every field that changes the forward pass, and clear errors.
#include <QElapsedTimer>
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>

#include <nlohmann/json.hpp>

#include <sys/resource.h>
#include <sys/stat.h>

#include "io/model_config.h"

using nlohmann::json;
using obsprop::io::ConfigError;
using obsprop::io::Family;
using obsprop::io::parse_model_config;

namespace {
long max_rss_kb() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss;
}
} // namespace

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
        // Sizes are bounded before anything is allocated from them.
        QTest::newRow("n_layer 1e8")
            << R"({"model_type":"gpt2","n_embd":8,"n_layer":100000000,"n_head":2,"vocab_size":10,"n_positions":4})"
            << "field 'n_layer' = 100000000 is larger than 1024, the most this reader accepts";
        QTest::newRow("n_embd near 2^31 (4 * n_embd used to overflow)")
            << R"({"model_type":"gpt2","n_embd":2147483646,"n_layer":1,"n_head":2,"vocab_size":10,"n_positions":4})"
            << "field 'n_embd' = 2147483646 is larger than 131072, the most this reader accepts";
        QTest::newRow("n_head beyond int64")
            << R"({"model_type":"gpt2","n_embd":8,"n_layer":1,"n_head":18446744073709551615,"vocab_size":10,
                  "n_positions":4})"
            << "field 'n_head' = 18446744073709551615 is larger than 1024";
        QTest::newRow("vocab_size 2^32 + 1 (would wrap to 1)")
            << R"({"model_type":"gpt2","n_embd":8,"n_layer":1,"n_head":2,"vocab_size":4294967297,"n_positions":4})"
            << "field 'vocab_size' = 4294967297 is larger than 8388608";
        QTest::newRow("n_positions huge")
            << R"({"model_type":"gpt2","n_embd":8,"n_layer":1,"n_head":2,"vocab_size":10,"n_positions":1073741824})"
            << "field 'n_positions' = 1073741824 is larger than 16777216";
        QTest::newRow("n_inner huge")
            << R"({"model_type":"gpt2","n_embd":8,"n_layer":1,"n_head":2,"vocab_size":10,"n_positions":4,
                  "n_inner":1073741824})"
            << "field 'n_inner' = 1073741824 is larger than 1048576";
        QTest::newRow("every size at its limit: too many parameters")
            << R"({"model_type":"gpt2","n_embd":131072,"n_layer":1024,"n_head":1024,"vocab_size":8388608,
                  "n_positions":16777216})"
            << "the sizes describe about 215504279044096 parameters, more than the 1099511627776 this reader "
               "accepts";
        QTest::newRow("neo attention_types repeated past num_layers (not expanded)")
            << R"({"model_type":"gpt_neo","hidden_size":8,"num_layers":2,"num_heads":2,"vocab_size":10,
                  "max_position_embeddings":4,"attention_types":[[["global","local"],65536],[["global","local"],65536]]})"
            << "GPT-Neo attention layout lists 131072 layers but num_layers is 2";
        QTest::newRow("neo attention_layers longer than num_layers")
            << R"({"model_type":"gpt_neo","hidden_size":8,"num_layers":1,"num_heads":2,"vocab_size":10,
                  "max_position_embeddings":4,"attention_layers":["global","global","local"]})"
            << "GPT-Neo attention layout lists 3 layers but num_layers is 1";
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

    // A GPT-Neo layout of 2^16 repeats of 4 096 kinds per item: refused from its count, so memory stays
    // flat (expanding it would take gigabytes).
    void attentionTypesNotExpanded() {
        json kinds = json::array();
        for (int i = 0; i < 4096; ++i)
            kinds.push_back("global");
        json types = json::array();
        for (int i = 0; i < 16; ++i)
            types.push_back(json::array({kinds, 65536}));
        const json j = {{"model_type", "gpt_neo"}, {"hidden_size", 8}, {"num_layers", 24},
                        {"num_heads", 2},          {"vocab_size", 10}, {"max_position_embeddings", 4},
                        {"attention_types", types}};
        const long before = max_rss_kb();
        QElapsedTimer timer;
        timer.start();
        try {
            parse_model_config(j, "cfg.json");
            QFAIL("expected a ConfigError");
        } catch (const ConfigError& e) {
            QCOMPARE(QString::fromUtf8(e.what()),
                     QStringLiteral(
                         "cfg.json: GPT-Neo attention layout lists 268435456 layers but num_layers is 24"));
        }
        QVERIFY(timer.elapsed() < 2000);
        QVERIFY2(max_rss_kb() - before < 200 * 1024,
                 qPrintable(QString::number(max_rss_kb() - before) + " KB"));
    }

    // Values quoted in messages are cut short without walking (or recursing through) the whole value.
    void deepValueInAMessage() {
        json deep = json::array();
        json* cur = &deep;
        for (int i = 0; i < 100000; ++i) {
            cur->push_back(json::array());
            cur = &cur->back();
        }
        json j = {{"model_type", "llama"},
                  {"hidden_size", 8},
                  {"num_hidden_layers", 1},
                  {"num_attention_heads", 2},
                  {"vocab_size", 10},
                  {"intermediate_size", 16},
                  {"rope_scaling", {{"mystery", std::move(deep)}}}};
        try {
            parse_model_config(j, "cfg.json");
            QFAIL("expected a ConfigError");
        } catch (const ConfigError& e) {
            QCOMPARE(QString::fromUtf8(e.what()),
                     QStringLiteral(
                         "cfg.json: 'rope_scaling.mystery' = "
                         "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[..."
                         " is not implemented (a RoPE variant the forward pass does not compute)"));
        }
    }

    void hostileFiles_data() {
        QTest::addColumn<QByteArray>("text"); // empty: config.json is a FIFO
        QTest::addColumn<QString>("message");
        QTest::newRow("config.json is a FIFO (must not block)")
            << QByteArray() << "not a regular file (a FIFO)";
        QTest::newRow("100000 nested arrays")
            << "{\"model_type\": " + QByteArray(100000, '[') + QByteArray(100000, ']') + "}"
            << "invalid JSON: JSON nested more than 64 levels deep";
        QTest::newRow("number out of range")
            << QByteArray(R"({"model_type":"gpt2","n_embd":1e400})")
            << "invalid JSON: [json.exception.out_of_range.406] number overflow";
        QTest::newRow("config.json is a directory") << QByteArray("dir") << "is a directory, expected a file";
    }
    void hostileFiles() {
        QFETCH(QByteArray, text);
        QFETCH(QString, message);
        QTemporaryDir tmp;
        const std::filesystem::path dir = tmp.path().toStdString(), cfg = dir / "config.json";
        if (text.isEmpty())
            QCOMPARE(::mkfifo(cfg.c_str(), 0600), 0);
        else if (text == "dir")
            std::filesystem::create_directory(cfg);
        else
            std::ofstream(cfg, std::ios::binary) << text.toStdString();
        QElapsedTimer timer;
        timer.start();
        try {
            obsprop::io::load_model_config(dir);
            QFAIL("expected a ConfigError");
        } catch (const ConfigError& e) {
            const QString what = QString::fromUtf8(e.what());
            QVERIFY2(what.startsWith(QString::fromStdString(cfg.string()) + ": " + message),
                     qPrintable(what));
        }
        QVERIFY(timer.elapsed() < 2000);
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
