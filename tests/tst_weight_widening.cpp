// Weights kept in their stored dtype (BF16/F16) and widened on demand give the same numbers as the same
// values stored as F32 (the zero-copy path): forward passes, all-head features, 2-head ranking and SVD
// alignment, for every family; and the memory budget that bounds the float32 copies.
#include <QtTest>

#include <cmath>
#include <limits>
#include <string>

#include "model/runtime.h"
#include "model/transformer.h"
#include "model/widening.h"
#include "obsprop/features.h"
#include "obsprop/ranking.h"
#include "obsprop/svd.h"
#include "test_models.h"

using obsprop::io::DType;
using obsprop::tools::Family;
using torch::Tensor;

namespace {

// max |a − b| / (1 + max |b|): relative to the scale of the reference.
double rel_diff(const Tensor& a, const Tensor& b) {
    const Tensor x = a.to(torch::kDouble), y = b.to(torch::kDouble);
    const Tensor finite = torch::isfinite(y);
    return ((x - y).abs().masked_select(finite).max() / (1 + y.abs().masked_select(finite).max()))
        .item<double>();
}

struct Pair {
    QTemporaryDir dir;
    std::shared_ptr<obsprop::model::Transformer> stored, f32;
};

// The same values twice: stored as `storage` and as F32 (generate() rounds them to the storage dtype in
// memory, so the F32 copy holds exactly the widened values).
std::unique_ptr<Pair> make_pair(Family family, DType storage, int shards = 1) {
    auto p = std::make_unique<Pair>();
    auto spec = obsprop::tools::preset("tiny", family);
    spec.seed = 11;
    spec.storage = storage;
    spec.shards = shards;
    const auto gen = obsprop::tools::generate(spec);
    const std::string a = p->dir.path().toStdString() + "/stored", b = p->dir.path().toStdString() + "/f32";
    obsprop::tools::write_checkpoint(gen, spec, a);
    auto spec32 = spec;
    spec32.storage = DType::F32;
    auto gen32 = gen;
    for (auto& [name, dtype] : gen32.dtypes)
        if (dtype == storage) dtype = DType::F32;
    obsprop::tools::write_checkpoint(gen32, spec32, b);
    p->stored = obsprop::model::Transformer::load(a);
    p->f32 = obsprop::model::Transformer::load(b);
    return p;
}

obsprop::Observable observable(const std::string& name, int plus, int minus) {
    obsprop::Observable o;
    o.name = name;
    o.terms = {{std::min(plus, minus), plus < minus ? 1.0 : -1.0},
               {std::max(plus, minus), plus < minus ? -1.0 : 1.0}};
    return o;
}

} // namespace

class TstWeightWidening : public QObject {
    Q_OBJECT

  private Q_SLOTS:
    void sameAsFloat32_data() {
        QTest::addColumn<int>("family");
        QTest::addColumn<int>("storage");
        for (auto f : {Family::GPT2, Family::GPTNeo, Family::GPTNeoX, Family::Llama, Family::Mistral,
                       Family::Qwen2, Family::Qwen3, Family::Gemma, Family::Gemma2, Family::Gemma3})
            for (auto d : {DType::BF16, DType::F16})
                QTest::newRow(
                    (std::string(obsprop::io::family_name(f)) + " " + obsprop::io::dtype_name(d)).c_str())
                    << int(f) << int(d);
    }

    void sameAsFloat32() {
        QFETCH(int, family);
        QFETCH(int, storage);
        auto p = make_pair(Family(family), DType(storage), 2);
        const auto& s = *p->stored;
        const auto& f = *p->f32;
        // Nothing was widened at open: the matrices are the mapping's, in the stored dtype.
        const auto want = storage == int(DType::BF16) ? torch::kBFloat16 : torch::kHalf;
        QCOMPARE(s.weights().W_E.scalar_type(), want);
        QCOMPARE(s.weights().layers[0].W_O.scalar_type(), want);
        QCOMPARE(s.widening().converted_bytes, std::uint64_t(0));
        QVERIFY(s.weights().layers[0].ln1_w.scalar_type() == torch::kFloat);

        torch::NoGradGuard ng;
        const auto prompts = test_models::test_prompts(s.config().d_vocab, {7, 10, 3});
        const auto batch = obsprop::model::Batch::from(prompts);
        QVERIFY(rel_diff(s.forward(batch), f.forward(batch)) <= 1e-6);

        const std::vector<obsprop::Observable> obs = {observable("a", 5, 9), observable("b", 17, 3)};
        for (auto ln : {obsprop::LnMode::None, obsprop::LnMode::Approximate}) {
            obsprop::FeatureOptions o;
            o.block_ln = o.final_ln = ln;
            if (s.config().final_softcap > 0) { // the soft-cap is linearised at a final residual
                obsprop::model::RunOptions ro;
                ro.final_residual_only = ro.last_logits_only = true;
                o.final_residual = f.forward(obsprop::model::Batch::from({prompts[0]}), ro).reshape({-1});
            }
            const auto fs = obsprop::compute_head_features(s, obs, o);
            const auto ff = obsprop::compute_head_features(f, obs, o);
            for (std::size_t k = 0; k < obs.size(); ++k) {
                QVERIFY(rel_diff(fs[k].heads, ff[k].heads) <= 1e-6);
                QVERIFY(rel_diff(fs[k].norms, ff[k].norms) <= 1e-6);
            }
            const auto rs = obsprop::rank_virtual_heads(s, obs[0], o);
            const auto rf = obsprop::rank_virtual_heads(f, obs[0], o);
            QVERIFY(rel_diff(rs.norms, rf.norms) <= 1e-6);
            const auto as = obsprop::svd_alignment(s, fs[0], 3);
            const auto af = obsprop::svd_alignment(f, ff[0], 3);
            QVERIFY(rel_diff(as.sigma, af.sigma) <= 1e-6);
            QVERIFY(rel_diff(as.cosines.abs(), af.cosines.abs()) <= 1e-5);
        }
        // Asked again, the copies are reused, not converted again.
        const auto before = s.widening();
        QVERIFY(before.misses > 0 && before.cached_bytes > 0);
        (void)obsprop::compute_head_features(s, obs, {});
        const auto after = s.widening();
        QCOMPARE(after.cached_bytes, before.cached_bytes);
        QVERIFY(after.hits > before.hits);
        QCOMPARE(after.misses, before.misses);
        // The F32 checkpoint is read in place: nothing converted.
        QCOMPARE(f.weights().W_E.scalar_type(), torch::kFloat);
        QCOMPARE(f.widening().converted_bytes, std::uint64_t(0));
    }

    // Only the parts asked for are widened: the features read W_V and W_O, never the MLP or W_Q/W_K.
    void onlyThePartsAsked() {
        auto p = make_pair(Family::Llama, DType::BF16);
        const auto& s = *p->stored;
        const auto w = s.layer(1, obsprop::model::kValue | obsprop::model::kOutput);
        QCOMPARE(w.Wv.scalar_type(), torch::kFloat);
        QCOMPARE(w.W_O.scalar_type(), torch::kFloat);
        QCOMPARE(w.Wq.scalar_type(), torch::kBFloat16);
        QCOMPARE(w.W_in.scalar_type(), torch::kBFloat16);
        const auto& c = s.config();
        const std::uint64_t vo = sizeof(float) * (std::uint64_t(c.n_kv_heads) * c.d_head * c.d_model +
                                                  std::uint64_t(c.d_model) * c.n_heads * c.d_head);
        QCOMPARE(s.widening().converted_bytes, vo);
        // Exact values: bf16 → f32 is exact, so the copy equals the F32 checkpoint's view bit for bit.
        QVERIFY(torch::equal(w.W_O, p->f32->weights().layers[1].W_O));
    }

    // Under a budget smaller than the model, the copies never exceed it and the numbers do not change; a
    // tensor larger than the whole budget is refused, naming both sizes.
    void memoryBudget() {
        const auto& cs = obsprop::tools::preset("tiny", Family::GPTNeoX);
        // W_V and W_O are d·d floats (16 KB each): a 40 KB budget holds one layer's, not both layers'.
        const std::uint64_t budget = 40 * 1024;
        QCOMPARE(cs.d_model, 64);
        obsprop::model::set_memory_budget(budget);
        auto p = make_pair(Family::GPTNeoX, DType::BF16);
        obsprop::model::set_memory_budget(0);
        const auto& s = *p->stored;
        QCOMPARE(s.widening().budget, budget);
        const std::vector<obsprop::Observable> obs = {observable("a", 5, 9)};
        for (int i = 0; i < 3; ++i) {
            const auto fs = obsprop::compute_head_features(s, obs, {});
            const auto ff = obsprop::compute_head_features(*p->f32, obs, {});
            QVERIFY(rel_diff(fs[0].norms, ff[0].norms) <= 1e-6);
            QVERIFY(s.widening().cached_bytes <= budget);
        }
        const auto batch = obsprop::model::Batch::from({{1, 2, 3}});
        try {
            s.forward(batch);
            QFAIL("a forward pass needing a 49 kB float32 matrix ran under a 41 kB budget");
        } catch (const std::runtime_error& e) {
            const std::string m = e.what();
            // The first matrix the pass widens is layer 0's fused W_qkv, 3·64·64 floats.
            QVERIFY2(m.find("49.2 kB") != std::string::npos && m.find("41.0 kB") != std::string::npos &&
                         m.find("memory budget") != std::string::npos &&
                         m.find("layer 0") != std::string::npos,
                     m.c_str());
        }
    }

    // A one-shot command keeps no copies: it converts into a few reused buffers, with the same numbers.
    void reusedBuffers() {
        obsprop::model::set_keep_widened(false);
        auto p = make_pair(Family::Qwen3, DType::BF16);
        obsprop::model::set_keep_widened(true);
        const auto& s = *p->stored;
        const std::vector<obsprop::Observable> obs = {observable("a", 5, 9), observable("b", 1, 2)};
        for (int i = 0; i < 2; ++i) {
            const auto fs = obsprop::compute_head_features(s, obs, {});
            const auto ff = obsprop::compute_head_features(*p->f32, obs, {});
            for (std::size_t k = 0; k < obs.size(); ++k)
                QVERIFY(rel_diff(fs[k].heads, ff[k].heads) <= 1e-6);
        }
        torch::NoGradGuard ng;
        const auto batch = obsprop::model::Batch::from(test_models::test_prompts(s.config().d_vocab, {5, 9}));
        QVERIFY(rel_diff(s.forward(batch), p->f32->forward(batch)) <= 1e-6);
        // Two layers held at once (a layer's parts are all alive while its block runs): still the same.
        const auto l0 = s.layer(0), l1 = s.layer(1);
        QVERIFY(torch::equal(l0.W_O, p->f32->weights().layers[0].W_O));
        QVERIFY(torch::equal(l1.W_O, p->f32->weights().layers[1].W_O));
        QVERIFY(torch::equal(l0.W_in, p->f32->weights().layers[0].W_in));
        QCOMPARE(s.widening().cached_bytes, std::uint64_t(0));
        QCOMPARE(s.widening().hits, 0LL);
        QVERIFY(s.widening().converted_bytes > 0);
    }

    // Large tensors are converted in parts on several threads: every element, exactly as LibTorch's own
    // conversion gives it (including infinities, NaN and subnormals), for a transposed view too.
    void largeConversion() {
        obsprop::model::configure_threads(2);
        const std::int64_t rows = 1531, cols = 2053; // 3.1 M elements, an odd split
        Tensor src = (torch::randn({rows, cols}) * 1e3).to(torch::kBFloat16);
        src[0][0] = std::numeric_limits<float>::infinity();
        src[1][2] = std::numeric_limits<float>::quiet_NaN();
        src[rows - 1][cols - 1] = 1e-40f; // subnormal
        obsprop::model::WidenCache cache(1ull << 30, nullptr, false);
        const Tensor want = src.to(torch::kFloat);
        const Tensor got = cache.convert(src, "a test matrix", 0);
        QVERIFY(torch::equal(got.nan_to_num(7), want.nan_to_num(7)));
        QVERIFY(std::isnan(got[1][2].item<float>()));
        const Tensor gott = cache.convert(src.t(), "its transpose", 1);
        QVERIFY(torch::equal(gott.nan_to_num(7), want.t().nan_to_num(7)));
        const Tensor kept = cache.get(0, 2, src, "kept");
        QVERIFY(torch::equal(kept.nan_to_num(7), want.nan_to_num(7)));
    }

    void byteSizes() {
        using obsprop::model::parse_byte_size;
        QCOMPARE(parse_byte_size("123456"), std::uint64_t(123456));
        QCOMPARE(parse_byte_size("4G"), std::uint64_t(4) << 30);
        QCOMPARE(parse_byte_size("1.5 GiB"), std::uint64_t(3) << 29);
        QCOMPARE(parse_byte_size("512m"), std::uint64_t(512) << 20);
        QCOMPARE(parse_byte_size("800MB"), std::uint64_t(800) << 20);
        QCOMPARE(parse_byte_size("2k"), std::uint64_t(2048));
        for (const char* bad : {"", "G", "-1G", "1.2.3M", "12 parsecs", "0", "nan", "1e999"})
            QVERIFY_THROWS_EXCEPTION(std::invalid_argument, parse_byte_size(bad));
        QCOMPARE(obsprop::model::format_bytes(512), std::string("512 B"));
        QCOMPARE(obsprop::model::format_bytes(65536), std::string("65.5 kB"));
        QCOMPARE(obsprop::model::format_bytes(5260000000ull), std::string("5.26 GB"));
        QCOMPARE(obsprop::model::format_bytes(123400000ull), std::string("123 MB"));
    }
};

QTEST_APPLESS_MAIN(TstWeightWidening)
#include "tst_weight_widening.moc"
