// The random-checkpoint generator: names, shapes, configs, values, tokenizer and determinism.
#include "safetensors_test_util.h"

#include "naive_transformer.h"

namespace {

// 2 layers, 2 query heads on 1 key/value head, d 8, head_dim 4 (Qwen3 and Gemma*: 6, so that
// n_heads * head_dim != d_model), d_mlp 32, vocab 300, n_ctx 16.
tools::CheckpointSpec small_llama(tools::Family f) {
    auto s = small_spec(f);
    s.n_kv_heads = 1;
    if (f == tools::Family::Qwen3 || tools::is_gemma(f)) s.head_dim = 6;
    if (f == tools::Family::Gemma2 || f == tools::Family::Gemma3) s.sliding_window = 4;
    return s;
}

std::uint64_t parameter_count(const tools::CheckpointSpec& s) {
    std::uint64_t n = 0;
    for (const auto& l : tools::tensor_layout(s))
        n += io::writable_numel(l);
    return n;
}

} // namespace

class TestCheckpointGen : public QObject {
    Q_OBJECT
    QTemporaryDir tmp_;
    int counter_ = 0;
    fs::path fresh(const char* stem) {
        return fs::path(tmp_.path().toStdString()) / (std::string(stem) + std::to_string(++counter_));
    }

  private Q_SLOTS:
    void initTestCase() { QVERIFY(tmp_.isValid()); }
    void generatorNames_data() {
        QTest::addColumn<tools::Family>("family");
        QTest::addColumn<bool>("prefix");
        QTest::addColumn<bool>("lm_head");
        QTest::addColumn<bool>("buffers");
        QTest::addColumn<DType>("storage");
        QTest::addColumn<QStringList>("expected");
        // Hand-written Hugging Face state dicts of 2-layer models (d 8, 2 heads, d_mlp 32, vocab 300,
        // n_ctx 16). "{i}" is the layer; "/" marks a name that never takes the prefix.
        const QString gpt2 =
            "wte.weight [300,8]; wpe.weight [16,8]; ln_f.weight [8]; ln_f.bias [8]; "
            "h.{i}.ln_1.weight [8]; h.{i}.ln_1.bias [8]; h.{i}.attn.c_attn.weight [8,24]; "
            "h.{i}.attn.c_attn.bias [24]; h.{i}.attn.c_proj.weight [8,8]; h.{i}.attn.c_proj.bias [8]; "
            "h.{i}.ln_2.weight [8]; h.{i}.ln_2.bias [8]; h.{i}.mlp.c_fc.weight [8,32]; "
            "h.{i}.mlp.c_fc.bias [32]; h.{i}.mlp.c_proj.weight [32,8]; h.{i}.mlp.c_proj.bias [8]";
        const QString neo =
            "wte.weight [300,8]; wpe.weight [16,8]; ln_f.weight [8]; ln_f.bias [8]; "
            "h.{i}.ln_1.weight [8]; h.{i}.ln_1.bias [8]; h.{i}.attn.attention.q_proj.weight [8,8]; "
            "h.{i}.attn.attention.k_proj.weight [8,8]; h.{i}.attn.attention.v_proj.weight [8,8]; "
            "h.{i}.attn.attention.out_proj.weight [8,8]; h.{i}.attn.attention.out_proj.bias [8]; "
            "h.{i}.ln_2.weight [8]; h.{i}.ln_2.bias [8]; h.{i}.mlp.c_fc.weight [32,8]; "
            "h.{i}.mlp.c_fc.bias [32]; h.{i}.mlp.c_proj.weight [8,32]; h.{i}.mlp.c_proj.bias [8]";
        const QString neox =
            "embed_in.weight [300,8]; final_layer_norm.weight [8]; final_layer_norm.bias [8]; "
            "/embed_out.weight [300,8]; "
            "layers.{i}.input_layernorm.weight [8]; layers.{i}.input_layernorm.bias [8]; "
            "layers.{i}.post_attention_layernorm.weight [8]; layers.{i}.post_attention_layernorm.bias [8]; "
            "layers.{i}.attention.query_key_value.weight [24,8]; layers.{i}.attention.query_key_value.bias "
            "[24]; "
            "layers.{i}.attention.dense.weight [8,8]; layers.{i}.attention.dense.bias [8]; "
            "layers.{i}.mlp.dense_h_to_4h.weight [32,8]; layers.{i}.mlp.dense_h_to_4h.bias [32]; "
            "layers.{i}.mlp.dense_4h_to_h.weight [8,32]; layers.{i}.mlp.dense_4h_to_h.bias [8]";
        const QString lm = "; /lm_head.weight [300,8]";
        auto expand = [](const QString& prefix, const QString& dt, const QString& list) {
            QStringList out;
            for (QString e : list.split("; ")) {
                e = e.startsWith('/') ? e.mid(1) : prefix + e;
                if (e.count(' ') == 1) e += " " + dt; // no explicit dtype: the storage dtype
                for (const char* i : {"0", "1"})
                    out << QString(e).replace("{i}", i);
            }
            out.removeDuplicates();
            return out;
        };
        using F = tools::Family;
        QTest::newRow("gpt2 bare, like the hub's gpt2")
            << F::GPT2 << false << false << false << DType::F32 << expand("", "F32", gpt2);
        QTest::newRow("gpt2 prefixed + lm_head + U8 mask buffers")
            << F::GPT2 << true << true << true << DType::F16
            << expand("transformer.", "F16", gpt2 + lm + "; h.{i}.attn.bias [1,1,16,16] U8");
        QTest::newRow("gpt2 f32 mask buffers") << F::GPT2 << false << false << true << DType::F32
                                               << expand("", "F32", gpt2 + "; h.{i}.attn.bias [1,1,16,16]");
        QTest::newRow("gpt_neo prefixed")
            << F::GPTNeo << true << false << false << DType::F32 << expand("transformer.", "F32", neo);
        QTest::newRow("gpt_neo bare + lm_head + buffers")
            << F::GPTNeo << false << true << true << DType::BF16
            << expand("", "BF16", neo + lm + "; h.{i}.attn.attention.bias [1,1,16,16] BOOL");
        QTest::newRow("gpt_neox prefixed")
            << F::GPTNeoX << true << false << false << DType::F32 << expand("gpt_neox.", "F32", neox);
        QTest::newRow("gpt_neox bare + buffers (lm_head ignored)")
            << F::GPTNeoX << false << true << true << DType::F16
            << expand("", "F16",
                      neox + "; layers.{i}.attention.bias [1,1,16,16] BOOL; "
                             "layers.{i}.attention.rotary_emb.inv_freq [1] F32");
    }
    void generatorNames() {
        QFETCH(tools::Family, family);
        QFETCH(bool, prefix);
        QFETCH(bool, lm_head);
        QFETCH(bool, buffers);
        QFETCH(DType, storage);
        QFETCH(QStringList, expected);
        auto spec = small_spec(family);
        spec.prefix = prefix, spec.lm_head = lm_head, spec.buffers = buffers, spec.storage = storage;
        expected.sort();

        QStringList in_memory, layout, on_disk;
        const auto g = tools::generate(spec);
        for (const auto& [n, t] : g.tensors)
            in_memory << entry(n, t.shape, g.dtypes.at(n));
        for (const auto& l : tools::tensor_layout(spec))
            layout << entry(l.name, l.shape, l.dtype);
        const fs::path dir = fresh("names");
        tools::write_checkpoint_streaming(spec, dir);
        const auto c = io::Checkpoint::open(dir);
        for (const auto& n : c.names())
            on_disk << entry(n, c.get(n).shape, c.get(n).dtype);
        in_memory.sort(), layout.sort();
        QCOMPARE(in_memory, expected);
        QCOMPARE(layout, expected);
        QCOMPARE(on_disk, expected);
        if (buffers && family == tools::Family::GPTNeoX) {
            QCOMPARE(decode(c.get((prefix ? "gpt_neox." : "") +
                                  std::string("layers.1.attention.rotary_emb.inv_freq"))),
                     std::vector<float>{1.0f});
        }
        if (buffers && family != tools::Family::GPTNeoX) {
            // Causal mask; GPT-Neo's local layer 1 also hides keys more than window (4) back.
            const std::string p = prefix ? "transformer." : "";
            const std::string name =
                family == tools::Family::GPT2 ? "h.1.attn.bias" : "h.1.attn.attention.bias";
            const auto m = decode(c.get(p + name));
            const int window = family == tools::Family::GPTNeo ? 4 : 1000;
            for (int i = 0; i < 16; ++i)
                for (int j = 0; j < 16; ++j)
                    QCOMPARE(m[std::size_t(i * 16 + j)], (j <= i && j > i - window) ? 1.0f : 0.0f);
        }
    }

    void generatorConfig() {
        auto spec = small_spec(tools::Family::GPT2);
        expect_subset(tools::make_config(spec),
                      R"({"model_type": "gpt2", "n_embd": 8, "n_layer": 2, "n_head": 2,
            "n_positions": 16, "n_ctx": 16, "vocab_size": 300, "n_inner": null, "activation_function": "gelu_new",
            "scale_attn_weights": true, "scale_attn_by_inverse_layer_idx": false, "eos_token_id": 299,
            "bos_token_id": 299, "layer_norm_epsilon": 1e-5, "architectures": ["GPT2LMHeadModel"]})");
        spec.d_mlp = 24; // not 4 * d_model: stated
        expect_subset(tools::make_config(spec), R"({"n_inner": 24})");

        spec = small_spec(tools::Family::GPTNeo);
        spec.n_layers = 5, spec.activation = "gelu";
        expect_subset(tools::make_config(spec),
                      R"({"model_type": "gpt_neo", "hidden_size": 8, "num_layers": 5,
            "num_heads": 2, "intermediate_size": null, "window_size": 4, "max_position_embeddings": 16,
            "attention_types": [[["global", "local"], 2], [["global"], 1]], "activation_function": "gelu",
            "attention_layers": ["global", "local", "global", "local", "global"],
            "architectures": ["GPTNeoForCausalLM"]})");

        spec = small_spec(tools::Family::GPTNeoX);
        spec.parallel_residual = false, spec.storage = DType::BF16;
        expect_subset(tools::make_config(spec), R"({"model_type": "gpt_neox", "num_hidden_layers": 2,
            "num_attention_heads": 2, "intermediate_size": 32, "rotary_pct": 0.5, "rotary_emb_base": 10000.0,
            "use_parallel_residual": false, "tie_word_embeddings": false, "hidden_act": "gelu",
            "torch_dtype": "bfloat16", "layer_norm_eps": 1e-5, "architectures": ["GPTNeoXForCausalLM"]})");
    }

    void generatorValues() {
        auto spec = small_spec(tools::Family::GPT2);
        spec.d_model = 64, spec.vocab = 4000, spec.lm_head = true, spec.storage = DType::F16;
        const auto g = tools::generate(spec);
        QCOMPARE(g.at("lm_head.weight").values, g.at("transformer.wte.weight").values); // tied
        for (const auto& [n, t] : g.tensors)
            for (float v : t.values)
                QVERIFY(same_bits(v, io::round_to_storage(v, DType::F16)));
        auto stats = [](const std::vector<float>& v) {
            double s = 0, s2 = 0;
            for (float x : v)
                s += x, s2 += double(x) * x;
            const double m = s / double(v.size());
            return std::pair{m, std::sqrt(s2 / double(v.size()) - m * m)};
        };
        const auto [wm, ws] = stats(g.at("transformer.wte.weight").values); // 256k values ~ N(0, 1/64)
        QVERIFY2(std::abs(wm) < 0.002 && std::abs(ws - 0.125) < 0.002,
                 qPrintable(QString("%1 %2").arg(wm).arg(ws)));
        const auto [lm, ls] = stats(g.at("transformer.h.0.ln_1.weight").values);
        QVERIFY(std::abs(lm - 1.0) < 0.05 && ls > 0.05 && ls < 0.15);
        // The prefix and the shard layout do not change values; the seed does.
        spec.prefix = false, spec.shards = 3;
        const auto bare = tools::generate(spec);
        QCOMPARE(bare.at("h.1.mlp.c_fc.weight").values, g.at("transformer.h.1.mlp.c_fc.weight").values);
        spec.seed = 1;
        QVERIFY(tools::generate(spec).at("h.1.mlp.c_fc.weight").values !=
                bare.at("h.1.mlp.c_fc.weight").values);
        // Different tensors get different streams.
        QVERIFY(bare.at("h.0.ln_1.bias").values != bare.at("h.0.ln_2.bias").values);
    }

    void normalRng() {
        tools::NormalRng a(7), b(7);
        const int n = 1000000;
        double s = 0, s2 = 0;
        int over1 = 0, over2 = 0, tail = 0;
        for (int i = 0; i < n; ++i) {
            const double x = a.next();
            QCOMPARE(x, b.next());
            s += x, s2 += x * x;
            over1 += std::abs(x) > 1, over2 += std::abs(x) > 2, tail += std::abs(x) > 3.6541528853610088;
        }
        QVERIFY(std::abs(s / n) < 0.005);
        QVERIFY(std::abs(s2 / n - 1.0) < 0.01);
        QVERIFY(std::abs(over1 / double(n) - 0.31731) < 0.003);                // P(|Z| > 1)
        QVERIFY(std::abs(over2 / double(n) - 0.045500) < 0.001);               // P(|Z| > 2)
        QVERIFY2(tail > 180 && tail < 340, qPrintable(QString::number(tail))); // 258 expected beyond r
    }

    void tokenizerJson_data() {
        QTest::addColumn<int>("vocab");
        QTest::newRow("minimum 257: bytes and <|endoftext|> only") << 257;
        QTest::newRow("512: merges fill the vocabulary") << 512;
        QTest::newRow("50257: merges run out first") << 50257;
    }
    void tokenizerJson() {
        QFETCH(int, vocab);
        const json t = json::parse(tools::make_tokenizer_json(vocab));
        expect_subset(t,
                      R"({"pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true,
            "trim_offsets": true}, "normalizer": null})");
        expect_subset(t["model"],
                      R"({"type": "BPE", "continuing_subword_prefix": "", "end_of_word_suffix": ""})");
        QCOMPARE(t["decoder"]["type"], "ByteLevel");
        QCOMPARE(t["added_tokens"], json::parse(R"([{"id": )" + std::to_string(vocab - 1) + R"(, "content":
            "<|endoftext|>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": true,
            "special": true}])"));
        const json& v = t["model"]["vocab"];
        // GPT-2's byte characters and ids (ÿ 187, Ā 188, Ċ 198, Ġ 220), and <|endoftext|> last.
        expect_subset(v, R"({"!": 0, "~": 93, "\u00ff": 187, "\u0100": 188, "\u010a": 198, "\u0120": 220})");
        QCOMPARE(v["<|endoftext|>"], vocab - 1);
        std::vector<int> ids;
        for (const auto& [k, id] : v.items())
            ids.push_back(id.get<int>());
        std::sort(ids.begin(), ids.end());
        for (std::size_t i = 0; i + 1 < ids.size(); ++i)
            QCOMPARE(ids[i], int(i)); // dense, then vocab-1
        QCOMPARE(ids.back(), vocab - 1);
        QVERIFY(int(ids.size()) <= vocab);
        const json& merges = t["model"]["merges"];
        if (vocab == 257) QCOMPARE(merges.size(), std::size_t(0));
        if (vocab == 512) QCOMPARE(int(v.size()), 512);
        if (vocab == 50257) QVERIFY(merges.size() > 500 && int(v.size()) < vocab);
        for (const auto& m : merges) {
            const std::string s = m.get<std::string>();
            const auto sp = s.find(' ');
            QVERIFY(sp != std::string::npos && s.find(' ', sp + 1) == std::string::npos);
            QVERIFY2(v.contains(s.substr(0, sp)) && v.contains(s.substr(sp + 1)), s.c_str());
            QVERIFY2(v.contains(s.substr(0, sp) + s.substr(sp + 1)), s.c_str());
        }
        if (vocab >= 512) {
            QVERIFY(v.contains("\xc4\xa0the")); // "Ġthe": common English words get their own token
            QCOMPARE(merges[0], "\xc4\xa0 t");
        }
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, tools::make_tokenizer_json(256));
    }

    void sameSeedSameBytes_data() {
        QTest::addColumn<tools::Family>("family");
        QTest::addColumn<int>("shards");
        QTest::newRow("gpt2 single file") << tools::Family::GPT2 << 1;
        QTest::newRow("gpt_neo 2 shards") << tools::Family::GPTNeo << 2;
        QTest::newRow("gpt_neox 3 shards") << tools::Family::GPTNeoX << 3;
        QTest::newRow("llama 2 shards") << tools::Family::Llama << 2;
        QTest::newRow("mistral single file") << tools::Family::Mistral << 1;
        QTest::newRow("qwen2 3 shards") << tools::Family::Qwen2 << 3;
        QTest::newRow("qwen3 2 shards") << tools::Family::Qwen3 << 2;
        QTest::newRow("gemma single file") << tools::Family::Gemma << 1;
        QTest::newRow("gemma2 4 shards") << tools::Family::Gemma2 << 4;
        QTest::newRow("gemma3_text 3 shards") << tools::Family::Gemma3 << 3;
    }
    void sameSeedSameBytes() {
        QFETCH(tools::Family, family);
        QFETCH(int, shards);
        auto spec = tools::is_llama_style(family) ? small_llama(family) : small_spec(family);
        spec.shards = shards, spec.seed = 1234, spec.storage = DType::BF16, spec.buffers = true;
        spec.untied = family == tools::Family::Llama || family == tools::Family::Gemma2;
        const fs::path a = fresh("seed"), b = fresh("seed"), c = fresh("seed"), d = fresh("seed");
        const auto sa = tools::write_checkpoint_streaming(spec, a);
        tools::write_checkpoint_streaming(spec, b);
        tools::write_checkpoint(tools::generate(spec), spec, c); // in memory: same bytes as streaming
        QCOMPARE(int(sa.files.size()), 2 + shards + (shards > 1 ? 1 : 0));
        for (const auto& f : sa.files) {
            const auto name = f.filename();
            QVERIFY(!read_all(a / name).isEmpty());
            QVERIFY2(read_all(a / name) == read_all(b / name), name.c_str());
            QVERIFY2(read_all(a / name) == read_all(c / name), name.c_str());
        }
        spec.seed = 1235;
        tools::write_checkpoint_streaming(spec, d);
        const auto weights = shards == 1
                                 ? fs::path("model.safetensors")
                                 : fs::path("model-00001-of-0000" + std::to_string(shards) + ".safetensors");
        QVERIFY(read_all(a / weights) != read_all(d / weights));
        QCOMPARE(read_all(a / "tokenizer.json"), read_all(d / "tokenizer.json"));
        // Rewriting a folder with fewer shards leaves no stale shards behind.
        spec.shards = 1;
        tools::write_checkpoint_streaming(spec, a);
        QCOMPARE(int(io::Checkpoint::open(a).files().size()), 1);
        QVERIFY(!fs::exists(a / "model.safetensors.index.json"));
    }

    void specValidation_data() {
        QTest::addColumn<SpecEdit>("edit");
        QTest::addColumn<QString>("message");
        auto row = [](const char* n, SpecEdit e, const char* m) { QTest::newRow(n) << e << QString(m); };
        row(
            "d_model not divisible by heads", [](auto& s) { s.d_model = 9; }, "not divisible by n_heads");
        row(
            "vocab 256", [](auto& s) { s.vocab = 256; }, "vocab must be at least 257");
        row(
            "odd rotary dims", [](auto& s) { s.rotary_pct = 0.25; }, "must be even"); // d_head 4 -> 1 dim
        row(
            "zero shards", [](auto& s) { s.shards = 0; }, "shards must be between");
        row(
            "storage I32", [](auto& s) { s.storage = DType::I32; }, "storage must be F32, F16 or BF16");
        row(
            "negative scale", [](auto& s) { s.scale = -1; }, "scale must be >= 0");
        row(
            "unknown preset", [](auto& s) { s = tools::preset("gpt-5"); }, "unknown preset 'gpt-5'");
    }
    void specValidation() {
        QFETCH(SpecEdit, edit);
        QFETCH(QString, message);
        auto s = small_spec(tools::Family::GPTNeoX);
        QString got = "no exception";
        try {
            edit(s);
            tools::generate(s);
        } catch (const std::invalid_argument& e) {
            got = e.what();
        }
        QVERIFY2(got.contains(message), qPrintable(got));
    }

    // The Llama-style families' state dicts, hand-written from the Hugging Face modeling files (small_llama:
    // d 8, 2 heads on 1 KV head, head_dim 4 or 6, d_mlp 32, vocab 300). "/" marks a name never prefixed.
    void llamaStyleNames_data() {
        QTest::addColumn<tools::Family>("family");
        QTest::addColumn<QString>("options"); // letters: b attention_bias, m mlp_bias, u untied, l lm_head,
                                              // B buffers, n no prefix
        QTest::addColumn<QStringList>("expected");
        const QString attn4 = "L.self_attn.q_proj.weight [8,8]; L.self_attn.k_proj.weight [4,8]; "
                              "L.self_attn.v_proj.weight [4,8]; L.self_attn.o_proj.weight [8,8]; ";
        const QString attn6 = "L.self_attn.q_proj.weight [12,8]; L.self_attn.k_proj.weight [6,8]; "
                              "L.self_attn.v_proj.weight [6,8]; L.self_attn.o_proj.weight [8,12]; ";
        const QString mlp =
            "L.mlp.gate_proj.weight [32,8]; L.mlp.up_proj.weight [32,8]; "
            "L.mlp.down_proj.weight [8,32]; L.input_layernorm.weight [8]; "
            "L.post_attention_layernorm.weight [8]; embed_tokens.weight [300,8]; norm.weight [8]";
        const QString sandwich =
            "; L.pre_feedforward_layernorm.weight [8]; L.post_feedforward_layernorm.weight [8]";
        const QString qk6 = "L.self_attn.q_norm.weight [6]; L.self_attn.k_norm.weight [6]; ";
        auto expand = [](const QString& prefix, const QString& list) {
            QStringList out;
            for (QString e : list.split("; ")) {
                e = e.startsWith('/') ? e.mid(1) : prefix + e;
                for (const char* i : {"0", "1"})
                    out << QString(e).replace("L.", QString("layers.") + i + ".") + " F32";
            }
            out.removeDuplicates();
            out.sort();
            return out;
        };
        using F = tools::Family;
        const QString m = "model.";
        QTest::newRow("llama") << F::Llama << "" << expand(m, attn4 + mlp);
        QTest::newRow("llama biases, untied")
            << F::Llama << "bmu"
            << expand(
                   m,
                   attn4 + mlp +
                       "; L.self_attn.q_proj.bias [8]; L.self_attn.k_proj.bias [4]; L.self_attn.v_proj.bias "
                       "[4]; L.self_attn.o_proj.bias [8]; L.mlp.gate_proj.bias [32]; L.mlp.up_proj.bias "
                       "[32]; "
                       "L.mlp.down_proj.bias [8]; /lm_head.weight [300,8]");
        QStringList buffers = expand("", attn4 + mlp + "; /lm_head.weight [300,8]");
        buffers << "layers.0.self_attn.rotary_emb.inv_freq [2] F32"
                << "layers.1.self_attn.rotary_emb.inv_freq [2] F32";
        buffers.sort();
        QTest::newRow("llama bare, tied lm_head copy, buffers") << F::Llama << "lBn" << buffers;
        QTest::newRow("mistral") << F::Mistral << "" << expand(m, attn4 + mlp);
        QTest::newRow("qwen2 (q/k/v biases, no o bias)")
            << F::Qwen2 << ""
            << expand(m, attn4 + mlp +
                             "; L.self_attn.q_proj.bias [8]; L.self_attn.k_proj.bias [4]; "
                             "L.self_attn.v_proj.bias [4]");
        QTest::newRow("qwen3 (q/k norms, head_dim 6)") << F::Qwen3 << "" << expand(m, attn6 + qk6 + mlp);
        QTest::newRow("qwen3 attention_bias")
            << F::Qwen3 << "b"
            << expand(
                   m,
                   attn6 + qk6 + mlp +
                       "; L.self_attn.q_proj.bias [12]; L.self_attn.k_proj.bias [6]; L.self_attn.v_proj.bias "
                       "[6]; L.self_attn.o_proj.bias [8]");
        QTest::newRow("gemma") << F::Gemma << "" << expand(m, attn6 + mlp);
        QTest::newRow("gemma2 (four norms)") << F::Gemma2 << "" << expand(m, attn6 + mlp + sandwich);
        QTest::newRow("gemma3_text (four norms, q/k norms)")
            << F::Gemma3 << "" << expand(m, attn6 + qk6 + mlp + sandwich);
    }
    void llamaStyleNames() {
        QFETCH(tools::Family, family);
        QFETCH(QString, options);
        QFETCH(QStringList, expected);
        auto spec = small_llama(family);
        spec.attention_bias = options.contains('b'), spec.mlp_bias = options.contains('m');
        spec.untied = options.contains('u'), spec.lm_head = options.contains('l');
        spec.buffers = options.contains('B'), spec.prefix = !options.contains('n');
        QStringList in_memory, layout, on_disk;
        const auto g = tools::generate(spec);
        for (const auto& [n, t] : g.tensors)
            in_memory << entry(n, t.shape, g.dtypes.at(n));
        for (const auto& l : tools::tensor_layout(spec))
            layout << entry(l.name, l.shape, l.dtype);
        const fs::path dir = fresh("llama_names");
        tools::write_checkpoint_streaming(spec, dir);
        const auto c = io::Checkpoint::open(dir);
        for (const auto& n : c.names())
            on_disk << entry(n, c.get(n).shape, c.get(n).dtype);
        in_memory.sort(), layout.sort();
        QCOMPARE(in_memory, expected);
        QCOMPARE(layout, expected);
        QCOMPARE(on_disk, expected);
        if (spec.buffers) { // unscaled 1 / 10000^(2i/4)
            QCOMPARE(decode(c.get("layers.1.self_attn.rotary_emb.inv_freq")),
                     (std::vector<float>{1.0f, 0.01f}));
        }
        const bool tied_copy = spec.lm_head && !spec.untied;
        if (tied_copy) QCOMPARE(g.at("lm_head.weight").values, g.at("embed_tokens.weight").values);
        if (spec.untied) {
            QVERIFY(g.at("lm_head.weight").values != g.at("model.embed_tokens.weight").values);
            QCOMPARE(g.config["tie_word_embeddings"], false);
        } else {
            QCOMPARE(g.config["tie_word_embeddings"], true);
        }
    }

    // Each family's config.json keys, as its Hugging Face configuration class reads them.
    void llamaStyleConfig() {
        using F = tools::Family;
        auto s = small_llama(F::Llama);
        s.rope_theta = 500000, s.rope_scaling = "llama3", s.rope_factor = 32,
        s.rope_original_max_positions = 8192;
        s.mlp_bias = true, s.ln_eps = 1e-5;
        expect_subset(tools::make_config(s), R"({"model_type": "llama", "architectures": ["LlamaForCausalLM"],
            "hidden_size": 8, "intermediate_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
            "num_key_value_heads": 1, "max_position_embeddings": 16, "vocab_size": 300, "rms_norm_eps": 1e-5,
            "rope_theta": 500000.0, "rope_scaling": {"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0,
            "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}, "tie_word_embeddings": true,
            "hidden_act": "silu", "attention_bias": false, "mlp_bias": true, "eos_token_id": 299})");
        QVERIFY(!tools::make_config(s).contains("head_dim")); // d_model / n_heads: not written
        s.head_dim = 6, s.rope_scaling = "linear", s.rope_factor = 2;
        expect_subset(tools::make_config(s),
                      R"({"head_dim": 6, "rope_scaling": {"rope_type": "linear", "factor": 2.0}})");

        s = small_llama(F::Mistral);
        expect_subset(tools::make_config(s),
                      R"({"model_type": "mistral", "architectures": ["MistralForCausalLM"],
            "sliding_window": null, "rope_theta": 10000.0, "rope_scaling": null, "hidden_act": "silu"})");
        QVERIFY(!tools::make_config(s).contains("attention_bias"));
        s.sliding_window = 4096;
        expect_subset(tools::make_config(s), R"({"sliding_window": 4096})");

        s = tools::preset("qwen2.5-0.5b");
        expect_subset(tools::make_config(s), R"({"model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"],
            "hidden_size": 896, "num_key_value_heads": 2, "use_sliding_window": false, "sliding_window": 32768,
            "max_window_layers": 24, "rope_theta": 1000000.0, "rms_norm_eps": 1e-6, "tie_word_embeddings": true,
            "max_position_embeddings": 32768, "vocab_size": 151936})");
        s = tools::preset("tiny", F::Qwen2);
        s.layer_types = {"full_attention", "sliding_attention"};
        expect_subset(tools::make_config(s), R"({"use_sliding_window": true, "sliding_window": 4,
            "max_window_layers": 1, "layer_types": ["full_attention", "sliding_attention"]})");

        s = tools::preset("qwen3-0.6b");
        expect_subset(tools::make_config(s), R"({"model_type": "qwen3", "architectures": ["Qwen3ForCausalLM"],
            "head_dim": 128, "hidden_size": 1024, "num_attention_heads": 16, "num_key_value_heads": 8,
            "attention_bias": false, "sliding_window": null, "use_sliding_window": false, "max_window_layers": 28,
            "max_position_embeddings": 40960})");

        s = small_llama(F::Gemma);
        expect_subset(tools::make_config(s), R"({"model_type": "gemma", "architectures": ["GemmaForCausalLM"],
            "head_dim": 6, "hidden_act": "gelu_pytorch_tanh", "hidden_activation": "gelu_pytorch_tanh",
            "tie_word_embeddings": true, "attention_bias": false})");

        s = tools::preset("gemma-2-2b");
        expect_subset(tools::make_config(s),
                      R"({"model_type": "gemma2", "architectures": ["Gemma2ForCausalLM"],
            "head_dim": 256, "hidden_size": 2304, "intermediate_size": 9216, "num_hidden_layers": 26,
            "num_attention_heads": 8, "num_key_value_heads": 4, "query_pre_attn_scalar": 256,
            "attn_logit_softcapping": 50.0, "final_logit_softcapping": 30.0, "sliding_window": 4096,
            "hidden_activation": "gelu_pytorch_tanh", "vocab_size": 256000, "cache_implementation": "hybrid"})");
        s = small_llama(F::Gemma2);
        s.sliding_window = 0; // the family default
        expect_subset(tools::make_config(s), R"({"sliding_window": 4096, "attn_logit_softcapping": null,
            "final_logit_softcapping": null, "query_pre_attn_scalar": 6})");

        s = tools::preset("gemma-3-1b");
        expect_subset(tools::make_config(s),
                      R"({"model_type": "gemma3_text", "architectures": ["Gemma3ForCausalLM"],
            "head_dim": 256, "hidden_size": 1152, "intermediate_size": 6912, "num_key_value_heads": 1,
            "rope_theta": 1000000.0, "rope_local_base_freq": 10000.0, "sliding_window": 512,
            "sliding_window_pattern": 6, "query_pre_attn_scalar": 256, "attn_logit_softcapping": null,
            "final_logit_softcapping": null, "rope_scaling": null, "vocab_size": 262144,
            "max_position_embeddings": 32768, "hidden_activation": "gelu_pytorch_tanh"})");
        QVERIFY(!tools::make_config(s).contains("hidden_act"));
    }

    // Values: RMSNorm weights near 1 (Llama style) or near 0 (Gemma, applied as 1 + w); the prefix does not
    // change values; the untied head has its own stream.
    void llamaStyleValues() {
        auto s = small_llama(tools::Family::Llama);
        s.d_model = 512, s.n_heads = 8, s.head_dim = 64, s.untied = true;
        auto stats = [](const std::vector<float>& v) {
            double a = 0, a2 = 0;
            for (float x : v)
                a += x, a2 += double(x) * x;
            const double mean = a / double(v.size());
            return std::pair{mean, std::sqrt(a2 / double(v.size()) - mean * mean)};
        };
        const auto g = tools::generate(s);
        const auto [lm, ls] = stats(g.at("model.layers.0.input_layernorm.weight").values);
        QVERIFY2(std::abs(lm - 1.0) < 0.02 && std::abs(ls - 0.1) < 0.015,
                 qPrintable(QString("%1 %2").arg(lm).arg(ls)));
        const auto [wm, ws] = stats(g.at("model.layers.1.mlp.down_proj.weight").values);
        QVERIFY(std::abs(wm) < 0.002 && std::abs(ws - 1.0 / std::sqrt(512.0)) < 0.002);
        s.family = tools::Family::Gemma2;
        const auto gg = tools::generate(s);
        for (const char* n : {"input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm",
                              "post_feedforward_layernorm"}) {
            const auto [gm, gs] = stats(gg.at("model.layers.1." + std::string(n) + ".weight").values);
            QVERIFY2(std::abs(gm) < 0.02 && std::abs(gs - 0.1) < 0.015, n);
        }
        s.prefix = false;
        const auto bare = tools::generate(s);
        QCOMPARE(bare.at("layers.1.self_attn.k_proj.weight").values,
                 gg.at("model.layers.1.self_attn.k_proj.weight").values);
        QCOMPARE(bare.at("lm_head.weight").values, gg.at("lm_head.weight").values);
        QVERIFY(bare.at("lm_head.weight").values != bare.at("embed_tokens.weight").values);
    }

    // The tiny presets switch each family's features on (the reference's tests rely on these).
    void tinyPresets() {
        using F = tools::Family;
        for (F f : {F::Llama, F::Mistral, F::Qwen2, F::Qwen3, F::Gemma, F::Gemma2, F::Gemma3}) {
            const auto s = tools::preset("tiny", f);
            QCOMPARE(s.family, f);
            QCOMPARE(s.n_heads, 4);
            QCOMPARE(s.kv_heads(), 2);
            QCOMPARE(s.d_model, 64);
            QCOMPARE(s.mlp_dim(), 128);
            QCOMPARE(s.vocab, 512);
            QCOMPARE(s.n_layers, f == F::Gemma3 ? 3 : 2);
            QCOMPARE(s.d_head(), f == F::Qwen3 || tools::is_gemma(f) ? 24 : 16);
            s.validate();
            const json c = tools::make_config(s);
            QCOMPARE(c["model_type"].get<std::string>(), std::string(tools::family_name(f)));
        }
        expect_subset(tools::make_config(tools::preset("tiny", F::Llama)),
                      R"({"rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
            "high_freq_factor": 4.0, "original_max_position_embeddings": 32}})");
        expect_subset(tools::make_config(tools::preset("tiny", F::Mistral)), R"({"sliding_window": 4})");
        expect_subset(
            tools::make_config(tools::preset("tiny", F::Gemma2)),
            R"({"sliding_window": 4, "attn_logit_softcapping": 5.0, "final_logit_softcapping": 3.0})");
        expect_subset(tools::make_config(tools::preset("tiny", F::Gemma3)),
                      R"({"sliding_window": 4, "sliding_window_pattern": 3, "num_hidden_layers": 3})");
        // The old families' tiny preset is unchanged.
        const auto neox = tools::preset("tiny", F::GPTNeoX);
        QCOMPARE(neox.mlp_dim(), 256);
        QCOMPARE(neox.d_head(), 16);
    }

    // Real models' shapes: parameter counts from the layout against the published figures.
    void llamaStylePresetCounts_data() {
        QTest::addColumn<QString>("name");
        QTest::addColumn<qulonglong>("params");
        QTest::addColumn<tools::Family>("family");
        using F = tools::Family;
        QTest::newRow("llama-3.2-1b (1.24B)") << "llama-3.2-1b" << qulonglong(1235814400) << F::Llama;
        QTest::newRow("llama-3.1-8b (8.03B)") << "llama-3.1-8b" << qulonglong(8030261248) << F::Llama;
        QTest::newRow("smollm2-135m (134.5M)") << "smollm2-135m" << qulonglong(134515008) << F::Llama;
        QTest::newRow("tinyllama-1.1b") << "tinyllama-1.1b" << qulonglong(1100048384) << F::Llama;
        QTest::newRow("mistral-7b (7.24B)") << "mistral-7b" << qulonglong(7241732096) << F::Mistral;
        QTest::newRow("qwen2.5-0.5b (0.49B)") << "qwen2.5-0.5b" << qulonglong(494032768) << F::Qwen2;
        QTest::newRow("qwen3-0.6b (0.6B, 0.44B non-embedding)")
            << "qwen3-0.6b" << qulonglong(596049920) << F::Qwen3;
        QTest::newRow("gemma-2b (2.51B)") << "gemma-2b" << qulonglong(2506172416) << F::Gemma;
        QTest::newRow("gemma-2-2b (2.61B)") << "gemma-2-2b" << qulonglong(2614341888) << F::Gemma2;
        QTest::newRow("gemma-3-1b (1B)") << "gemma-3-1b" << qulonglong(999885952) << F::Gemma3;
    }
    void llamaStylePresetCounts() {
        QFETCH(QString, name);
        QFETCH(qulonglong, params);
        QFETCH(tools::Family, family);
        const auto s = tools::preset(name.toStdString());
        QCOMPARE(s.family, family);
        QVERIFY(tools::preset_fixes_family(name.toStdString()));
        QCOMPARE(qulonglong(parameter_count(s)), params);
        if (name == "qwen3-0.6b") { // without the (tied) embedding
            QCOMPARE(qulonglong(parameter_count(s) - std::uint64_t(s.vocab) * s.d_model),
                     qulonglong(440467456));
        }
    }

    void llamaStyleValidation_data() {
        QTest::addColumn<tools::Family>("family");
        QTest::addColumn<SpecEdit>("edit");
        QTest::addColumn<QString>("message");
        using F = tools::Family;
        auto row = [](const char* n, F f, SpecEdit e, const char* m) {
            QTest::newRow(n) << f << e << QString(m);
        };
        row(
            "kv heads do not divide heads", F::Llama, [](auto& s) { s.n_kv_heads = 3; },
            "not divisible by n_kv_heads");
        row(
            "odd head_dim", F::Qwen3, [](auto& s) { s.head_dim = 5; }, "must be even");
        row(
            "d_model / heads without head_dim", F::Llama, [](auto& s) { s.d_model = 9; }, "or give head_dim");
        row(
            "unknown rope scaling", F::Llama, [](auto& s) { s.rope_scaling = "yarn"; },
            "rope_scaling must be");
        row(
            "llama3 high <= low", F::Llama,
            [](auto& s) { s.rope_scaling = "llama3", s.rope_high_freq_factor = 1; },
            "low_freq_factor < high");
        row(
            "softcap on llama", F::Llama, [](auto& s) { s.attn_softcap = 5; },
            "llama has no logit soft-capping");
        row(
            "mlp_bias on qwen2", F::Qwen2, [](auto& s) { s.mlp_bias = true; }, "mlp_bias is a llama option");
        row(
            "attention_bias on mistral", F::Mistral, [](auto& s) { s.attention_bias = true; },
            "mistral has no attention_bias");
        row(
            "layer_types on llama", F::Llama,
            [](auto& s) {
                s.layer_types = {"full_attention", "full_attention"};
            },
            "llama has no layer_types");
        row(
            "layer_types count", F::Gemma2, [](auto& s) { s.layer_types = {"full_attention"}; },
            "1 entries for 2");
        row(
            "layer_types unknown", F::Qwen3,
            [](auto& s) {
                s.layer_types = {"full_attention", "chunked"};
            },
            "unknown layer type");
        row(
            "sliding layer without window", F::Qwen3,
            [](auto& s) {
                s.layer_types = {"full_attention", "sliding_attention"};
            },
            "no sliding window");
        row(
            "use_sliding_window without window", F::Qwen2, [](auto& s) { s.use_sliding_window = true; },
            "needs sliding_window");
        row(
            "sliding_window_pattern on gemma2", F::Gemma2, [](auto& s) { s.sliding_window_pattern = 2; },
            "gemma3 option");
    }
    void llamaStyleValidation() {
        QFETCH(tools::Family, family);
        QFETCH(SpecEdit, edit);
        QFETCH(QString, message);
        auto s = small_llama(family);
        QString got = "no exception";
        try {
            edit(s);
            tools::generate(s);
        } catch (const std::invalid_argument& e) {
            got = e.what();
        }
        QVERIFY2(got.contains(message), qPrintable(got));
    }

    void tokenizerMaxId() {
        QCOMPARE(tools::tokenizer_max_id(tools::make_tokenizer_json(300)), std::int64_t(299));
        QCOMPARE(tools::tokenizer_max_id(R"({"model": {"type": "Unigram", "vocab": [["a", 0], ["b", -1]]},
            "added_tokens": [{"id": 7, "content": "<x>"}]})"),
                 std::int64_t(7));
        QCOMPARE(tools::tokenizer_max_id(R"({"model": {"vocab": [["a", 0], ["b", -1], ["c", -2]]}})"),
                 std::int64_t(2));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, tools::tokenizer_max_id("[]"));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, tools::tokenizer_max_id(R"({"model": {}})"));
    }

    // Every family's tiny checkpoint runs through the naive reference (every tensor used, every config key
    // understood), with the family's features in effect on a 10-token prompt.
    void tinyPresetsThroughReference_data() {
        QTest::addColumn<tools::Family>("family");
        QTest::addColumn<QList<int>>("windows");
        using F = tools::Family;
        QTest::newRow("llama") << F::Llama << QList<int>{0, 0};
        QTest::newRow("mistral") << F::Mistral << QList<int>{4, 4};
        QTest::newRow("qwen2") << F::Qwen2 << QList<int>{0, 4};
        QTest::newRow("qwen3") << F::Qwen3 << QList<int>{0, 0};
        QTest::newRow("gemma") << F::Gemma << QList<int>{0, 0};
        QTest::newRow("gemma2") << F::Gemma2 << QList<int>{4, 0};
        QTest::newRow("gemma3_text") << F::Gemma3 << QList<int>{4, 4, 0};
    }
    void tinyPresetsThroughReference() {
        QFETCH(tools::Family, family);
        QFETCH(QList<int>, windows);
        auto s = tools::preset("tiny", family);
        s.storage = DType::BF16, s.untied = family == tools::Family::Qwen3;
        const auto g = tools::generate(s);
        obsprop::naive::Weights w;
        for (const auto& [n, t] : g.tensors)
            w[n] = obsprop::naive::Tensor{t.shape, t.values};
        const std::vector<int> ids = {3, 141, 59, 265, 35, 89, 79, 323, 84, 62};
        const auto tr = obsprop::naive::run(g.config, w, ids);
        QCOMPARE(int(tr.window.size()), windows.size());
        for (int l = 0; l < windows.size(); ++l) {
            QCOMPARE(tr.window[std::size_t(l)], std::int64_t(windows[l]));
            QCOMPARE(tr.pattern[std::size_t(l)][3][9][0] == 0.0, windows[l] > 0); // key 0 is outside 4 keys
        }
        QCOMPARE(tr.inv_freq[0].size(), std::size_t(s.d_head() / 2));
        if (family == tools::Family::Llama) { // the three llama3 bands of the tiny preset
            QCOMPARE(tr.inv_freq[0][0], 1.0);
            const double b1 = std::pow(10000.0, -1.0 / 8);
            QVERIFY(tr.inv_freq[0][1] < b1 && tr.inv_freq[0][1] > b1 / 8);
            for (std::size_t i = 2; i < 8; ++i)
                QVERIFY(std::abs(tr.inv_freq[0][i] * 8 / std::pow(10000.0, -double(i) / 8) - 1) < 1e-6);
        }
        if (family == tools::Family::Gemma3)
            QVERIFY(tr.inv_freq[0] != tr.inv_freq[2]); // local vs global theta
        if (family == tools::Family::Gemma2) {         // the soft-caps change the result measurably
            json uncapped = g.config;
            uncapped["attn_logit_softcapping"] = nullptr, uncapped["final_logit_softcapping"] = nullptr;
            const auto raw = obsprop::naive::run(uncapped, w, ids);
            double logit = 0, change = 0, pattern = 0;
            for (std::size_t t = 0; t < ids.size(); ++t) {
                for (std::size_t v = 0; v < 512; ++v) {
                    logit = std::max(logit, std::abs(raw.logits[t][v]));
                    QVERIFY(std::abs(tr.logits[t][v]) < 3.0);
                }
                for (std::size_t h = 0; h < 4; ++h)
                    for (std::size_t j = 0; j <= t; ++j)
                        pattern =
                            std::max(pattern, std::abs(tr.pattern[1][h][t][j] - raw.pattern[1][h][t][j]));
                change = std::max(change, std::abs(tr.resid_final[t][0] - raw.resid_final[t][0]));
            }
            qInfo("gemma2 tiny: largest uncapped logit %.3f (cap 3), largest pattern change %.4f (cap 5)",
                  logit, pattern);
            QVERIFY(logit > 3.0);
            QVERIFY(pattern > 1e-3 && change > 1e-4);
        }
    }

    void presets() {
        const auto neo = tools::preset("gpt-neo-1.3b");
        QCOMPARE(neo.family, tools::Family::GPTNeo);
        QCOMPARE(neo.n_layers, 24);
        QCOMPARE(neo.d_model, 2048);
        QCOMPARE(neo.n_heads, 16);
        QCOMPARE(neo.vocab, 50257);
        std::uint64_t params = 0;
        for (const auto& l : tools::tensor_layout(neo))
            params += io::writable_numel(l);
        QCOMPARE(params, std::uint64_t(1315575808)); // GPT-Neo-1.3B's published parameter count
        const auto tiny = tools::preset("tiny", tools::Family::GPTNeoX);
        QCOMPARE(tiny.family, tools::Family::GPTNeoX);
        for (const auto& n : tools::preset_names())
            tools::preset(n).validate();
    }
};

QTEST_APPLESS_MAIN(TestCheckpointGen)
#include "tst_checkpoint_gen.moc"
