// The random-checkpoint generator: names, shapes, configs, values, tokenizer and determinism.
#include "safetensors_test_util.h"

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
    }
    void sameSeedSameBytes() {
        QFETCH(tools::Family, family);
        QFETCH(int, shards);
        auto spec = small_spec(family);
        spec.shards = shards, spec.seed = 1234, spec.storage = DType::BF16, spec.buffers = true;
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
