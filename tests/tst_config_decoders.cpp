// config.json of the RMSNorm decoders (Llama, Mistral, Qwen 2/3, Gemma 1/2/3): the published configurations
// of real models give the fields the forward pass needs, with Hugging Face's defaults where keys are
// absent, and anything not implemented is refused naming the key and value.
#include <QtTest>

#include <cmath>

#include <nlohmann/json.hpp>

#include "io/model_config.h"

using nlohmann::json;
using obsprop::io::ConfigError;
using obsprop::io::Family;
using obsprop::io::ModelConfig;
using obsprop::io::parse_model_config;
using Scaling = obsprop::io::RopeSpec::Scaling;

namespace {

// The fields that matter of published config.json files (values as released).
json llama_3_2_1b() {
    return json::parse(R"({"architectures":["LlamaForCausalLM"],"attention_bias":false,"head_dim":64,
        "hidden_act":"silu","hidden_size":2048,"intermediate_size":8192,"max_position_embeddings":131072,
        "mlp_bias":false,"model_type":"llama","num_attention_heads":32,"num_hidden_layers":16,
        "num_key_value_heads":8,"pretraining_tp":1,"rms_norm_eps":1e-05,
        "rope_scaling":{"factor":32.0,"high_freq_factor":4.0,"low_freq_factor":1.0,
                        "original_max_position_embeddings":8192,"rope_type":"llama3"},
        "rope_theta":500000.0,"tie_word_embeddings":true,"torch_dtype":"bfloat16","vocab_size":128256})");
}
json mistral_7b_v01() {
    return json::parse(R"({"architectures":["MistralForCausalLM"],"hidden_act":"silu","hidden_size":4096,
        "intermediate_size":14336,"max_position_embeddings":32768,"model_type":"mistral","num_attention_heads":32,
        "num_hidden_layers":32,"num_key_value_heads":8,"rms_norm_eps":1e-05,"rope_theta":10000.0,
        "sliding_window":4096,"tie_word_embeddings":false,"vocab_size":32000})");
}
json qwen2_5_0_5b() {
    return json::parse(R"({"architectures":["Qwen2ForCausalLM"],"hidden_act":"silu","hidden_size":896,
        "intermediate_size":4864,"max_position_embeddings":32768,"max_window_layers":24,"model_type":"qwen2",
        "num_attention_heads":14,"num_hidden_layers":24,"num_key_value_heads":2,"rms_norm_eps":1e-06,
        "rope_theta":1000000.0,"sliding_window":32768,"tie_word_embeddings":true,"use_mrope":false,
        "use_sliding_window":false,"vocab_size":151936})");
}
json qwen3_0_6b() {
    return json::parse(R"({"architectures":["Qwen3ForCausalLM"],"attention_bias":false,"head_dim":128,
        "hidden_act":"silu","hidden_size":1024,"intermediate_size":3072,"max_position_embeddings":40960,
        "max_window_layers":28,"model_type":"qwen3","num_attention_heads":16,"num_hidden_layers":28,
        "num_key_value_heads":8,"rms_norm_eps":1e-06,"rope_scaling":null,"rope_theta":1000000,
        "sliding_window":null,"tie_word_embeddings":true,"use_sliding_window":false,"vocab_size":151936})");
}
json gemma_2b() {
    return json::parse(R"({"architectures":["GemmaForCausalLM"],"attention_bias":false,"head_dim":256,
        "hidden_act":"gelu","hidden_activation":"gelu_pytorch_tanh","hidden_size":2048,"intermediate_size":16384,
        "max_position_embeddings":8192,"model_type":"gemma","num_attention_heads":8,"num_hidden_layers":18,
        "num_key_value_heads":1,"rms_norm_eps":1e-06,"rope_scaling":null,"rope_theta":10000.0,
        "vocab_size":256000})");
}
json gemma_2_2b() {
    return json::parse(R"({"architectures":["Gemma2ForCausalLM"],"attention_bias":false,
        "attn_logit_softcapping":50.0,"final_logit_softcapping":30.0,"head_dim":256,"hidden_act":"gelu_pytorch_tanh",
        "hidden_activation":"gelu_pytorch_tanh","hidden_size":2304,"intermediate_size":9216,
        "max_position_embeddings":8192,"model_type":"gemma2","num_attention_heads":8,"num_hidden_layers":26,
        "num_key_value_heads":4,"query_pre_attn_scalar":256,"rms_norm_eps":1e-06,"rope_theta":10000.0,
        "sliding_window":4096,"vocab_size":256000})");
}
json gemma_3_1b() {
    return json::parse(R"({"architectures":["Gemma3ForCausalLM"],"attention_bias":false,
        "attn_logit_softcapping":null,"final_logit_softcapping":null,"head_dim":256,
        "hidden_activation":"gelu_pytorch_tanh","hidden_size":1152,"intermediate_size":6912,
        "max_position_embeddings":32768,"model_type":"gemma3_text","num_attention_heads":4,"num_hidden_layers":26,
        "num_key_value_heads":1,"query_pre_attn_scalar":256,"rms_norm_eps":1e-06,"rope_local_base_freq":10000,
        "rope_scaling":null,"rope_theta":1000000,"sliding_window":512,"sliding_window_pattern":6,
        "vocab_size":262144})");
}

int sliding_layers(const ModelConfig& c) {
    int n = 0;
    for (int l = 0; l < c.n_layers; ++l)
        n += c.is_local(l) ? 1 : 0;
    return n;
}

} // namespace

class TestConfigDecoders : public QObject {
    Q_OBJECT
  private Q_SLOTS:
    void llama() {
        const auto c = parse_model_config(llama_3_2_1b());
        QCOMPARE(c.family, Family::Llama);
        QVERIFY(c.rms() && c.gated_mlp && !c.post_norms && !c.qk_norm);
        QCOMPARE(c.n_heads, 32);
        QCOMPARE(c.n_kv_heads, 8);
        QCOMPARE(c.kv_group_size(), 4);
        QCOMPARE(c.kv_head_of(7), 1);
        QCOMPARE(c.d_head, 64);
        QCOMPARE(c.rotary_dims, 64);
        QCOMPARE(c.attn_scale, 0.125);
        QCOMPARE(c.ln_eps, 1e-5);
        QCOMPARE(c.activation, obsprop::io::Activation::Silu);
        QVERIFY(c.tie_word_embeddings);
        QCOMPARE(c.rope.theta, 500000.0);
        QCOMPARE(c.rope.scaling, Scaling::Llama3);
        QCOMPARE(c.rope.factor, 32.0);
        QCOMPARE(c.rope.original_max_positions, 8192.0);
        QCOMPARE(sliding_layers(c), 0);
        QVERIFY(!c.attn_bias_qkv && !c.attn_bias_o && !c.mlp_bias);
        QCOMPARE(c.embed_scale, 1.0);
        // Llama's defaults: no num_key_value_heads means one KV head per head; untied; θ = 10000.
        json j = llama_3_2_1b();
        j.erase("num_key_value_heads");
        j.erase("tie_word_embeddings");
        j.erase("rope_theta");
        j.erase("rope_scaling");
        j.erase("head_dim");
        j["attention_bias"] = true;
        const auto d = parse_model_config(j);
        QCOMPARE(d.n_kv_heads, 32);
        QVERIFY(!d.tie_word_embeddings);
        QCOMPARE(d.rope.theta, 10000.0);
        QCOMPARE(d.rope.scaling, Scaling::None);
        QCOMPARE(d.d_head, 64);
        QVERIFY(d.attn_bias_qkv && d.attn_bias_o);
    }

    void mistral() {
        const auto c = parse_model_config(mistral_7b_v01());
        QCOMPARE(c.family, Family::Mistral);
        QCOMPARE(c.d_head, 128);
        QCOMPARE(sliding_layers(c), 32); // every layer slides
        QCOMPARE(c.local_window[5], 4096);
        QVERIFY(!c.tie_word_embeddings);
        // Mistral v0.3 states "sliding_window": null: no window. An absent key takes the class default 4096.
        json j = mistral_7b_v01();
        j["sliding_window"] = nullptr;
        QCOMPARE(sliding_layers(parse_model_config(j)), 0);
        j.erase("sliding_window");
        QCOMPARE(parse_model_config(j).local_window[0], 4096);
    }

    void qwen2() {
        const auto c = parse_model_config(qwen2_5_0_5b());
        QCOMPARE(c.family, Family::Qwen2);
        QCOMPARE(c.d_head, 64);
        QCOMPARE(c.n_kv_heads, 2);
        QVERIFY(c.attn_bias_qkv && !c.attn_bias_o); // q/k/v biases, none on o_proj
        QCOMPARE(sliding_layers(c), 0);             // use_sliding_window false
        QCOMPARE(c.rope.theta, 1e6);
        // With sliding enabled, layers from max_window_layers on slide.
        json j = qwen2_5_0_5b();
        j["use_sliding_window"] = true;
        j["max_window_layers"] = 20;
        j["sliding_window"] = 16;
        const auto s = parse_model_config(j);
        QCOMPARE(sliding_layers(s), 4);
        QVERIFY(!s.is_local(19) && s.is_local(20));
        QCOMPARE(s.local_window[23], 16);
    }

    void qwen3() {
        const auto c = parse_model_config(qwen3_0_6b());
        QCOMPARE(c.family, Family::Qwen3);
        QCOMPARE(c.d_head, 128); // n_heads · head_dim = 2048 ≠ hidden_size 1024
        QCOMPARE(c.n_heads * c.d_head, 2048);
        QVERIFY(c.qk_norm);
        QVERIFY(!c.attn_bias_qkv);
        QCOMPARE(c.attn_scale, 1.0 / std::sqrt(128.0));
        QCOMPARE(sliding_layers(c), 0);
    }

    void gemma() {
        const auto c = parse_model_config(gemma_2b());
        QCOMPARE(c.family, Family::Gemma);
        QCOMPARE(c.n_kv_heads, 1); // multi-query attention
        QCOMPARE(c.d_head, 256);
        QVERIFY(c.tie_word_embeddings); // Gemma's default
        // Current transformers read `hidden_act` for Gemma 1 (here the exact erf form).
        QCOMPARE(c.activation, obsprop::io::Activation::GeluErf);
        QCOMPARE(c.embed_scale, double(float(std::sqrt(2048.0))));
        QVERIFY(!c.post_norms && !c.qk_norm);
        QCOMPARE(c.attn_softcap, 0.0);
    }

    void gemma2() {
        const auto c = parse_model_config(gemma_2_2b());
        QCOMPARE(c.family, Family::Gemma2);
        QVERIFY(c.post_norms && !c.qk_norm);
        QCOMPARE(c.attn_softcap, 50.0);
        QCOMPARE(c.final_softcap, 30.0);
        QCOMPARE(c.attn_scale, 1.0 / 16.0);
        QCOMPARE(c.activation, obsprop::io::Activation::GeluTanh);
        // Layers 0, 2, 4, ... slide (window 4096); odd layers attend globally.
        QCOMPARE(sliding_layers(c), 13);
        QVERIFY(c.is_local(0) && !c.is_local(1) && c.is_local(24) && !c.is_local(25));
        QCOMPARE(c.embed_scale, double(float(std::sqrt(2304.0))));
        // Absent soft-cap keys take Gemma 2's defaults; null switches them off.
        json j = gemma_2_2b();
        j.erase("attn_logit_softcapping");
        j["final_logit_softcapping"] = nullptr;
        const auto d = parse_model_config(j);
        QCOMPARE(d.attn_softcap, 50.0);
        QCOMPARE(d.final_softcap, 0.0);
        // An explicit layer_types list wins.
        j["num_hidden_layers"] = 3;
        j["layer_types"] = {"full_attention", "sliding_attention", "sliding_attention"};
        const auto e = parse_model_config(j);
        QVERIFY(!e.is_local(0) && e.is_local(1) && e.is_local(2));
    }

    void gemma3() {
        const auto c = parse_model_config(gemma_3_1b());
        QCOMPARE(c.family, Family::Gemma3);
        QVERIFY(c.post_norms && c.qk_norm);
        QCOMPARE(c.n_kv_heads, 1);
        QCOMPARE(c.attn_softcap, 0.0);
        QCOMPARE(c.final_softcap, 0.0);
        // Five sliding layers, then a full one: layers 5, 11, 17, 23 are global.
        QCOMPARE(sliding_layers(c), 22);
        QVERIFY(c.is_local(4) && !c.is_local(5) && !c.is_local(23) && c.is_local(25));
        QCOMPARE(c.local_window[0], 512);
        // Full layers: rope_theta 1e6; sliding layers: rope_local_base_freq 10000.
        QCOMPARE(c.rope_of(5).theta, 1e6);
        QCOMPARE(c.rope_of(0).theta, 10000.0);
        // rope_scaling applies to the full layers only (Gemma 3 4B and larger use linear, factor 8).
        json j = gemma_3_1b();
        j["rope_scaling"] = {{"rope_type", "linear"}, {"factor", 8.0}};
        const auto s = parse_model_config(j);
        QCOMPARE(s.rope_of(5).scaling, Scaling::Linear);
        QCOMPARE(s.rope_of(5).factor, 8.0);
        QCOMPARE(s.rope_of(0).scaling, Scaling::None);
        // The newer rope_parameters spelling, per layer type.
        j.erase("rope_scaling");
        j.erase("rope_theta");
        j.erase("rope_local_base_freq");
        j["rope_parameters"] = {
            {"full_attention", {{"rope_type", "linear"}, {"factor", 4.0}, {"rope_theta", 5e5}}},
            {"sliding_attention", {{"rope_type", "default"}, {"rope_theta", 2e4}}}};
        const auto p = parse_model_config(j);
        QCOMPARE(p.rope_of(5).theta, 5e5);
        QCOMPARE(p.rope_of(5).factor, 4.0);
        QCOMPARE(p.rope_of(0).theta, 2e4);
    }

    void refused_data() {
        QTest::addColumn<QString>("model");
        QTest::addColumn<QString>("key");
        QTest::addColumn<QString>("value"); // JSON
        QTest::addColumn<QString>("message");
        QTest::newRow("another rope type") << "llama"
                                           << "rope_scaling"
                                           << R"({"rope_type":"yarn","factor":4})"
                                           << "'rope_scaling.rope_type' = 'yarn' is not implemented";
        QTest::newRow("dynamic rope") << "qwen2"
                                      << "rope_scaling"
                                      << R"({"type":"dynamic","factor":2})"
                                      << "'rope_scaling.rope_type' = 'dynamic' is not implemented";
        QTest::newRow("unknown rope key") << "llama"
                                          << "rope_scaling"
                                          << R"({"rope_type":"linear","factor":2,"mrope_section":[1,2]})"
                                          << "'rope_scaling.mrope_section'";
        QTest::newRow("llama3 without factors") << "llama"
                                                << "rope_scaling"
                                                << R"({"rope_type":"llama3","factor":8})"
                                                << "needs 'low_freq_factor'";
        QTest::newRow("unknown activation") << "mistral"
                                            << "hidden_act"
                                            << R"("mish")"
                                            << "unsupported activation 'mish' in 'hidden_act'";
        QTest::newRow("soft-cap on llama") << "llama"
                                           << "attn_logit_softcapping"
                                           << "50.0"
                                           << "'attn_logit_softcapping' = 50.0: llama has no soft-capping";
        QTest::newRow("final soft-cap on qwen3") << "qwen3"
                                                 << "final_logit_softcapping"
                                                 << "30"
                                                 << "qwen3 has no soft-capping";
        QTest::newRow("heads not a multiple") << "qwen3"
                                              << "num_key_value_heads"
                                              << "3"
                                              << "'num_attention_heads' = 16 is not a multiple of "
                                                 "'num_key_value_heads' = 3";
        QTest::newRow("partial rotary") << "llama"
                                        << "partial_rotary_factor"
                                        << "0.5"
                                        << "'partial_rotary_factor' = 0.5 is not implemented";
        QTest::newRow("bidirectional") << "gemma3"
                                       << "use_bidirectional_attention"
                                       << "true"
                                       << "'use_bidirectional_attention' = true is not implemented";
        QTest::newRow("sliding window on llama") << "llama"
                                                 << "sliding_window"
                                                 << "4096"
                                                 << "llama has no sliding-window attention";
        QTest::newRow("layer type unknown") << "mistral"
                                            << "layer_types"
                                            << R"(["chunked_attention"])"
                                            << "'layer_types' must list one entry per layer (32)";
        QTest::newRow("mlp bias on qwen2") << "qwen2"
                                           << "mlp_bias"
                                           << "true"
                                           << "'mlp_bias' = true: qwen2 has none";
        QTest::newRow("query scalar on qwen3") << "qwen3"
                                               << "query_pre_attn_scalar"
                                               << "64"
                                               << "'query_pre_attn_scalar' is a Gemma 2/3 setting";
        QTest::newRow("missing kv heads") << "mistral"
                                          << "num_key_value_heads"
                                          << "null"
                                          << "missing required field 'num_key_value_heads'";
        QTest::newRow("odd head_dim") << "qwen3"
                                      << "head_dim"
                                      << "127"
                                      << "'head_dim' = 127 must be even";
        QTest::newRow("mrope") << "qwen2"
                               << "use_mrope"
                               << "true"
                               << "'use_mrope' = true is not implemented";
        QTest::newRow("num_hidden_layers 1e8 (refused before the per-layer windows are sized)")
            << "mistral"
            << "num_hidden_layers"
            << "100000000"
            << "field 'num_hidden_layers' = 100000000 is larger than 1024, the most this reader accepts";
        QTest::newRow("head_dim huge") << "qwen3"
                                       << "head_dim"
                                       << "1073741824"
                                       << "field 'head_dim' = 1073741824 is larger than 16384";
        QTest::newRow("kv heads 2^32 + 8 (would wrap to 8)")
            << "mistral"
            << "num_key_value_heads"
            << "4294967304"
            << "field 'num_key_value_heads' = 4294967304 is larger";
        QTest::newRow("gemma3 sliding without window") << "gemma3"
                                                       << "sliding_window"
                                                       << "null"
                                                       << "layer 0 uses sliding-window attention but the "
                                                          "configuration sets no 'sliding_window'";
    }
    void refused() {
        QFETCH(QString, model);
        QFETCH(QString, key);
        QFETCH(QString, value);
        QFETCH(QString, message);
        json j = model == "llama"     ? llama_3_2_1b()
                 : model == "mistral" ? mistral_7b_v01()
                 : model == "qwen2"   ? qwen2_5_0_5b()
                 : model == "qwen3"   ? qwen3_0_6b()
                 : model == "gemma3"  ? gemma_3_1b()
                                      : gemma_2_2b();
        j[key.toStdString()] = json::parse(value.toStdString());
        try {
            parse_model_config(j, "cfg.json");
            QFAIL("expected a ConfigError");
        } catch (const ConfigError& e) {
            const QString what = QString::fromUtf8(e.what());
            QVERIFY2(what.startsWith(QStringLiteral("cfg.json: ")), qPrintable(what));
            QVERIFY2(what.contains(message), qPrintable(what));
        }
    }
};

QTEST_APPLESS_MAIN(TestConfigDecoders)
#include "tst_config_decoders.moc"
